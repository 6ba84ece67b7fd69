import { type FrameReader, FrameWriter, WsOpCode } from './binary-frame.js';
import type { ArrowRequest } from './ws-request.js';

/**
 * ARROW (0x07) and its reply ARROW (0x87), after the 8-byte frame header: a
 * range of one partition as an Arrow IPC stream, encoded in the offload pool
 * (columns: offset int64, timestamp ms, key binary, value binary, headers).
 *
 * ARROW (request):
 *   str  topic
 *   i32  partition
 *   f64  offset        the first offset wanted
 *   u32  maxBytes      of log read to find the records (capped by the broker's fetch limit)
 *   u32  limit         most records (1 to 100000)
 *   u8   valuesAsJson  1: values that are JSON objects become typed columns
 *
 * ARROW (reply):
 *   …    the Arrow IPC stream to the end of the frame
 */
export const ARROW_RECORDS_MAX = 100_000;

export function readArrowRequest(reader: FrameReader): ArrowRequest {
  const request: ArrowRequest = {
    op: 'arrow',
    id: reader.id,
    topic: reader.name('topic'),
    partition: reader.partition(),
    offset: reader.offset('offset'),
    maxBytes: reader.u32(),
    limit: reader.u32(),
    valuesAsJson: reader.u8() !== 0,
  };
  if (request.limit === 0 || request.limit > ARROW_RECORDS_MAX)
    reader.fail(`limit ${request.limit} is not from 1 to ${ARROW_RECORDS_MAX}`);
  reader.end();
  return request;
}

export function encodeArrowRequest(
  id: number,
  topic: string,
  partition: number,
  offset: number,
  maxBytes: number,
  limit: number,
  valuesAsJson: boolean,
): Uint8Array {
  return new FrameWriter(WsOpCode.ARROW, id, 40 + topic.length * 3)
    .str(topic)
    .i32(partition)
    .f64(offset)
    .u32(maxBytes)
    .u32(limit)
    .u8(valuesAsJson ? 1 : 0)
    .finish();
}

export function encodeArrowReply(id: number, ipc: Uint8Array): Uint8Array {
  return new FrameWriter(WsOpCode.ARROW_REPLY, id, 8 + ipc.length).raw(ipc).finish();
}

/** The Arrow IPC stream, a view into the frame. */
export function readArrowReply(reader: FrameReader): Uint8Array {
  return reader.rest();
}
