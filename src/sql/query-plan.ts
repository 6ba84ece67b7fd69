import { SqlError } from './sql-errors.js';

/**
 * What a query needs from the topics, worked out from DuckDB's own parse tree
 * (`json_serialize_sql`), before anything is loaded:
 *
 * - which topics it names as tables (the rest of the catalog is empty);
 * - for a topic named once, the AND-ed conditions of the WHERE clause of the
 *   SELECT whose FROM names it that compare `partition`, `offset` or
 *   `timestamp` with a constant. Rows failing them can never reach the result
 *   (a WHERE condition on a table's column is false for a NULL-extended row
 *   too, whatever the join), so only partitions and offset ranges that can
 *   match are read: offsets directly, times through the time index.
 *
 * Anything the walker does not understand simply prunes nothing. Only one
 * SELECT statement is accepted; `json_serialize_sql` refuses every other kind,
 * which is how SQL stays read-only before DuckDB's own lock-down.
 */
export interface TopicScan {
  topic: string;
  /** Partitions that can match; null: all. */
  partitions: number[] | null;
  /** First offset that can match (inclusive). */
  offsetMin: number;
  /** Offset past the last that can match (exclusive); Infinity: no bound. */
  offsetEnd: number;
  /** Records before the first one at or after this time cannot match; -1: no bound. */
  timestampMinMs: number;
  /** Export only: records from the first one at or after this time on are left out; -1: no bound. */
  timestampEndMs: number;
  /**
   * Text columns the query can read; the others are loaded as NULL. A `*`
   * anywhere (or COLUMNS(…)) needs them all. Any column reference with the
   * name counts, whatever table it qualifies: loading too much is safe.
   */
  columns: { key: boolean; value: boolean; headers: boolean };
  /** The timestamp bound as the query wrote it (a string), resolved to ms by the planner's caller. */
  timestampMinText: string | null;
}

interface AstNode {
  [key: string]: unknown;
}

interface TableRef {
  topic: string;
  alias: string;
}

