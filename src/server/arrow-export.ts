import {
  Binary,
  Bool,
  type Builder,
  type DataType,
  Field,
  Float64,
  Int64,
  List,
  makeBuilder,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  Table,
  TimestampMillisecond,
  tableToIPC,
  Utf8,
} from 'apache-arrow';
import type { ArrowTaskInput } from '../engine/offload-task.js';
import '../record/compression.js';
import type { ConsumedRecord } from '../record/record.js';
import { recordWindow } from './http-record-window.js';

/**
 * Records as an Arrow IPC stream (one schema message, one record batch, end
 * of stream), for analytics tools (pandas, Polars, DuckDB). Runs in the
 * offload pool: decoding and encoding are CPU work that must stay off the
 * acceptor and the shards.
 *
 * Schema:
 *   offset     Int64                                     not null
 *   timestamp  Timestamp(millisecond, no time zone)      not null
 *   key        Binary                                    nullable
 *   value      Binary                                    nullable
 *   headers    List<Struct<key: Utf8 not null, value: Binary>>  not null
 * With `valuesAsJson`, records whose value is a JSON object also fill one
 * column per field seen in any of them, named `value.<field>`, in order of
 * first appearance: Float64 when every present value is a number, Bool when
 * every one is a boolean, Utf8 when every one is a string, else Utf8 holding
 * each value as JSON text (mixed types, objects, arrays). A cell is null where
 * the record lacks the field, has null there, or its value is not a JSON
 * object. At most JSON_COLUMNS_MAX such columns are made, fewer for many rows
 * (rows x columns stays under JSON_CELLS_MAX); the rest are left out.
 *
 * Schema metadata: `pyralog.next_offset` (where the next read should start)
 * and `pyralog.omitted_json_fields` (JSON fields left out by the caps).
 */
export const JSON_COLUMNS_MAX = 256;
export const JSON_CELLS_MAX = 8_000_000;

const headerType = new Struct([new Field('key', new Utf8(), false), new Field('value', new Binary(), true)]);

function baseFields(): Field[] {
  return [
    new Field('offset', new Int64(), false),
    new Field('timestamp', new TimestampMillisecond(), false),
    new Field('key', new Binary(), true),
    new Field('value', new Binary(), true),
    new Field('headers', new List(new Field('item', headerType, false)), false),
  ];
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function parseJsonObject(value: Uint8Array | null): Record<string, unknown> | null {
  if (value === null) return null;
  try {
    const parsed: unknown = JSON.parse(utf8.decode(value));
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

type JsonColumnKind = 'number' | 'boolean' | 'string' | 'json';

function columnKind(objects: readonly (Record<string, unknown> | null)[], name: string): JsonColumnKind {
  let kind: JsonColumnKind | null = null;
  for (const object of objects) {
    const value = object === null ? undefined : Object.hasOwn(object, name) ? object[name] : undefined;
    if (value === undefined || value === null) continue;
    const here: JsonColumnKind =
      typeof value === 'number' || typeof value === 'boolean' || typeof value === 'string'
        ? (typeof value as JsonColumnKind)
        : 'json';
    if (kind === null) kind = here;
    else if (kind !== here) return 'json';
  }
  return kind ?? 'string';
}

function arrowType(kind: JsonColumnKind): DataType {
  if (kind === 'number') return new Float64();
  if (kind === 'boolean') return new Bool();
  return new Utf8();
}

function jsonCell(kind: JsonColumnKind, value: unknown): unknown {
  if (value === undefined || value === null) return null;
  if (kind === 'json') return JSON.stringify(value);
  return value;
}

/** Field names in order of first appearance, at most `columnsMax`; also how many were left out. */
function jsonFieldNames(
  objects: readonly (Record<string, unknown> | null)[],
  columnsMax: number,
): { names: string[]; omitted: number } {
  const names: string[] = [];
  const seen = new Set<string>();
  for (const object of objects) {
    if (object === null) continue;
    for (const name of Object.keys(object)) {
      if (seen.has(name)) continue;
      seen.add(name);
      if (names.length < columnsMax) names.push(name);
    }
  }
  return { names, omitted: seen.size - names.length };
}

function finish(builder: Builder) {
  return builder.finish().toVector().data[0]!;
}

function baseColumns(records: readonly ConsumedRecord[]) {
  const fields = baseFields();
  const [offsets, timestamps, keys, values, headers] = fields.map((field) =>
    makeBuilder({ type: field.type, nullValues: [null, undefined] }),
  ) as [Builder, Builder, Builder, Builder, Builder];
  for (const record of records) {
    offsets.append(BigInt(record.offset));
    timestamps.append(record.timestampMs);
    keys.append(record.key);
    values.append(record.value);
    headers.append(record.headers);
  }
  return { fields, data: [offsets, timestamps, keys, values, headers].map(finish) };
}

/** The records of `input` (from `fromOffset`, at most `limit`) as Arrow IPC stream bytes. */
export function encodeRecordsAsArrow(input: ArrowTaskInput): Uint8Array {
  const window = recordWindow(input.records, input.fromOffset, input.limit);
  const records = window.records;
  const { fields, data } = baseColumns(records);
  let omitted = 0;
  if (input.valuesAsJson) {
    const objects = records.map((record) => parseJsonObject(record.value));
    const columnsMax = Math.min(JSON_COLUMNS_MAX, Math.floor(JSON_CELLS_MAX / Math.max(1, records.length)));
    const picked = jsonFieldNames(objects, columnsMax);
    omitted = picked.omitted;
    for (const name of picked.names) {
      const kind = columnKind(objects, name);
      const type = arrowType(kind);
      const builder = makeBuilder({ type, nullValues: [null, undefined] });
      for (const object of objects) {
        builder.append(object !== null && Object.hasOwn(object, name) ? jsonCell(kind, object[name]) : null);
      }
      fields.push(new Field(`value.${name}`, type, true));
      data.push(finish(builder));
    }
  }
  const metadata = new Map([
    ['pyralog.next_offset', String(window.nextOffset)],
    ['pyralog.omitted_json_fields', String(omitted)],
  ]);
  const schema = new Schema(fields, metadata);
  const rows = makeData({ type: new Struct(fields), length: records.length, nullCount: 0, children: data });
  return tableToIPC(new Table(schema, new RecordBatch(schema, rows)), 'stream');
}
