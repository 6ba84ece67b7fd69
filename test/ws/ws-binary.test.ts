import { tableFromIPC } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeArrowRequest, readArrowReply } from '../../src/protocol/ws/arrow-frame.js';
import { WsOpCode } from '../../src/protocol/ws/binary-frame.js';
import {
  encodeCommit,
  encodeOffsetRequest,
  readOffsetReply,
} from '../../src/protocol/ws/consumer-offset-frame.js';
import { encodeFetch, readRecordsFrame } from '../../src/protocol/ws/fetch-frame.js';
import {
  encodeProduceBatch,
  ProduceFrameBuilder,
  readProduced,
} from '../../src/protocol/ws/produce-frame.js';
import { readError } from '../../src/protocol/ws/status-frame.js';
import { encodeSubscribe, encodeUnsubscribe, readSubscribed } from '../../src/protocol/ws/subscribe-frame.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { decodeRecordSet } from '../../src/record/batch-reader.js';
import { murmur2 } from '../../src/server/partitioner.js';
import { BinaryPeer, startWsFixture, type WsFixture } from './ws-fixture.js';

/** The binary protocol from a plain `ws` client, frame by frame as docs/websocket.md describes it. */
const text = new TextEncoder();
const decoder = new TextDecoder();

function produceFrame(
  topic: string,
  partition: number,
  values: readonly string[],
  keys?: readonly string[],
): Uint8Array {
  const builder = new ProduceFrameBuilder(topic, partition, 1);
  values.forEach((value, i) => {
    builder.add(keys === undefined ? null : text.encode(keys[i]!), text.encode(value), -1, null);
  });
  return builder.finish().slice();
}

function errorOf(message: { op: number; reader: Parameters<typeof readError>[0] }): string {
  expect(message.op).toBe(WsOpCode.ERROR);
  return readError(message.reader).code;
}

