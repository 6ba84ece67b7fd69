import type { Acks } from '../../engine/engine-api.js';
import type { ProducedRecord, RecordHeader } from '../../record/record.js';
import type { SubscribeFrom, WsRequest } from './ws-request.js';

/**
 * The binary WebSocket protocol, version 1 (docs/websocket.md has examples).
 * Every frame is one binary WebSocket message; integers big-endian; strings
 * are u16 length + UTF-8; offsets are f64 (exact for safe integers).
 *
 * Frame header (8 bytes), both directions:
 *   0 u8  version (1)
 *   1 u8  op
 *   2 u16 flags (0)
 *   4 u32 id         request id, echoed in the reply; a subscription id on pushes
 *
 * Requests (client → server), body after the header:
 *   0x01 PRODUCE      str topic, i32 partition (-1: broker picks), i8 acks (0, 1, -1),
 *                     u8 kind: 0 = records: u32 count, then per record:
 *                               i32 keyBytes (-1 null), key, i32 valueBytes (-1 null), value,
 *                               f64 timestampMs (-1: now), u16 headerCount,
 *                               per header: str key, i32 valueBytes (-1 null), value
 *                          1 = a ready RecordBatch v2: the rest of the frame
 *   0x02 FETCH        str topic, i32 partition, f64 offset, u32 maxBytes, u32 maxWaitMs
 *   0x03 SUBSCRIBE    str topic, i16 partitionCount (-1: all), i32 × count,
 *                     u8 from (0 offset, 1 earliest, 2 latest), f64 offset
 *   0x04 UNSUBSCRIBE  u32 subscriptionId
 *   0x05 COMMIT       str consumer, str topic, i32 partition, f64 offset
 *   0x06 OFFSET       str consumer, str topic, i32 partition
 *   0x07 ARROW        str topic, i32 partition, f64 offset, u32 maxBytes, u32 limit, u8 valuesAsJson
 *
 * Replies and pushes (server → client):
 *   0x81 PRODUCED     i32 partition, f64 baseOffset (-1 for acks=0), u32 recordCount
 *   0x82 FETCHED      i32 partition, f64 highWatermark, f64 nextOffset, then RecordBatch v2 bytes to
 *                     the end of the frame (whole batches; the first may start below the offset asked)
 *   0x83 SUBSCRIBED   u32 subscriptionId (= the request id), u16 partitionCount,
 *                     per partition: i32 partition, f64 startOffset (where pushes begin)
 *   0x84 OK           (unsubscribe, commit)
 *   0x86 OFFSET       f64 committedOffset (-1: none)
 *   0x87 ARROW        Arrow IPC stream bytes to the end of the frame
 *   0x90 RECORDS      (push; id = subscription id) i32 partition, f64 highWatermark,
 *                     f64 nextOffset, then RecordBatch v2 bytes
 *   0xFF ERROR        str code, str message
 */
export const WS_PROTOCOL_VERSION = 1;
export const FRAME_HEADER_BYTES = 8;

export const WsOpCode = {
  PRODUCE: 0x01,
  FETCH: 0x02,
  SUBSCRIBE: 0x03,
  UNSUBSCRIBE: 0x04,
  COMMIT: 0x05,
  OFFSET: 0x06,
  ARROW: 0x07,
  PRODUCED: 0x81,
  FETCHED: 0x82,
  SUBSCRIBED: 0x83,
  OK: 0x84,
  OFFSET_REPLY: 0x86,
  ARROW_REPLY: 0x87,
  RECORDS: 0x90,
  ERROR: 0xff,
} as const;

export class FrameError extends Error {
  constructor(
    message: string,
    /** The request id when the header was readable; 0 otherwise. */
    readonly id: number,
  ) {
    super(message);
    this.name = 'FrameError';
  }
}

const decoder = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();
const RECORDS_PER_FRAME_MAX = 1_000_000;

/** Reads a binary frame in place. Every read checks bounds; a frame that lies gets a FrameError. */
export class FrameReader {
  private readonly view: DataView;
  private position = 0;

