import {
  Bool,
  type DataType,
  Float64,
  Int32,
  Int64,
  type makeVector,
  Table,
  TimestampMillisecond,
  tableToIPC,
  Utf8,
  vectorFromArray,
} from 'apache-arrow';

/**
 * Query results as the HTTP API sends them: JSON rows, or an Arrow IPC
 * stream. Runs in the SQL worker.
 *
 * JSON: integers that fit a double exactly are numbers, larger ones strings;
 * times are ISO-8601 text; blobs base64; lists and structs nest.
 * Arrow: integer, float, boolean, text and time columns keep their types;
 * anything else is sent as its JSON text.
 */
export interface ResultColumn {
  name: string;
  type: string;
}

export function toJsonValue(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint')
    return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER)
      ? Number(value)
      : value.toString();
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (Array.isArray(value)) return value.map(toJsonValue);
  if (typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, toJsonValue(v)]),
    );
  }
  return value;
}

function arrowTypeFor(duckType: string): DataType {
  switch (duckType) {
    case 'BOOLEAN':
      return new Bool();
    case 'TINYINT':
    case 'SMALLINT':
    case 'INTEGER':
    case 'UTINYINT':
    case 'USMALLINT':
      return new Int32();
    case 'BIGINT':
    case 'UINTEGER':
    case 'HUGEINT':
    case 'UBIGINT':
      return new Int64();
    case 'FLOAT':
    case 'DOUBLE':
    case 'DECIMAL':
      return new Float64();
    case 'TIMESTAMP':
    case 'TIMESTAMP_MS':
    case 'TIMESTAMP_S':
    case 'TIMESTAMP_NS':
    case 'TIMESTAMP WITH TIME ZONE':
    case 'DATE':
      return new TimestampMillisecond();
    default:
      return new Utf8();
  }
}

function arrowValue(type: DataType, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (type instanceof Int64) return typeof value === 'bigint' ? value : BigInt(Math.trunc(Number(value)));
  if (type instanceof Int32 || type instanceof Float64) return Number(value);
  if (type instanceof TimestampMillisecond) return value instanceof Date ? value.getTime() : Number(value);
  if (type instanceof Bool) return Boolean(value);
  if (typeof value === 'string') return value;
  return JSON.stringify(toJsonValue(value));
}

/** Columns of JS values (as @duckdb/node-api's getColumnsJS gives them) as an Arrow IPC stream. */
export function resultAsArrow(
  columns: readonly ResultColumn[],
  values: readonly (readonly unknown[])[],
): Uint8Array {
  const vectors: Record<string, ReturnType<typeof makeVector>> = {};
  columns.forEach((column, i) => {
    const type = arrowTypeFor(baseType(column.type));
    const converted = (values[i] ?? []).map((value) => arrowValue(type, value));
    // Duplicate column names (SELECT 1, 1) get a suffix: Arrow fields are looked up by name.
    let name = column.name;
    for (let n = 2; name in vectors; n++) name = `${column.name}_${n}`;
    vectors[name] = vectorFromArray(converted, type) as ReturnType<typeof makeVector>;
  });
  return tableToIPC(new Table(vectors), 'stream');
}

function baseType(type: string): string {
  const parenthesis = type.indexOf('(');
  return (parenthesis === -1 ? type : type.slice(0, parenthesis)).toUpperCase();
}
