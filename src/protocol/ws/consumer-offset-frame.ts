import { type FrameReader, FrameWriter, WsOpCode } from './binary-frame.js';
import type { CommitRequest, OffsetRequest } from './ws-request.js';

/**
 * A named consumer's committed offsets: COMMIT (0x05, answered OK), OFFSET
 * (0x06) and its reply OFFSET (0x86), after the 8-byte frame header. The
 * consumer name is a Kafka group id, so Kafka clients of that group see the
 * same offsets.
 *
 * COMMIT:
 *   str  consumer
 *   str  topic
 *   i32  partition
 *   f64  offset       the next offset the consumer will read
 *
 * OFFSET (request):
 *   str  consumer
 *   str  topic
 *   i32  partition
 *
 * OFFSET (reply):
 *   f64  committedOffset   -1: nothing committed
 */
export function readCommitRequest(reader: FrameReader): CommitRequest {
  const request: CommitRequest = {
    op: 'commit',
    id: reader.id,
    consumer: reader.name('consumer'),
    topic: reader.name('topic'),
    partition: reader.partition(),
    offset: reader.offset('offset'),
  };
  reader.end();
  return request;
}

export function encodeCommit(
  id: number,
  consumer: string,
  topic: string,
  partition: number,
  offset: number,
): Uint8Array {
  return new FrameWriter(WsOpCode.COMMIT, id, 32 + (consumer.length + topic.length) * 3)
    .str(consumer)
    .str(topic)
    .i32(partition)
    .f64(offset)
    .finish();
}

export function readOffsetRequest(reader: FrameReader): OffsetRequest {
  const request: OffsetRequest = {
    op: 'offset',
    id: reader.id,
    consumer: reader.name('consumer'),
    topic: reader.name('topic'),
    partition: reader.partition(),
  };
  reader.end();
  return request;
}

export function encodeOffsetRequest(
  id: number,
  consumer: string,
  topic: string,
  partition: number,
): Uint8Array {
  return new FrameWriter(WsOpCode.OFFSET, id, 24 + (consumer.length + topic.length) * 3)
    .str(consumer)
    .str(topic)
    .i32(partition)
    .finish();
}

export function encodeOffsetReply(id: number, committedOffset: number): Uint8Array {
  return new FrameWriter(WsOpCode.OFFSET_REPLY, id, 16).f64(committedOffset).finish();
}

export function readOffsetReply(reader: FrameReader): number {
  return reader.offset('committed offset', -1);
}
