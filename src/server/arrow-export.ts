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
import { decodeRecordSet } from '../record/batch-reader.js';
import type { ConsumedRecord } from '../record/record.js';

/**
 * Records as an Arrow IPC stream, for analytics tools (pandas, Polars,
 * DuckDB). Runs in the offload pool: decoding and encoding are CPU work that
 * must stay off the acceptor and the shards.
 *
 * Schema:
 *   offset     Int64                       not null
 *   timestamp  Timestamp(ms)               not null
 *   key        Binary                      nullable
 *   value      Binary                      nullable
 *   headers    List<Struct<key: Utf8, value: Binary>>
 * With `valuesAsJson`, records whose value is a JSON object also get one
 * column per field seen in any of them, named `value.<field>`: Float64 when
 * every present value is a number, Bool when every one is a boolean, else
 * Utf8 (strings as they are, anything else as JSON text); null where a
 * record lacks the field or its value is not a JSON object.
 */
const headerType = new Struct([new Field('key', new Utf8(), false), new Field('value', new Binary(), true)]);
const baseFields: Field[] = [
  new Field('offset', new Int64(), false),
  new Field('timestamp', new TimestampMillisecond(), false),
  new Field('key', new Binary(), true),
  new Field('value', new Binary(), true),
  new Field('headers', new List(new Field('item', headerType, false)), false),
];

const decoder = new TextDecoder('utf-8', { fatal: true });

function parseJsonObject(value: Uint8Array | null): Record<string, unknown> | null {
  if (value === null) return null;
  try {
    const parsed: unknown = JSON.parse(decoder.decode(value));
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

function inferType(values: readonly unknown[]): DataType {
  const present = values.filter((value) => value !== undefined && value !== null);
  if (present.length > 0 && present.every((value) => typeof value === 'number')) return new Float64();
  if (present.length > 0 && present.every((value) => typeof value === 'boolean')) return new Bool();
  return new Utf8();
}

function asCell(type: DataType, value: unknown): unknown {
  if (value === undefined || value === null) return null;
  if (type instanceof Utf8) return typeof value === 'string' ? value : JSON.stringify(value);
  return value;
}

/** The records of `input` (from `fromOffset`, at most `limit`) as Arrow IPC stream bytes. */
export function encodeRecordsAsArrow(input: ArrowTaskInput): Uint8Array {
  const records: ConsumedRecord[] = [];
  for (const record of decodeRecordSet(input.records)) {
    if (record.offset < input.fromOffset) continue;
    if (records.length >= input.limit) break;
    records.push(record);
  }
  const fields: Field[] = [...baseFields];
  const columns: unknown[][] = [
    records.map((r) => BigInt(r.offset)),
    records.map((r) => r.timestampMs),
    records.map((r) => r.key),
    records.map((r) => r.value),
    records.map((r) => r.headers.map((h) => ({ key: h.key, value: h.value }))),
  ];
  if (input.valuesAsJson) {
    const objects = records.map((r) => parseJsonObject(r.value));
    const names: string[] = [];
    const seen = new Set<string>();
    for (const object of objects) {
      for (const name of Object.keys(object ?? {})) {
        if (!seen.has(name)) {
          seen.add(name);
          names.push(name);
        }
      }
    }
    for (const name of names) {
      const values = objects.map((object) => object?.[name]);
      const type = inferType(values);
      fields.push(new Field(`value.${name}`, type, true));
      columns.push(values.map((value) => asCell(type, value)));
    }
  }
  const vectors = fields.map((field, i) => {
    const builder: Builder = makeBuilder({ type: field.type, nullValues: [null, undefined] });
    for (const value of columns[i]!) builder.append(value);
    return builder.finish().toVector();
  });
  const schema = new Schema(fields);
  const data = makeData({
    type: new Struct(fields),
    length: records.length,
    children: vectors.map((v) => v.data[0]!),
  });
  return tableToIPC(new Table(schema, new RecordBatch(schema, data)), 'stream');
}