  constructor(
    readonly bytes: Uint8Array,
    private readonly id = 0,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  at(position: number): this {
    this.position = position;
    return this;
  }

  private need(count: number): number {
    const at = this.position;
    if (count < 0 || at + count > this.bytes.length)
      throw new FrameError(`frame ends early at byte ${at}`, this.id);
    this.position += count;
    return at;
  }

  u8(): number {
    return this.view.getUint8(this.need(1));
  }
  i8(): number {
    return this.view.getInt8(this.need(1));
  }
  u16(): number {
    return this.view.getUint16(this.need(2));
  }
  i16(): number {
    return this.view.getInt16(this.need(2));
  }
  u32(): number {
    return this.view.getUint32(this.need(4));
  }
  i32(): number {
    return this.view.getInt32(this.need(4));
  }
  f64(): number {
    return this.view.getFloat64(this.need(8));
  }

  str(): string {
    const length = this.u16();
    const at = this.need(length);
    try {
      return decoder.decode(this.bytes.subarray(at, at + length));
    } catch {
      throw new FrameError(`string at byte ${at} is not UTF-8`, this.id);
    }
  }

  /** i32 length (-1 null) then bytes, copied out (the frame's memory is not ours to keep). */
  nullableBytes(): Uint8Array | null {
    const length = this.i32();
    if (length < 0) return null;
    const at = this.need(length);
    return this.bytes.slice(at, at + length);
  }

  rest(): Uint8Array {
    const at = this.position;
    this.position = this.bytes.length;
    return this.bytes.slice(at);
  }
}

export function readFrameHeader(bytes: Uint8Array): { op: number; id: number } {
  if (bytes.length < FRAME_HEADER_BYTES)
    throw new FrameError(`frame of ${bytes.length} bytes is shorter than its header`, 0);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const id = view.getUint32(4);
  if (view.getUint8(0) !== WS_PROTOCOL_VERSION)
    throw new FrameError(`protocol version ${view.getUint8(0)} is not 1`, id);
  return { op: view.getUint8(1), id };
}

function readAcks(reader: FrameReader, id: number): Acks {
  const acks = reader.i8();
  if (acks !== 0 && acks !== 1 && acks !== -1)
    throw new FrameError(`acks must be 0, 1 or -1, got ${acks}`, id);
  return acks;
}

function readRecords(reader: FrameReader, id: number): ProducedRecord[] {
  const count = reader.u32();
  if (count === 0 || count > RECORDS_PER_FRAME_MAX)
    throw new FrameError(`record count ${count} is out of range`, id);
  const records: ProducedRecord[] = [];
  for (let i = 0; i < count; i++) {
    const key = reader.nullableBytes();
    const value = reader.nullableBytes();
    const timestampMs = reader.f64();
    const headerCount = reader.u16();
    const headers: RecordHeader[] = [];
    for (let h = 0; h < headerCount; h++) headers.push({ key: reader.str(), value: reader.nullableBytes() });
    records.push({ key, value, headers, ...(timestampMs >= 0 ? { timestampMs } : {}) });
  }
  return records;
}

/** Decodes a binary request frame; throws FrameError for anything malformed. */
export function decodeBinaryRequest(bytes: Uint8Array): WsRequest {
  const { op, id } = readFrameHeader(bytes);
  const reader = new FrameReader(bytes, id).at(FRAME_HEADER_BYTES);
  switch (op) {
    case WsOpCode.PRODUCE: {
      const topic = reader.str();
      const partition = reader.i32();
      const acks = readAcks(reader, id);
      const kind = reader.u8();
      if (kind !== 0 && kind !== 1)
        throw new FrameError(`produce kind must be 0 (records) or 1 (batch), got ${kind}`, id);
      if (kind === 1 && partition < 0) throw new FrameError('a ready RecordBatch needs a partition', id);
      const chosen = partition < 0 ? null : partition;
      return {
        op: 'produce',
        id,
        topic,
        acks,
        records: kind === 0 ? readRecords(reader, id).map((record) => ({ record, partition: chosen })) : null,
        batch: kind === 1 ? { bytes: reader.rest(), partition } : null,
      };
    }
    case WsOpCode.FETCH:
      return {
        op: 'fetch',
        id,
        topic: reader.str(),
        partition: reader.i32(),
        offset: reader.f64(),
        maxBytes: reader.u32(),
        maxWaitMs: reader.u32(),
      };
    case WsOpCode.SUBSCRIBE: {
      const topic = reader.str();
      const count = reader.i16();
      const partitions = count < 0 ? null : Array.from({ length: count }, () => reader.i32());
      const fromKind = reader.u8();
      const offset = reader.f64();
      let from: SubscribeFrom;
      if (fromKind === 0) from = offset;
      else if (fromKind === 1) from = 'earliest';
      else if (fromKind === 2) from = 'latest';
      else throw new FrameError(`subscribe from must be 0, 1 or 2, got ${fromKind}`, id);
      return { op: 'subscribe', id, topic, partitions, from };
    }
    case WsOpCode.UNSUBSCRIBE:
      return { op: 'unsubscribe', id, subscription: reader.u32() };
    case WsOpCode.COMMIT:
      return {
        op: 'commit',
        id,
        consumer: reader.str(),
        topic: reader.str(),
        partition: reader.i32(),
        offset: reader.f64(),
      };
    case WsOpCode.OFFSET:
      return { op: 'offset', id, consumer: reader.str(), topic: reader.str(), partition: reader.i32() };
    case WsOpCode.ARROW:
      return {
        op: 'arrow',
        id,
        topic: reader.str(),
        partition: reader.i32(),
        offset: reader.f64(),
        maxBytes: reader.u32(),
        limit: reader.u32(),
        valuesAsJson: reader.u8() !== 0,
      };
    default:
      throw new FrameError(`unknown op 0x${op.toString(16)}`, id);
  }
}

/** Builds a frame: header, then what `body` writes. Used by the server and the client. */
export class FrameWriter {
  private buffer: Uint8Array;
  private view: DataView;
  private position = 0;

