import type { Acks } from '../../engine/engine-api.js';
import { sealBatchHeader } from '../../record/batch-builder.js';
import { BatchHeader } from '../../record/batch-header.js';
import { varintSizeBytes, writeVarint } from '../../record/varint.js';
import { FRAME_HEADER_BYTES, WS_PROTOCOL_VERSION, WsOpCode } from './binary-frame.js';

const encoder = new TextEncoder();

/** The client-side builder of a PRODUCE frame, whichever kind it sends. */
export interface ProduceFrameBuilding {
  readonly recordCount: number;
  readonly sizeBytes: number;
  add(
    key: Uint8Array | null,
    value: Uint8Array | null,
    timestampMs: number,
    headers: readonly { key: string; value: Uint8Array | null }[] | null,
  ): void;
  /** The frame (id 0: the sender stamps its own); the builder is done with. */
  finish(): Uint8Array;
}

/**
 * Builds a kind-1 PRODUCE frame (docs/websocket.md): the frame header and the
 * PRODUCE fields, then one uncompressed RecordBatch v2 written record by record
 * straight into the frame's buffer, its header and CRC filled in by finish().
 * The broker copies such a batch out of the message and hands it to the
 * engine as it is, without reading a record.
 *
 * The partition must be >= 0 (kind 1 names one). A record whose timestampMs
 * is -1 gets the batch's base timestamp: the first record's own timestamp, or
 * the client's clock when the first record was added; add() refuses any other
 * value that is not a whole number of ms >= 0 (as the broker does for kind 0).
 */
export class ProduceBatchFrameBuilder implements ProduceFrameBuilding {
  private buffer: Uint8Array;
  private position: number;
  private readonly batchStart: number;
  private count = 0;
  private baseTimestampMs = 0;
  private maxTimestampMs = 0;

  constructor(topic: string, partition: number, acks: Acks, capacityBytes = 1024) {
    if (!Number.isInteger(partition) || partition < 0)
      throw new RangeError(`a ready batch goes to one partition (>= 0), not ${partition}`);
    const topicBytes = encoder.encode(topic);
    if (topicBytes.length > 0xffff) throw new RangeError(`topic of ${topicBytes.length} bytes is over 65535`);
    this.batchStart = FRAME_HEADER_BYTES + 2 + topicBytes.length + 4 + 1 + 1;
    this.buffer = new Uint8Array(Math.max(capacityBytes, this.batchStart + BatchHeader.SIZE_BYTES));
    const view = new DataView(this.buffer.buffer);
    view.setUint8(0, WS_PROTOCOL_VERSION);
    view.setUint8(1, WsOpCode.PRODUCE);
    let at = FRAME_HEADER_BYTES;
    view.setUint16(at, topicBytes.length);
    this.buffer.set(topicBytes, at + 2);
    at += 2 + topicBytes.length;
    view.setInt32(at, partition);
    view.setInt8(at + 4, acks);
    view.setUint8(at + 5, 1);
    this.position = this.batchStart + BatchHeader.SIZE_BYTES;
  }

  get recordCount(): number {
    return this.count;
  }

  get sizeBytes(): number {
    return this.position;
  }

  add(
    key: Uint8Array | null,
    value: Uint8Array | null,
    timestampMs: number,
    headers: readonly { key: string; value: Uint8Array | null }[] | null,
  ): void {
    // Checked before anything is written, so a refused record leaves the batch as it was.
    if (timestampMs !== -1 && !(Number.isSafeInteger(timestampMs) && timestampMs >= 0))
      throw new RangeError(`timestampMs ${timestampMs} is neither -1 nor a time in ms`);
    if (this.count === 0) {
      this.baseTimestampMs = timestampMs === -1 ? Date.now() : timestampMs;
      this.maxTimestampMs = this.baseTimestampMs;
    }
    const stampMs = timestampMs === -1 ? this.baseTimestampMs : timestampMs;
    if (stampMs > this.maxTimestampMs) this.maxTimestampMs = stampMs;
    const timestampDelta = stampMs - this.baseTimestampMs;
    const headerKeys = headers === null ? null : headers.map((header) => encoder.encode(header.key));
    let body = 1 + varintSizeBytes(timestampDelta) + varintSizeBytes(this.count);
    body += fieldSizeBytes(key) + fieldSizeBytes(value);
    body += varintSizeBytes(headers === null ? 0 : headers.length);
    if (headers !== null && headerKeys !== null)
      for (let i = 0; i < headers.length; i++)
        body += fieldSizeBytes(headerKeys[i]!) + fieldSizeBytes(headers[i]!.value);
    this.ensure(varintSizeBytes(body) + body);
    const out = this.buffer;
    let at = writeVarint(out, this.position, body);
    out[at++] = 0; // record attributes
    at = writeVarint(out, at, timestampDelta);
    at = writeVarint(out, at, this.count);
    at = writeField(out, at, key);
    at = writeField(out, at, value);
    at = writeVarint(out, at, headers === null ? 0 : headers.length);
    if (headers !== null && headerKeys !== null)
      for (let i = 0; i < headers.length; i++) {
        at = writeField(out, at, headerKeys[i]!);
        at = writeField(out, at, headers[i]!.value);
      }
    this.position = at;
    this.count++;
  }

  finish(): Uint8Array {
    if (this.count === 0) throw new RangeError('a record batch holds at least one record');
    const batch = this.buffer.subarray(this.batchStart, this.position);
    sealBatchHeader(batch, this.count, this.baseTimestampMs, this.maxTimestampMs);
    return this.buffer.subarray(0, this.position);
  }

  private ensure(count: number): void {
    if (this.position + count <= this.buffer.length) return;
    const grown = new Uint8Array(Math.max(this.buffer.length * 2, this.position + count));
    grown.set(this.buffer.subarray(0, this.position));
    this.buffer = grown;
  }
}

function fieldSizeBytes(field: Uint8Array | null): number {
  return field === null ? 1 : varintSizeBytes(field.length) + field.length;
}

function writeField(out: Uint8Array, at: number, field: Uint8Array | null): number {
  if (field === null) return writeVarint(out, at, -1);
  const after = writeVarint(out, at, field.length);
  out.set(field, after);
  return after + field.length;
}