function isNode(value: unknown): value is AstNode {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Every BASE_TABLE reference anywhere in the tree. */
function collectTables(node: unknown, out: AstNode[]): void {
  if (Array.isArray(node)) {
    for (const item of node) collectTables(item, out);
    return;
  }
  if (!isNode(node)) return;
  if (node.type === 'BASE_TABLE') out.push(node);
  for (const value of Object.values(node)) collectTables(value, out);
}

/** BASE_TABLE references directly in a FROM tree (joins included, subqueries not). */
function fromTables(node: unknown, out: AstNode[]): void {
  if (!isNode(node)) return;
  if (node.type === 'BASE_TABLE') out.push(node);
  else if (node.type === 'JOIN') {
    fromTables(node.left, out);
    fromTables(node.right, out);
  }
}

function conjuncts(node: unknown, out: AstNode[]): void {
  if (!isNode(node)) return;
  if (node.type === 'CONJUNCTION_AND' && Array.isArray(node.children)) {
    for (const child of node.children) conjuncts(child, out);
  } else out.push(node);
}

/** Every SELECT_NODE in the tree, with its FROM and WHERE. */
function collectSelects(node: unknown, out: AstNode[]): void {
  if (Array.isArray(node)) {
    for (const item of node) collectSelects(item, out);
    return;
  }
  if (!isNode(node)) return;
  if (node.type === 'SELECT_NODE') out.push(node);
  for (const value of Object.values(node)) collectSelects(value, out);
}

type Column = 'partition' | 'offset' | 'timestamp';
const COLUMNS = new Set<string>(['partition', 'offset', 'timestamp']);

/** The column a COLUMN_REF names, when it is one of ours and belongs to `table` (or is unqualified and may). */
function columnOf(node: unknown, table: TableRef, unqualifiedIsOurs: boolean): Column | null {
  if (!isNode(node) || node.type !== 'COLUMN_REF' || !Array.isArray(node.column_names)) return null;
  const names = node.column_names as string[];
  const column = names[names.length - 1]?.toLowerCase();
  if (column === undefined || !COLUMNS.has(column)) return null;
  if (names.length === 1) return unqualifiedIsOurs ? (column as Column) : null;
  const qualifier = names[names.length - 2]!;
  return qualifier === table.alias || qualifier === table.topic ? (column as Column) : null;
}

/** A constant's value: a number, or a string (for times); null for anything else. */
function constantOf(node: unknown): number | string | null {
  if (!isNode(node)) return null;
  if (node.type === 'OPERATOR_CAST') return constantOf(node.child);
  if (node.type !== 'VALUE_CONSTANT' || !isNode(node.value) || node.value.is_null === true) return null;
  const value = node.value.value;
  if (typeof value === 'number' || typeof value === 'string') return value;
  return null;
}

const FLIPPED: Record<string, string> = {
  COMPARE_LESSTHAN: 'COMPARE_GREATERTHAN',
  COMPARE_GREATERTHAN: 'COMPARE_LESSTHAN',
  COMPARE_LESSTHANOREQUALTO: 'COMPARE_GREATERTHANOREQUALTO',
  COMPARE_GREATERTHANOREQUALTO: 'COMPARE_LESSTHANOREQUALTO',
  COMPARE_EQUAL: 'COMPARE_EQUAL',
};

function narrow(scan: TopicScan, column: Column, comparison: string, value: number | string): void {
  if (column === 'timestamp') {
    if (typeof value !== 'string') return;
    if (
      comparison === 'COMPARE_GREATERTHAN' ||
      comparison === 'COMPARE_GREATERTHANOREQUALTO' ||
      comparison === 'COMPARE_EQUAL'
    ) {
      // Several lower bounds: the planner's caller resolves each; keep the latest written (any is sound).
      scan.timestampMinText = value;
    }
    return;
  }
  const number = typeof value === 'number' ? value : Number(value);
  if (!Number.isFinite(number)) return;
  if (column === 'partition') {
    if (comparison === 'COMPARE_EQUAL' && Number.isInteger(number)) {
      scan.partitions = scan.partitions === null ? [number] : scan.partitions.filter((p) => p === number);
    }
    return;
  }
  switch (comparison) {
    case 'COMPARE_EQUAL':
      scan.offsetMin = Math.max(scan.offsetMin, Math.ceil(number));
      scan.offsetEnd = Math.min(scan.offsetEnd, Math.floor(number) + 1);
      break;
    case 'COMPARE_GREATERTHAN':
      scan.offsetMin = Math.max(scan.offsetMin, Math.floor(number) + 1);
      break;
    case 'COMPARE_GREATERTHANOREQUALTO':
      scan.offsetMin = Math.max(scan.offsetMin, Math.ceil(number));
      break;
    case 'COMPARE_LESSTHAN':
      scan.offsetEnd = Math.min(scan.offsetEnd, Math.ceil(number));
      break;
    case 'COMPARE_LESSTHANOREQUALTO':
      scan.offsetEnd = Math.min(scan.offsetEnd, Math.floor(number) + 1);
      break;
  }
}

/** Conditions of one WHERE conjunct on `table`, applied to `scan`. */
function applyConjunct(node: AstNode, table: TableRef, alone: boolean, scan: TopicScan): void {
  if (node.class === 'COMPARISON' && typeof node.type === 'string' && node.type in FLIPPED) {
    const leftColumn = columnOf(node.left, table, alone);
    const rightColumn = columnOf(node.right, table, alone);
    if (leftColumn !== null) {
      const value = constantOf(node.right);
      if (value !== null) narrow(scan, leftColumn, node.type, value);
    } else if (rightColumn !== null) {
      const value = constantOf(node.left);
      if (value !== null) narrow(scan, rightColumn, FLIPPED[node.type]!, value);
    }
  } else if (node.type === 'COMPARE_BETWEEN') {
    const column = columnOf(node.input, table, alone);
    const lower = constantOf(node.lower);
    const upper = constantOf(node.upper);
    if (column !== null && lower !== null) narrow(scan, column, 'COMPARE_GREATERTHANOREQUALTO', lower);
    if (column !== null && upper !== null) narrow(scan, column, 'COMPARE_LESSTHANOREQUALTO', upper);
  } else if (node.type === 'COMPARE_IN' && Array.isArray(node.children)) {
    const [input, ...values] = node.children as unknown[];
    if (columnOf(input, table, alone) !== 'partition') return;
    const partitions = values
      .map(constantOf)
      .filter((v): v is number => typeof v === 'number' && Number.isInteger(v));
    if (partitions.length !== values.length) return;
    scan.partitions =
      scan.partitions === null ? partitions : scan.partitions.filter((p) => partitions.includes(p));
  }
}

/** Which of key, value and headers any column reference (or a star) in the tree can read. */
function textColumnsRead(statement: unknown): TopicScan['columns'] {
  const read = { key: false, value: false, headers: false };
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const item of node) walk(item);
      return;
    }
    if (!isNode(node)) return;
    if (node.class === 'STAR' || node.type === 'STAR' || node.type === 'COLUMNS') {
      read.key = read.value = read.headers = true;
    } else if (node.type === 'COLUMN_REF' && Array.isArray(node.column_names)) {
      const name = String(node.column_names[node.column_names.length - 1]).toLowerCase();
      if (name === 'key' || name === 'value' || name === 'headers') read[name] = true;
    }
    for (const value of Object.values(node)) walk(value);
  };
  walk(statement);
  return read;
}

