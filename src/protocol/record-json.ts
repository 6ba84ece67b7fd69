import type { ConsumedRecord, ProducedRecord, RecordHeader } from '../record/record.js';
import { FrontDoorError, FrontDoorProblem } from './front-door-errors.js';

/**
 * Records as JSON, shared by the HTTP API and the WebSocket JSON mode.
 *
 * In:  {"key": "k" | null, "value": "v" | null, "headers": {"h": "x"}, "partition"?: n,
 *       "timestamp"?: ms, "encoding"?: "base64"}   (key, value and header values are
 *       UTF-8 text, or base64 when "encoding" is "base64")
 * Out: {"offset": n, "timestamp": ms, "key": …, "value": …, "headers": {…}} in the
 *       encoding the reader asked for (UTF-8 text by default).
 */
export type JsonEncoding = 'utf8' | 'base64';

export interface JsonRecordIn {
  record: ProducedRecord;
  partition: number | undefined;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function bad(message: string): FrontDoorProblem {
  return new FrontDoorProblem(FrontDoorError.BAD_REQUEST, message);
}

function field(value: unknown, encoding: JsonEncoding, what: string): Uint8Array | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'string') throw bad(`${what} must be a string or null`);
  if (encoding === 'utf8') return encoder.encode(value);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value)) throw bad(`${what} is not valid base64`);
  return new Uint8Array(Buffer.from(value, 'base64'));
}

/** Parses one record object; throws a BAD_REQUEST FrontDoorProblem naming what is wrong. */
export function recordFromJson(input: unknown, index: number): JsonRecordIn {
  if (input === null || typeof input !== 'object' || Array.isArray(input))
    throw bad(`record ${index} must be an object`);
  const object = input as Record<string, unknown>;
  const encoding = object.encoding === undefined ? 'utf8' : object.encoding;
  if (encoding !== 'utf8' && encoding !== 'base64')
    throw bad(`record ${index}: encoding must be "utf8" or "base64"`);
  const headers: RecordHeader[] = [];
  if (object.headers !== undefined && object.headers !== null) {
    if (typeof object.headers !== 'object' || Array.isArray(object.headers)) {
      throw bad(`record ${index}: headers must be an object of name → value`);
    }
    for (const [key, value] of Object.entries(object.headers as Record<string, unknown>)) {
      headers.push({ key, value: field(value, encoding, `record ${index} header ${key}`) });
    }
  }
  const partition = object.partition;
  if (partition !== undefined && (!Number.isInteger(partition) || (partition as number) < 0)) {
    throw bad(`record ${index}: partition must be a whole number >= 0`);
  }
  const timestamp = object.timestamp;
  if (timestamp !== undefined && !Number.isSafeInteger(timestamp))
    throw bad(`record ${index}: timestamp must be ms since the epoch`);
  const record: ProducedRecord = {
    key: field(object.key, encoding, `record ${index} key`),
    value: field(object.value, encoding, `record ${index} value`),
    headers,
    ...(timestamp === undefined ? {} : { timestampMs: timestamp as number }),
  };
  return { record, partition: partition as number | undefined };
}

function out(bytes: Uint8Array | null, encoding: JsonEncoding): string | null {
  if (bytes === null) return null;
  return encoding === 'utf8'
    ? decoder.decode(bytes)
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64');
}

export interface JsonRecordOut {
  offset: number;
  timestamp: number;
  key: string | null;
  value: string | null;
  headers: Record<string, string | null>;
}

export function recordToJson(record: ConsumedRecord, encoding: JsonEncoding): JsonRecordOut {
  const headers: Record<string, string | null> = {};
  for (const header of record.headers) headers[header.key] = out(header.value, encoding);
  return {
    offset: record.offset,
    timestamp: record.timestampMs,
    key: out(record.key, encoding),
    value: out(record.value, encoding),
    headers,
  };
}
