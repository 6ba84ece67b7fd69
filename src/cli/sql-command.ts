import { readFileSync, writeFileSync } from 'node:fs';
import { UsageError } from './cli-errors.js';
import { type CommandSpec, commonOptions, helpText, parseCommand, stringValue } from './command-spec.js';
import { BrokerHttp } from './http-admin.js';
import { outputFormat, printOutput, renderTable } from './output.js';

/** `pyralog sql`: one read-only SELECT over topics, through POST /sql (docs/sql.md). */
const spec: CommandSpec = {
  name: 'pyralog sql',
  positionals: '"SELECT …"',
  summary: 'run a read-only SQL query over topics (each topic is a table)',
  options: {
    file: {
      type: 'string',
      short: 'f',
      valueName: 'FILE',
      description: 'read the query from FILE ("-": standard input)',
    },
    arrow: {
      type: 'string',
      valueName: 'FILE',
      description: 'write the result as an Arrow IPC stream to FILE instead',
    },
    ...commonOptions,
  },
  details: `Columns of a topic table: "partition", "offset", "timestamp", key, value, headers.
"partition" and "offset" are SQL keywords: quote them. Values are text; use DuckDB's JSON functions:
  pyralog sql 'SELECT value->>'"'"'$.kind'"'"' AS kind, count(*) FROM events GROUP BY kind'
  pyralog sql 'SELECT "offset", key FROM events WHERE "partition" = 0 AND "offset" >= 100 LIMIT 10'`,
};

interface SqlAnswer {
  columns: { name: string; type: string }[];
  rows: unknown[][];
  rowCount: number;
  truncated: boolean;
  scan: { records: number; bytes: number; partitions: number; loadMs: number };
  elapsedMs: number;
}

function cellOf(value: unknown): string | number | boolean | null {
  if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
    return value;
  return JSON.stringify(value);
}

export async function sqlCommand(argv: readonly string[]): Promise<number> {
  const parsed = parseCommand(spec, argv);
  if (parsed === null) return 0;
  const usage = helpText(spec);
  const format = outputFormat(stringValue(parsed.values, 'format'), usage);
  const file = stringValue(parsed.values, 'file');
  let sql = parsed.positionals.join(' ');
  if (file !== undefined) sql = readFileSync(file === '-' ? 0 : file, 'utf8');
  if (sql.trim() === '') throw new UsageError('give a query, or --file FILE', usage);
  const http = BrokerHttp.fromOptions(parsed.values);
  const arrowFile = stringValue(parsed.values, 'arrow');
  if (arrowFile !== undefined) {
    const response = await http.fetchOk('/sql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sql, format: 'arrow' }),
    });
    const bytes = new Uint8Array(await response.arrayBuffer());
    writeFileSync(arrowFile, bytes);
    console.error(
      `${response.headers.get('x-pyralog-row-count') ?? '?'} rows, ${bytes.length} bytes → ${arrowFile}`,
    );
    return 0;
  }
  const answer = await http.post<SqlAnswer>('/sql', { sql, format: 'json' });
  printOutput(format, answer, () => {
    const table = renderTable(
      answer.rows,
      answer.columns.map((column, i) => ({ header: column.name, value: (row: unknown[]) => cellOf(row[i]) })),
    );
    const scanned = `${answer.scan.records} records from ${answer.scan.partitions} partitions`;
    const footer = `(${answer.rowCount} rows${answer.truncated ? ', truncated' : ''}; ${scanned}; ${answer.elapsedMs} ms)`;
    return `${table}\n${footer}`;
  });
  return 0;
}