/** The topic a table name refers to: exactly, else the one topic equal ignoring case (as DuckDB binds). */
function topicNamed(
  name: string,
  topics: ReadonlySet<string>,
  lowerCase: ReadonlyMap<string, string | null>,
): string | null {
  if (topics.has(name)) return name;
  return lowerCase.get(name.toLowerCase()) ?? null;
}

/**
 * The scans a parsed query needs. `serialized` is the text json_serialize_sql
 * answered for it; `topics` are the broker's topic names.
 */
export function planQuery(serialized: string, topics: readonly string[]): TopicScan[] {
  const parsed = JSON.parse(serialized) as {
    error?: boolean;
    error_message?: string;
    statements?: AstNode[];
  };
  if (parsed.error === true) {
    const message = parsed.error_message ?? 'the query does not parse';
    if (/Only SELECT statements/i.test(message))
      throw new SqlError('SQL_NOT_READ_ONLY', 'only one read-only SELECT query is accepted');
    throw new SqlError('SQL_INVALID', message);
  }
  const statements = parsed.statements ?? [];
  if (statements.length !== 1) throw new SqlError('SQL_INVALID', 'send exactly one SELECT statement');
  const topicSet = new Set(topics);
  const lowerCase = new Map<string, string | null>();
  for (const topic of topics) {
    const key = topic.toLowerCase();
    lowerCase.set(key, lowerCase.has(key) ? null : topic);
  }
  const references: AstNode[] = [];
  collectTables(statements[0], references);
  const columns = textColumnsRead(statements[0]);
  const scans = new Map<string, TopicScan>();
  const referenceCount = new Map<string, number>();
  for (const reference of references) {
    if (
      typeof reference.table_name !== 'string' ||
      (reference.schema_name !== '' && reference.schema_name !== undefined)
    )
      continue;
    const topic = topicNamed(reference.table_name, topicSet, lowerCase);
    if (topic === null) continue;
    referenceCount.set(topic, (referenceCount.get(topic) ?? 0) + 1);
    if (!scans.has(topic)) {
      scans.set(topic, {
        topic,
        partitions: null,
        offsetMin: 0,
        offsetEnd: Number.POSITIVE_INFINITY,
        timestampMinMs: -1,
        timestampEndMs: -1,
        timestampMinText: null,
        columns,
      });
    }
  }
  const selects: AstNode[] = [];
  collectSelects(statements[0], selects);
  for (const select of selects) {
    const inFrom: AstNode[] = [];
    fromTables(select.from_table, inFrom);
    const where: AstNode[] = [];
    conjuncts(select.where_clause, where);
    if (where.length === 0) continue;
    for (const reference of inFrom) {
      const topic =
        typeof reference.table_name === 'string'
          ? topicNamed(reference.table_name, topicSet, lowerCase)
          : null;
      if (topic === null || referenceCount.get(topic) !== 1) continue;
      const table = {
        topic: reference.table_name as string,
        alias: typeof reference.alias === 'string' ? reference.alias : '',
      };
      const scan = scans.get(topic)!;
      for (const conjunct of where) applyConjunct(conjunct, table, inFrom.length === 1, scan);
    }
  }
  return [...scans.values()];
}
