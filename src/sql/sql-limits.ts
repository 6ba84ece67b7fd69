/**
 * The bounds every SQL query runs within (docs/sql.md). All configurable with
 * `pyralog serve --sql-*` options.
 */
export interface SqlLimits {
  /** Whole query, loading included; past it the query is interrupted and answered 504 SQL_TIMEOUT. */
  readonly timeoutMs: number;
  /** Result rows sent; more are cut off and the answer says `truncated`. */
  readonly rowsMax: number;
  /** DuckDB's memory limit (loaded topic tables count); past it the query fails with SQL_OUT_OF_MEMORY. */
  readonly memoryBytes: number;
  /** Record bytes one query may load from topics; past it the query fails with SQL_SCAN_TOO_LARGE. */
  readonly scanBytesMax: number;
  /** Queries running at once; more are refused with 503 UNAVAILABLE. */
  readonly concurrentMax: number;
  /**
   * Record bytes per second all queries and exports together read through the
   * engine, so a heavy query never takes the shards' disk and CPU in one burst;
   * 0: as fast as the worker loads.
   */
  readonly readBytesPerSecond: number;
}

const MiB = 1024 * 1024;

export const DEFAULT_SQL_LIMITS: SqlLimits = {
  timeoutMs: 30_000,
  rowsMax: 10_000,
  memoryBytes: 512 * MiB,
  scanBytesMax: 1024 * MiB,
  concurrentMax: 2,
  readBytesPerSecond: 0,
};