describe('WebSocket binary mode with a plain ws client', () => {
  let fixture: WsFixture;
  beforeAll(async () => {
    fixture = await startWsFixture();
    await fixture.engine.createTopic('t', 4);
  });
  afterAll(() => fixture.close());

  it('produces, fetches, and pushes records to a subscriber, records produced after it started included', async () => {
    const peer = await BinaryPeer.open(fixture.url);
    peer.send(encodeSubscribe(0, 't', [0], 'earliest'), 10);
    const subscribed = await peer.reply(10);
    expect(subscribed.op).toBe(WsOpCode.SUBSCRIBED);
    expect(readSubscribed(subscribed.reader)).toEqual({
      subscription: 10,
      starts: [{ partition: 0, offset: 0 }],
    });
    peer.send(produceFrame('t', 0, ['a', 'b', 'c']), 11);
    const produced = await peer.reply(11);
    expect(produced.op).toBe(WsOpCode.PRODUCED);
    expect(readProduced(produced.reader)).toEqual([0, 1, 2].map((offset) => ({ partition: 0, offset })));
    peer.send(encodeFetch(0, 't', 0, 1, 1 << 20, 0), 12);
    const fetched = await peer.reply(12);
    expect(fetched.op).toBe(WsOpCode.FETCHED);
    const page = readRecordsFrame(fetched.reader);
    expect(page).toMatchObject({ partition: 0, highWatermark: 3, nextOffset: 3 });
    // The batch comes whole, from offset 0: the reader skips what is below the offset it asked for.
    const fetchedRecords = decodeRecordSet(page.batches).filter((r) => r.offset >= 1);
    expect(fetchedRecords.map((r) => decoder.decode(r.value!))).toEqual(['b', 'c']);
    // Records produced after the subscription started arrive too, in order and without gaps.
    peer.send(produceFrame('t', 0, ['d']), 13);
    await peer.reply(13);
    const pushed: string[] = [];
    let expectedOffset = 0;
    while (pushed.length < 4) {
      const push = await peer.receive((m) => m.op === WsOpCode.RECORDS && m.id === 10);
      const records = readRecordsFrame(push.reader);
      for (const record of decodeRecordSet(records.batches)) {
        expect(record.offset).toBe(expectedOffset++);
        pushed.push(decoder.decode(record.value!));
      }
      expect(records.nextOffset).toBe(expectedOffset);
    }
    expect(pushed).toEqual(['a', 'b', 'c', 'd']);
    peer.send(encodeUnsubscribe(0, 10), 14);
    expect((await peer.reply(14)).op).toBe(WsOpCode.OK);
    peer.close();
  });

  it('spreads keyed records over partitions as Kafka does, and answers each record with its partition and offset', async () => {
    const peer = await BinaryPeer.open(fixture.url);
    const keys = Array.from({ length: 40 }, (_, i) => `user-${i}`);
    peer.send(
      produceFrame(
        't',
        -1,
        keys.map((key) => `value-of-${key}`),
        keys,
      ),
      20,
    );
    const offsets = readProduced((await peer.reply(20)).reader);
    expect(offsets).toHaveLength(40);
    offsets.forEach((offset, i) => {
      expect(offset.partition).toBe((murmur2(text.encode(keys[i]!)) & 0x7fffffff) % 4);
    });
    expect(new Set(offsets.map((o) => o.partition)).size).toBeGreaterThan(1);
    for (const [i, { partition, offset }] of offsets.entries()) {
      peer.send(encodeFetch(0, 't', partition, offset, 1 << 20, 0), 100 + i);
      const page = readRecordsFrame((await peer.reply(100 + i)).reader);
      const record = decodeRecordSet(page.batches).find((r) => r.offset === offset);
      expect(decoder.decode(record!.key!)).toBe(keys[i]);
    }
    peer.close();
  });

  it('sends keyless records of one frame to one partition, the next frame to the next', async () => {
    const peer = await BinaryPeer.open(fixture.url);
    peer.send(produceFrame('t', -1, ['x', 'y', 'z']), 30);
    const first = readProduced((await peer.reply(30)).reader);
    peer.send(produceFrame('t', -1, ['x', 'y', 'z']), 31);
    const second = readProduced((await peer.reply(31)).reader);
    expect(new Set(first.map((o) => o.partition)).size).toBe(1);
    expect(new Set(second.map((o) => o.partition)).size).toBe(1);
    expect(second[0]!.partition).not.toBe(first[0]!.partition);
    peer.close();
  });

  it('appends a ready RecordBatch as it is', async () => {
    await fixture.engine.createTopic('ready', 4);
    const peer = await BinaryPeer.open(fixture.url);
    const batch = buildRecordBatch([
      { key: null, value: text.encode('r1') },
      { key: null, value: text.encode('r2') },
    ]);
    peer.send(encodeProduceBatch(0, 'ready', 3, -1, batch).slice(), 40);
    expect(readProduced((await peer.reply(40)).reader)).toEqual([
      { partition: 3, offset: 0 },
      { partition: 3, offset: 1 },
    ]);
    peer.send(encodeFetch(0, 'ready', 3, 0, 1 << 20, 0), 41);
    const page = readRecordsFrame((await peer.reply(41)).reader);
    expect(decodeRecordSet(page.batches).map((r) => decoder.decode(r.value!))).toEqual(['r1', 'r2']);
    peer.close();
  });

  it('commits and reads a named consumer offset', async () => {
    const peer = await BinaryPeer.open(fixture.url);
    peer.send(encodeOffsetRequest(0, 'billing', 't', 2), 50);
    expect(readOffsetReply((await peer.reply(50)).reader)).toBe(-1);
    peer.send(encodeCommit(0, 'billing', 't', 2, 12), 51);
    expect((await peer.reply(51)).op).toBe(WsOpCode.OK);
    peer.send(encodeOffsetRequest(0, 'billing', 't', 2), 52);
    expect(readOffsetReply((await peer.reply(52)).reader)).toBe(12);
    peer.close();
  });

  it('streams a range as Arrow IPC that reads back as the records', async () => {
    await fixture.engine.createTopic('arrow', 1);
    const peer = await BinaryPeer.open(fixture.url);
    peer.send(
      produceFrame(
        'arrow',
        0,
        Array.from({ length: 20 }, (_, i) => JSON.stringify({ n: i })),
      ),
      60,
    );
    await peer.reply(60);
    peer.send(encodeArrowRequest(0, 'arrow', 0, 5, 1 << 20, 10, true), 61);
    const reply = await peer.reply(61);
    expect(reply.op).toBe(WsOpCode.ARROW_REPLY);
    const table = tableFromIPC(readArrowReply(reply.reader));
    expect(table.numRows).toBe(10);
    expect([...(table.getChild('offset') ?? [])].map(Number)).toEqual(
      Array.from({ length: 10 }, (_, i) => i + 5),
    );
    expect([...(table.getChild('value.n') ?? [])]).toEqual(Array.from({ length: 10 }, (_, i) => i + 5));
    peer.close();
  });

  it('answers each failure with a typed ERROR frame carrying the request id, and keeps serving', async () => {
    const peer = await BinaryPeer.open(fixture.url);
    const cases: [Uint8Array, string][] = [
      [produceFrame('missing', 0, ['x']), 'UNKNOWN_TOPIC'],
      [produceFrame('t', 9, ['x']), 'BAD_REQUEST'],
      [encodeFetch(0, 'missing', 0, 0, 1024, 0), 'UNKNOWN_TOPIC'],
      [encodeFetch(0, 't', 1, 10_000, 1024, 0), 'OFFSET_OUT_OF_RANGE'],
      [encodeSubscribe(0, 't', [1], 10_000), 'OFFSET_OUT_OF_RANGE'],
      [encodeSubscribe(0, 't', [7], 'latest'), 'BAD_REQUEST'],
      [encodeUnsubscribe(0, 12345), 'NOT_FOUND'],
      [encodeProduceBatch(0, 't', 0, 1, new Uint8Array(80)).slice(), 'INVALID_RECORDS'],
      [Uint8Array.of(1, 0x02, 0, 0), 'BAD_REQUEST'],
      [Uint8Array.of(1, 0x55, 0, 0, 0, 0, 0, 0), 'BAD_REQUEST'],
    ];
    for (const [i, [frame, code]] of cases.entries()) {
      const id = 70 + i;
      if (frame.length >= 8) peer.send(frame.slice(), id);
      else peer.send(frame);
      const answer = await peer.receive((m) => m.op === WsOpCode.ERROR && (m.id === id || frame.length < 8));
      expect([i, errorOf(answer)]).toEqual([i, code]);
    }
    peer.send(encodeOffsetRequest(0, 'c', 't', 0), 99);
    expect((await peer.reply(99)).op).toBe(WsOpCode.OFFSET_REPLY);
    peer.close();
  });

  it('subscribes to every partition at once and pushes each partition in order', async () => {
    await fixture.engine.createTopic('all', 3);
    const peer = await BinaryPeer.open(fixture.url);
    peer.send(encodeSubscribe(0, 'all', null, 'latest'), 200);
    expect(readSubscribed((await peer.reply(200)).reader).starts.map((s) => s.partition)).toEqual([0, 1, 2]);
    for (let round = 0; round < 5; round++) {
      for (let partition = 0; partition < 3; partition++) {
        peer.send(produceFrame('all', partition, [`${partition}:${round}`]), 300 + round * 3 + partition);
      }
    }
    const seen = new Map<number, string[]>([
      [0, []],
      [1, []],
      [2, []],
    ]);
    while ([...seen.values()].some((values) => values.length < 5)) {
      const push = readRecordsFrame(
        (await peer.receive((m) => m.op === WsOpCode.RECORDS && m.id === 200)).reader,
      );
      for (const record of decodeRecordSet(push.batches))
        seen.get(push.partition)!.push(decoder.decode(record.value!));
    }
    for (const [partition, values] of seen) {
      expect(values).toEqual(Array.from({ length: 5 }, (_, round) => `${partition}:${round}`));
    }
    peer.close();
  });
});
