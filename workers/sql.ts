/**
 * Entry point of the SQL worker thread: DuckDB runs here, never on the
 * acceptor or a shard (src/sql/sql-worker.ts).
 */
import { runSqlWorker } from '../src/sql/sql-worker.js';

await runSqlWorker();
