/**
 * Entry point of the SQL child process: DuckDB runs here, at nice 19, never
 * in the broker process (src/sql/sql-worker.ts, src/sql/sql-worker-port.ts).
 */
import { runSqlProcess } from '../src/sql/sql-worker.js';

await runSqlProcess();
