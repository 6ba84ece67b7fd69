import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { RecordWindowInput, RecordWindowResult } from '../../src/engine/offload-task.js';
import { CompressionCodec } from '../../src/record/batch-header.js';
import { buildCompressedBatch } from '../../src/record/compression.js';
import { recordWindow } from '../../src/server/http-record-window.js';
import { type HttpFixture, startHttpFixture } from '../support/http-fixture.js';

/**
 * The WebSocket JSON mode decodes compressed batches off the acceptor: every
 * fetch reply and subscription push of a compressed batch goes through the
 * offload pool's record decoding (FrontDoorDeps.decodeRecordWindow, the pool
 * in a real broker; a stand-in here that counts calls and answers out of
 * order), for each codec, and a subscription's pushes keep their order even
 * when the pool answers a later one first.
 */
const CODECS = [
  ['gzip', CompressionCodec.GZIP],
  ['snappy', CompressionCodec.SNAPPY],
  ['lz4', CompressionCodec.LZ4],
  ['zstd', CompressionCodec.ZSTD],
] as const;

const text = new TextEncoder();
const batchOf = (codec: CompressionCodec, values: string[]): Uint8Array =>
  buildCompressedBatch(
    values.map((value) => ({ key: null, value: text.encode(value) })),
    codec,
  );

/** A RECORDS push of subscription 1 (its SUBSCRIBED reply carries `sub` too, without records). */
const isPush = (m: Record<string, unknown>): boolean => m.sub === 1 && m.records !== undefined;

class JsonPeer {
  private readonly inbox: Record<string, unknown>[] = [];
  private waiters: (() => void)[] = [];
  constructor(readonly socket: WebSocket) {
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) this.inbox.push(JSON.parse(data.toString()) as Record<string, unknown>);
      for (const wake of this.waiters.splice(0)) wake();
    });
  }
  static async open(url: string): Promise<JsonPeer> {
    const socket = new WebSocket(url);
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    return new JsonPeer(socket);
  }
  send(message: unknown): void {
    this.socket.send(JSON.stringify(message));
  }
  /** Every message matching `match` once `count` have come, in arrival order, waiting up to 5 s. */
  async receive(
    match: (m: Record<string, unknown>) => boolean,
    count = 1,
  ): Promise<Record<string, unknown>[]> {
    const deadline = Date.now() + 5000;
    for (;;) {
      const found = this.inbox.filter(match);
      if (found.length >= count) return found;
      if (Date.now() > deadline) throw new Error(`${found.length} of ${count} matching messages within 5 s`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  }
}

describe('WebSocket JSON mode over compressed batches', () => {
  let fixture: HttpFixture;
  const decoded: RecordWindowInput[] = [];
  beforeAll(async () => {
    let calls = 0;
    // The pool stand-in: the first call of every pair answers after the second, as a busy pool may.
    const decode = async (input: RecordWindowInput): Promise<RecordWindowResult> => {
      decoded.push(input);
      const delayMs = calls++ % 2 === 0 ? 60 : 0;
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      return recordWindow(input.records, input.fromOffset, input.limit);
    };
    fixture = await startHttpFixture({}, undefined, decode);
    for (const [name] of CODECS) await fixture.engine.createTopic(`z-${name}`, 1);
    await fixture.engine.createTopic('plain', 1);
  });
  afterAll(() => fixture.close());

  for (const [name, codec] of CODECS) {
    it(`decodes ${name} batches off the acceptor for fetch replies and subscription pushes, in order`, async () => {
      const topic = `z-${name}`;
      const peer = await JsonPeer.open(fixture.wsUrl);
      peer.send({ op: 'subscribe', id: 1, topic, partition: 0, from: 'earliest' });
      await peer.receive((m) => m.id === 1);
      const before = decoded.length;
      const batches = [['a0', 'a1'], ['b0'], ['c0', 'c1', 'c2']];
      // Produced back to back: the subscription pushes them as its fetches find them, one batch or several
      // per push, while the pool stand-in answers every other decode late.
      for (const values of batches) {
        expect((await fixture.engine.produce(topic, 0, batchOf(codec, values), 1)).errorCode).toBe(0);
      }
      const deadlineMs = Date.now() + 5000;
      let pushes = await peer.receive(isPush);
      const received = () => pushes.reduce((sum, push) => sum + (push.records as unknown[]).length, 0);
      while (received() < 6 && Date.now() < deadlineMs)
        pushes = await peer.receive(isPush, pushes.length + 1);
      expect(pushes.flatMap((push) => (push.records as { value: string }[]).map((r) => r.value))).toEqual(
        batches.flat(),
      );
      const nextOffsets = pushes.map((push) => push.nextOffset as number);
      expect(nextOffsets).toEqual([...nextOffsets].sort((x, y) => x - y));
      expect(nextOffsets[nextOffsets.length - 1]).toBe(6);
      const pushDecodes = decoded.length - before;
      // A fetch from the middle of a batch: records from that offset on, decoded in the pool too.
      peer.send({ op: 'fetch', id: 2, topic, partition: 0, offset: 4, maxBytes: 1 << 20 });
      const [fetched] = await peer.receive((m) => m.id === 2);
      expect(
        (fetched!.records as { offset: number; value: string }[]).map((r) => [r.offset, r.value]),
      ).toEqual([
        [4, 'c1'],
        [5, 'c2'],
      ]);
      // Every push and the fetch reply went through the pool stand-in.
      expect(pushDecodes).toBe(pushes.length);
      expect(decoded.length - before).toBe(pushes.length + 1);
      peer.socket.close();
    });
  }

  it('decodes plain batches in place, without the pool', async () => {
    const peer = await JsonPeer.open(fixture.wsUrl);
    const before = decoded.length;
    peer.send({ op: 'produce', id: 1, topic: 'plain', records: [{ value: 'p' }], acks: 1 });
    await peer.receive((m) => m.id === 1);
    peer.send({ op: 'fetch', id: 2, topic: 'plain', partition: 0, offset: 0, maxBytes: 1 << 20 });
    const [fetched] = await peer.receive((m) => m.id === 2);
    expect((fetched!.records as { value: string }[]).map((r) => r.value)).toEqual(['p']);
    expect(decoded.length).toBe(before);
    peer.socket.close();
  });
});
