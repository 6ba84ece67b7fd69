import { readInt64 } from '../../common/offset.js';
import { BatchHeader } from '../../record/batch-header.js';
import { nextBatchBytes } from '../../record/batch-walk.js';
import {
  FRAME_HEADER_BYTES,
  type FrameReader,
  FrameWriter,
  WS_PROTOCOL_VERSION,
  WsOpCode,
} from './binary-frame.js';
import type { FetchRequest } from './ws-request.js';

/**
 * FETCH (0x02), its reply FETCHED (0x82), and the subscription push RECORDS
 * (0x90), after the 8-byte frame header.
 *
 * FETCH:
 *   str  topic
 *   i32  partition
 *   f64  offset       the first offset wanted
 *   u32  maxBytes     capped by the broker's fetch limit; the first batch comes whole even when larger
 *   u32  maxWaitMs    how long to wait for records when there are none yet (capped by the broker)
 *   u8   isolation    optional: 0 read_uncommitted (when absent), 1 read_committed
 *
 * FETCHED (id = the request's) and RECORDS (id = the subscription's), same body:
 *   i32  partition
 *   f64  highWatermark
 *   f64  nextOffset   where the next fetch, or a resumed subscription, starts
 *   …    whole RecordBatch v2 batches to the end of the frame, exactly as stored. The
 *        first may start below the offset asked for: skip records below it.
 *
 * The broker never re-encodes records: it writes these 28 bytes, then the
 * batches as the engine returned them, as two fragments of one message.
 */
export const RECORDS_HEAD_BYTES = FRAME_HEADER_BYTES + 20;

export function readFetchRequest(reader: FrameReader): FetchRequest {
  const request: FetchRequest = {
    op: 'fetch',
    id: reader.id,
    topic: reader.name('topic'),
    partition: reader.partition(),
    offset: reader.offset('offset'),
    maxBytes: reader.u32(),
    maxWaitMs: reader.u32(),
    encoding: 'utf8',
    isolationLevel: 0,
  };
  request.isolationLevel = reader.isolation();
  reader.end();
  return request;
}

export function encodeFetch(
  id: number,
  topic: string,
  partition: number,
  offset: number,
  maxBytes: number,
  maxWaitMs: number,
  isolationLevel: 0 | 1 = 0,
): Uint8Array {
  const writer = new FrameWriter(WsOpCode.FETCH, id, 40 + topic.length * 3)
    .str(topic)
    .i32(partition)
    .f64(offset)
    .u32(maxBytes)
    .u32(maxWaitMs);
  // The trailing isolation byte is sent only for read_committed: older brokers' frames stay as they were.
  if (isolationLevel === 1) writer.u8(1);
  return writer.finish();
}

/** One past the last offset in concatenated batches; `fallback` when there is no whole batch. */
export function nextOffsetAfter(batches: Uint8Array, fallback: number): number {
  const view = new DataView(batches.buffer, batches.byteOffset, batches.byteLength);
  let position = 0;
  let next = fallback;
  while (position + BatchHeader.SIZE_BYTES <= batches.length) {
    const sizeBytes = nextBatchBytes(view, position, batches.length);
    if (sizeBytes < 0) break;
    const last =
      readInt64(view, position + BatchHeader.BASE_OFFSET) +
      view.getInt32(position + BatchHeader.LAST_OFFSET_DELTA);
    if (last + 1 > next) next = last + 1;
    position += sizeBytes;
  }
  return next;
}

/**
 * The 28 bytes in front of a FETCHED or RECORDS frame's batches, in a buffer
 * of their own: the connection's outbox holds it until the end of the turn
 * (src/server/ws-outbox.ts), so it must not be a scratch buffer that the
 * next push overwrites.
 */
export function recordsHead(
  op: typeof WsOpCode.FETCHED | typeof WsOpCode.RECORDS,
  id: number,
  partition: number,
  highWatermark: number,
  nextOffset: number,
): Uint8Array {
  const head = new Uint8Array(RECORDS_HEAD_BYTES);
  const headView = new DataView(head.buffer);
  headView.setUint8(0, WS_PROTOCOL_VERSION);
  headView.setUint8(1, op);
  headView.setUint16(2, 0);
  headView.setUint32(4, id);
  headView.setInt32(8, partition);
  headView.setFloat64(12, highWatermark);
  headView.setFloat64(20, nextOffset);
  return head;
}

export interface RecordsFrame {
  partition: number;
  highWatermark: number;
  nextOffset: number;
  /** RecordBatch v2 bytes, a view into the frame. */
  batches: Uint8Array;
}

/** Reads a FETCHED or RECORDS body. */
export function readRecordsFrame(reader: FrameReader): RecordsFrame {
  return {
    partition: reader.i32(),
    highWatermark: reader.f64(),
    nextOffset: reader.f64(),
    batches: reader.rest(),
  };
}
