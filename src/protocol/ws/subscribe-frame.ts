import { type FrameReader, FrameWriter, WsOpCode } from './binary-frame.js';
import type { SubscribeFrom, SubscribeRequest, UnsubscribeRequest } from './ws-request.js';

/**
 * SUBSCRIBE (0x03), its reply SUBSCRIBED (0x83), and UNSUBSCRIBE (0x04,
 * answered OK), after the 8-byte frame header. Pushes are RECORDS frames
 * (fetch-frame.ts) whose id is the subscription id.
 *
 * SUBSCRIBE:
 *   str  topic
 *   i16  partitionCount   -1: every partition of the topic
 *   i32 × partitionCount  distinct partitions
 *   u8   from             0: the offset below, 1: earliest, 2: latest
 *   f64  offset           used when from is 0 (the same for every partition); else 0
 *   u8   isolation        optional: 0 read_uncommitted (when absent), 1 read_committed
 *
 * SUBSCRIBED:
 *   u32  subscriptionId   the SUBSCRIBE's id; pushes and UNSUBSCRIBE use it
 *   u16  partitionCount
 *   per partition: i32 partition, f64 startOffset (where its pushes begin)
 *
 * UNSUBSCRIBE:
 *   u32  subscriptionId
 */
export const SUBSCRIBE_PARTITIONS_MAX = 4096;

const FROM_OFFSET = 0;
const FROM_EARLIEST = 1;
const FROM_LATEST = 2;

export function readSubscribeRequest(reader: FrameReader): SubscribeRequest {
  const topic = reader.name('topic');
  const count = reader.i16();
  if (count < -1 || count === 0 || count > SUBSCRIBE_PARTITIONS_MAX)
    reader.fail(`partition count ${count} is not -1 or from 1 to ${SUBSCRIBE_PARTITIONS_MAX}`);
  let partitions: number[] | null = null;
  if (count > 0) {
    partitions = [];
    for (let i = 0; i < count; i++) {
      const partition = reader.partition();
      if (partitions.includes(partition)) reader.fail(`partition ${partition} is named twice`);
      partitions.push(partition);
    }
  }
  const fromKind = reader.u8();
  const offset = reader.offset('offset');
  let from: SubscribeFrom;
  if (fromKind === FROM_OFFSET) from = offset;
  else if (fromKind === FROM_EARLIEST) from = 'earliest';
  else if (fromKind === FROM_LATEST) from = 'latest';
  else return reader.fail(`from must be 0 (offset), 1 (earliest) or 2 (latest), got ${fromKind}`);
  const isolationLevel = reader.isolation();
  reader.end();
  return { op: 'subscribe', id: reader.id, topic, partitions, from, encoding: 'utf8', isolationLevel };
}

export function encodeSubscribe(
  id: number,
  topic: string,
  partitions: readonly number[] | null,
  from: SubscribeFrom,
  isolationLevel: 0 | 1 = 0,
): Uint8Array {
  const writer = new FrameWriter(
    WsOpCode.SUBSCRIBE,
    id,
    32 + topic.length * 3 + (partitions?.length ?? 0) * 4,
  );
  writer.str(topic);
  if (partitions === null) writer.i16(-1);
  else {
    writer.i16(partitions.length);
    for (const partition of partitions) writer.i32(partition);
  }
  if (typeof from === 'number') writer.u8(FROM_OFFSET).f64(from);
  else writer.u8(from === 'earliest' ? FROM_EARLIEST : FROM_LATEST).f64(0);
  if (isolationLevel === 1) writer.u8(1);
  return writer.finish();
}

export interface SubscriptionStart {
  partition: number;
  offset: number;
}

export function encodeSubscribed(id: number, starts: readonly SubscriptionStart[]): Uint8Array {
  const writer = new FrameWriter(WsOpCode.SUBSCRIBED, id, 16 + starts.length * 12).u32(id).u16(starts.length);
  for (const start of starts) writer.i32(start.partition).f64(start.offset);
  return writer.finish();
}

export function readSubscribed(reader: FrameReader): { subscription: number; starts: SubscriptionStart[] } {
  const subscription = reader.u32();
  const count = reader.u16();
  const starts: SubscriptionStart[] = [];
  for (let i = 0; i < count; i++) starts.push({ partition: reader.i32(), offset: reader.f64() });
  return { subscription, starts };
}

export function readUnsubscribeRequest(reader: FrameReader): UnsubscribeRequest {
  const subscription = reader.u32();
  reader.end();
  return { op: 'unsubscribe', id: reader.id, subscription };
}

export function encodeUnsubscribe(id: number, subscription: number): Uint8Array {
  return new FrameWriter(WsOpCode.UNSUBSCRIBE, id, 12).u32(subscription).finish();
}