  constructor(op: number, id: number, capacity = 64) {
    this.buffer = new Uint8Array(Math.max(capacity, FRAME_HEADER_BYTES));
    this.view = new DataView(this.buffer.buffer);
    this.u8(WS_PROTOCOL_VERSION).u8(op).u16(0).u32(id);
  }

  private ensure(count: number): number {
    if (this.position + count > this.buffer.length) {
      const grown = new Uint8Array(Math.max(this.buffer.length * 2, this.position + count));
      grown.set(this.buffer.subarray(0, this.position));
      this.buffer = grown;
      this.view = new DataView(grown.buffer);
    }
    const at = this.position;
    this.position += count;
    return at;
  }

  u8(value: number): this {
    const at = this.ensure(1); // may replace the buffer and view: take the position first
    this.view.setUint8(at, value);
    return this;
  }
  i8(value: number): this {
    const at = this.ensure(1); // may replace the buffer and view: take the position first
    this.view.setInt8(at, value);
    return this;
  }
  u16(value: number): this {
    const at = this.ensure(2); // may replace the buffer and view: take the position first
    this.view.setUint16(at, value);
    return this;
  }
  i16(value: number): this {
    const at = this.ensure(2); // may replace the buffer and view: take the position first
    this.view.setInt16(at, value);
    return this;
  }
  u32(value: number): this {
    const at = this.ensure(4); // may replace the buffer and view: take the position first
    this.view.setUint32(at, value);
    return this;
  }
  i32(value: number): this {
    const at = this.ensure(4); // may replace the buffer and view: take the position first
    this.view.setInt32(at, value);
    return this;
  }
  f64(value: number): this {
    const at = this.ensure(8); // may replace the buffer and view: take the position first
    this.view.setFloat64(at, value);
    return this;
  }
  str(value: string): this {
    const bytes = encoder.encode(value);
    if (bytes.length > 0xffff) throw new RangeError('string longer than 65535 bytes');
    this.u16(bytes.length);
    const at = this.ensure(bytes.length); // may replace the buffer: take the position first
    this.buffer.set(bytes, at);
    return this;
  }
  nullableBytes(value: Uint8Array | null): this {
    if (value === null) return this.i32(-1);
    this.i32(value.length);
    return this.raw(value);
  }
  raw(value: Uint8Array): this {
    const at = this.ensure(value.length); // may replace the buffer: take the position first
    this.buffer.set(value, at);
    return this;
  }

  finish(): Uint8Array {
    return this.buffer.subarray(0, this.position);
  }
}
