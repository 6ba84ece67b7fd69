import { UsageError } from './cli-errors.js';

/**
 * What commands print: a readable table by default (rpk's style: upper-case
 * headers, columns padded to their widest cell), or JSON or YAML for scripts.
 * JSON is pretty-printed; YAML is the small subset needed for plain data
 * (maps, lists, strings, numbers, booleans, null), quoted where YAML would
 * read a string as something else.
 */
export type OutputFormat = 'table' | 'json' | 'yaml';

export function outputFormat(value: string | undefined, usage: string): OutputFormat {
  const format = value ?? 'table';
  if (format !== 'table' && format !== 'json' && format !== 'yaml') {
    throw new UsageError(`--format must be table, json or yaml, not "${format}"`, usage);
  }
  return format;
}

export type Cell = string | number | boolean | null | undefined;

export interface Column<Row> {
  readonly header: string;
  readonly value: (row: Row) => Cell;
}

function cellText(cell: Cell): string {
  if (cell === null || cell === undefined) return '-';
  return String(cell);
}

/** Rows as a padded text table; numbers align right. */
export function renderTable<Row>(rows: readonly Row[], columns: readonly Column<Row>[]): string {
  const cells = rows.map((row) => columns.map((column) => column.value(row)));
  const widths = columns.map((column, i) =>
    Math.max(column.header.length, ...cells.map((row) => cellText(row[i]).length)),
  );
  const line = (texts: readonly string[], numeric: readonly boolean[]): string =>
    texts
      .map((text, i) => (numeric[i] === true ? text.padStart(widths[i]!) : text.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const header = line(
    columns.map((column) => column.header.toUpperCase()),
    columns.map(() => false),
  );
  const body = cells.map((row) =>
    line(
      row.map(cellText),
      row.map((cell) => typeof cell === 'number'),
    ),
  );
  return [header, ...body].join('\n');
}

const YAML_PLAIN = /^[A-Za-z_/][A-Za-z0-9_./ -]*$/;
const YAML_RESERVED = /^(true|false|yes|no|on|off|null|~|y|n)$/i;

function yamlScalar(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'bigint') return value.toString();
  const text = String(value);
  if (YAML_PLAIN.test(text) && !YAML_RESERVED.test(text) && !text.endsWith(' ')) return text;
  return JSON.stringify(text);
}

function isContainer(value: unknown): value is Record<string, unknown> | unknown[] {
  return (
    typeof value === 'object' &&
    value !== null &&
    (Array.isArray(value) ? value.length > 0 : Object.keys(value).length > 0)
  );
}

function yamlLines(value: unknown, indent: string): string[] {
  if (Array.isArray(value)) {
    if (value.length === 0) return [`${indent}[]`];
    return value.flatMap((item) => {
      if (!isContainer(item)) return [`${indent}- ${yamlScalar(item)}`];
      const inner = yamlLines(item, `${indent}  `);
      return [`${indent}- ${inner[0]!.trimStart()}`, ...inner.slice(1)];
    });
  }
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0) return [`${indent}{}`];
    return entries.flatMap(([key, item]) => {
      const name = yamlScalar(key);
      if (!isContainer(item)) {
        const empty = Array.isArray(item) ? '[]' : typeof item === 'object' && item !== null ? '{}' : null;
        return [`${indent}${name}: ${empty ?? yamlScalar(item)}`];
      }
      return [`${indent}${name}:`, ...yamlLines(item, `${indent}  `)];
    });
  }
  return [`${indent}${yamlScalar(value)}`];
}

export function renderYaml(value: unknown): string {
  return yamlLines(value, '').join('\n');
}

/**
 * Prints `data` as JSON or YAML, or, for the table format, the table that
 * `table` renders from it (a command may print several tables or a summary).
 */
export function printOutput(format: OutputFormat, data: unknown, table: () => string): void {
  if (format === 'json') console.log(JSON.stringify(data, null, 2));
  else if (format === 'yaml') console.log(renderYaml(data));
  else console.log(table());
}
