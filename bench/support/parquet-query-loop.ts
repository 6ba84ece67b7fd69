/**
 * A process that is not the broker burning CPU the way a heavy SQL query
 * does: DuckDB (one thread) running the bench's query over a Parquet file
 * back to back until killed. bench/sql.bench.ts runs it beside the broker to
 * measure the ceiling any broker on the same cores would get.
 * Usage: node --import tsx bench/support/parquet-query-loop.ts FILE 'SQL with FROM scan'
 */
import { DuckDBInstance } from '@duckdb/node-api';

const [file, query] = process.argv.slice(2);
if (file === undefined || query === undefined) throw new Error('usage: parquet-query-loop FILE QUERY');
const connection = await (await DuckDBInstance.create(':memory:', { threads: '1' })).connect();
const sql = query.replace('FROM scan', `FROM read_parquet('${file.replaceAll("'", "''")}')`);
process.on('disconnect', () => process.exit(0));
for (;;) await connection.run(sql);
