/**
 * Why a SQL query failed, as a stable code (the HTTP API's error codes) and
 * a message for people. Crosses the worker boundary as plain data.
 */
export type SqlErrorCode =
  | 'SQL_INVALID'
  | 'SQL_NOT_READ_ONLY'
  | 'SQL_TIMEOUT'
  | 'SQL_SCAN_TOO_LARGE'
  | 'SQL_OUT_OF_MEMORY'
  | 'SQL_FAILED';

export class SqlError extends Error {
  constructor(
    readonly code: SqlErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SqlError';
  }
}

/** A DuckDB error message as one of our codes: parse, bind and permission errors are the user's to fix. */
export function sqlErrorFromDuckDb(message: string): SqlError {
  if (/^(Parser|Binder|Catalog|Conversion|Invalid Input|Not implemented) Error/i.test(message))
    return new SqlError('SQL_INVALID', message);
  if (
    /^Permission Error/i.test(message) ||
    /disabled by configuration|Cannot change configuration/i.test(message)
  )
    return new SqlError('SQL_NOT_READ_ONLY', message);
  if (/^Out of Memory Error/i.test(message)) return new SqlError('SQL_OUT_OF_MEMORY', message);
  if (/^INTERRUPT Error|Interrupted/i.test(message)) return new SqlError('SQL_TIMEOUT', message);
  return new SqlError('SQL_FAILED', message);
}
