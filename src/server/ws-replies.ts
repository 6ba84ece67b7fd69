import { readInt64 } from '../common/offset.js';
import { FrontDoorError, type FrontDoorErrorKind } from '../protocol/front-door-errors.js';
import { type JsonEncoding, recordToJson } from '../protocol/record-json.js';
import { FrameWriter, WsOpCode } from '../protocol/ws/binary-frame.js';
import { BatchHeader } from '../record/batch-header.js';
import { decodeRecordSet } from '../record/batch-reader.js';
import '../record/compression.js';

/**
 * Replies and pushes in either WebSocket mode. A reply goes out in the mode
 * its request came in; a subscription's pushes in the mode of its subscribe.
 * Binary frames carry fetched RecordBatch bytes as they are (the client
 * decodes); JSON decodes them into records from the asked-for offset on.
 */
export type WsMode = 'binary' | 'json';

export interface WsOut {
  send(message: Uint8Array | string, isBinary: boolean): void;
}

/** One past the last offset in concatenated batches; `fallback` when there are none. */
export function nextOffsetAfter(records: Uint8Array, fallback: number): number {
  const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
  let position = 0;
  let next = fallback;
  while (position + BatchHeader.SIZE_BYTES <= records.length) {
    next =
      readInt64(view, position + BatchHeader.BASE_OFFSET) +
      view.getInt32(position + BatchHeader.LAST_OFFSET_DELTA) +
      1;
    position += view.getInt32(position + BatchHeader.BATCH_LENGTH) + BatchHeader.LOG_OVERHEAD_BYTES;
  }
  return next;
}

function jsonRecords(records: Uint8Array, fromOffset: number, encoding: JsonEncoding) {
  const out = [];
  for (const record of decodeRecordSet(records))
    if (record.offset >= fromOffset) out.push(recordToJson(record, encoding));
  return out;
}

export class WsReplies {
  constructor(private readonly out: WsOut) {}

  produced(mode: WsMode, id: number, offsets: readonly { partition: number; offset: number }[]): void {
    if (mode === 'json') {
      this.out.send(JSON.stringify({ id, ok: true, offsets }), false);
      return;
    }
    const first = offsets[0]!;
    this.out.send(
      new FrameWriter(WsOpCode.PRODUCED, id, 32)
        .i32(first.partition)
        .f64(first.offset)
        .u32(offsets.length)
        .finish(),
      true,
    );
  }

  fetched(
    mode: WsMode,
    id: number,
    partition: number,
    highWatermark: number,
    fromOffset: number,
    records: Uint8Array,
    encoding: JsonEncoding,
  ): void {
    this.records(
      mode,
      WsOpCode.FETCHED,
      { id, ok: true },
      id,
      partition,
      highWatermark,
      fromOffset,
      records,
      encoding,
    );
  }

  pushRecords(
    mode: WsMode,
    subscription: number,
    partition: number,
    highWatermark: number,
    fromOffset: number,
    records: Uint8Array,
    encoding: JsonEncoding,
  ): void {
    this.records(
      mode,
      WsOpCode.RECORDS,
      { sub: subscription },
      subscription,
      partition,
      highWatermark,
      fromOffset,
      records,
      encoding,
    );
  }

  /** A fetch reply or a push: the batches as they are in binary mode, decoded records from `fromOffset` in JSON. */
  private records(
    mode: WsMode,
    op: number,
    jsonHead: Record<string, unknown>,
    id: number,
    partition: number,
    highWatermark: number,
    fromOffset: number,
    records: Uint8Array,
    encoding: JsonEncoding,
  ): void {
    const nextOffset = nextOffsetAfter(records, fromOffset);
    if (mode === 'json') {
      const body = {
        ...jsonHead,
        partition,
        records: jsonRecords(records, fromOffset, encoding),
        highWatermark,
        nextOffset,
      };
      this.out.send(JSON.stringify(body), false);
      return;
    }
    const frame = new FrameWriter(op, id, 32 + records.length)
      .i32(partition)
      .f64(highWatermark)
      .f64(nextOffset)
      .raw(records);
    this.out.send(frame.finish(), true);
  }

  subscribed(mode: WsMode, id: number, starts: readonly { partition: number; offset: number }[]): void {
    if (mode === 'json') {
      this.out.send(JSON.stringify({ id, ok: true, sub: id, offsets: starts }), false);
      return;
    }
    const frame = new FrameWriter(WsOpCode.SUBSCRIBED, id, 16 + starts.length * 12)
      .u32(id)
      .u16(starts.length);
    for (const start of starts) frame.i32(start.partition).f64(start.offset);
    this.out.send(frame.finish(), true);
  }

  ok(mode: WsMode, id: number): void {
    if (mode === 'json') this.out.send(JSON.stringify({ id, ok: true }), false);
    else this.out.send(new FrameWriter(WsOpCode.OK, id, 8).finish(), true);
  }

  offset(mode: WsMode, id: number, offset: number): void {
    if (mode === 'json') this.out.send(JSON.stringify({ id, ok: true, offset }), false);
    else this.out.send(new FrameWriter(WsOpCode.OFFSET_REPLY, id, 16).f64(offset).finish(), true);
  }

  arrow(mode: WsMode, id: number, ipc: Uint8Array): void {
    if (mode === 'json') {
      const base64 = Buffer.from(ipc.buffer, ipc.byteOffset, ipc.length).toString('base64');
      this.out.send(JSON.stringify({ id, ok: true, arrow: base64 }), false);
    } else {
      this.out.send(new FrameWriter(WsOpCode.ARROW_REPLY, id, 8 + ipc.length).raw(ipc).finish(), true);
    }
  }

  error(mode: WsMode, id: number, kind: FrontDoorErrorKind, message: string): void {
    if (mode === 'json') {
      this.out.send(JSON.stringify({ id, ok: false, error: { code: kind.code, message } }), false);
    } else {
      this.out.send(
        new FrameWriter(WsOpCode.ERROR, id, 64).str(kind.code).str(message.slice(0, 1000)).finish(),
        true,
      );
    }
  }

  internal(mode: WsMode, id: number, error: unknown): void {
    this.error(mode, id, FrontDoorError.INTERNAL, error instanceof Error ? error.message : String(error));
  }
}
