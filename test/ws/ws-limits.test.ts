import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { FrameWriter, WsOpCode } from '../../src/protocol/ws/binary-frame.js';
import { encodeFetch, readRecordsFrame } from '../../src/protocol/ws/fetch-frame.js';
import { ProduceFrameBuilder, readProduced } from '../../src/protocol/ws/produce-frame.js';
import { readError } from '../../src/protocol/ws/status-frame.js';
import { encodeSubscribe } from '../../src/protocol/ws/subscribe-frame.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { decodeRecordSet } from '../../src/record/batch-reader.js';
import { GatedEngine } from '../support/gated-engine.js';
import { BinaryPeer, startWsFixture, type WsFixture } from './ws-fixture.js';

/** Every WebSocket limit, exceeded: each gets its error frame or close code, and the server keeps serving. */
const KiB = 1024;
const MiB = 1024 * 1024;

function produceFrame(topic: string, valueBytes: number, count = 1): Uint8Array {
  const builder = new ProduceFrameBuilder(topic, 0, 1, valueBytes * count + 64);
  for (let i = 0; i < count; i++) builder.add(null, new Uint8Array(valueBytes).fill(i & 0xff), -1, null);
  return builder.finish().slice();
}

async function fill(fixture: WsFixture, topic: string, records: number, valueBytes: number): Promise<void> {
  const value = new Uint8Array(valueBytes).fill(7);
  for (let i = 0; i < records; i += 10) {
    const batch = buildRecordBatch(Array.from({ length: 10 }, () => ({ key: null, value })));
    await fixture.engine.produce(topic, 0, batch, 1);
  }
}

describe('WebSocket limits', () => {
  const fixtures: WsFixture[] = [];
  const peers: BinaryPeer[] = [];
  afterEach(async () => {
    for (const peer of peers.splice(0)) peer.close();
    for (const fixture of fixtures.splice(0)) await fixture.close();
  });
  const start = async (...args: Parameters<typeof startWsFixture>): Promise<WsFixture> => {
    const fixture = await startWsFixture(...args);
    fixtures.push(fixture);
    return fixture;
  };
  const open = async (fixture: WsFixture): Promise<BinaryPeer> => {
    const peer = await BinaryPeer.open(fixture.url);
    peers.push(peer);
    return peer;
  };

  it('answers a binary frame over max-frame-bytes with FRAME_TOO_LARGE for its id, then closes with 1009', async () => {
    const fixture = await start({ maxFrameBytes: 64 * KiB });
    await fixture.engine.createTopic('t', 1);
    const peer = await open(fixture);
    peer.send(produceFrame('t', 100 * KiB), 77);
    const error = await peer.reply(77);
    expect(error.op).toBe(WsOpCode.ERROR);
    expect(readError(error.reader).code).toBe('FRAME_TOO_LARGE');
    const closed = await peer.closed;
    expect(closed.code).toBe(1009);
    expect(closed.reason).toMatch(/^FRAME_TOO_LARGE: message of \d+ bytes is over the limit of 65536/);
    // Other connections are untouched; a frame under the limit is served.
    const next = await open(fixture);
    next.send(produceFrame('t', 60 * KiB), 1);
    expect((await next.reply(1)).op).toBe(WsOpCode.PRODUCED);
  });

  it('answers a JSON message over max-frame-bytes with a FRAME_TOO_LARGE error, then closes with 1009', async () => {
    const fixture = await start({ maxFrameBytes: 64 * KiB });
    const socket = new WebSocket(fixture.url);
    await new Promise((resolve) => socket.once('open', resolve));
    const messages: string[] = [];
    socket.on('message', (data: Buffer) => messages.push(data.toString()));
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    socket.send(
      JSON.stringify({ op: 'produce', id: 5, topic: 't', records: [{ value: 'x'.repeat(80 * KiB) }] }),
    );
    expect(await closed).toBe(1009);
    expect(JSON.parse(messages[0]!)).toMatchObject({ ok: false, error: { code: 'FRAME_TOO_LARGE' } });
  });

  it('drops a connection whose message passes twice max-frame-bytes without reading it all (uWS: 1006)', async () => {
    const fixture = await start({ maxFrameBytes: 64 * KiB });
    const peer = await open(fixture);
    peer.send(new Uint8Array(200 * KiB));
    expect((await peer.closed).code).toBe(1006);
  });

  it('given requests past the in-flight count when pipelined then they wait and are served in order once earlier ones end', async () => {
    const fixture = await start({ maxInFlightRequestsPerConnection: 2 });
    await fixture.engine.createTopic('t', 1);
    const peer = await open(fixture);
    // Long polls at the end of the log stay in flight for their wait; the third fetch and the produce wait.
    for (let id = 1; id <= 3; id++) peer.send(encodeFetch(0, 't', 0, 0, 1024, 2000), id);
    peer.send(produceFrame('t', 10), 4);
    await expect(peer.receive((m) => m.id === 3 || m.id === 4, 300)).rejects.toThrow(/no matching message/);
    // The held fetches end as soon as a record lands; then the waiting fetch and produce run, in order.
    await fixture.engine.produce('t', 0, buildRecordBatch([{ key: null, value: null }]), 1);
    for (const id of [1, 2, 3]) expect((await peer.reply(id)).op).toBe(WsOpCode.FETCHED);
    expect(readProduced((await peer.reply(4)).reader)).toEqual([{ partition: 0, offset: 1 }]);
  });

  it('given 200 produces pipelined on one socket when the shard is slow then all succeed, answered in order', async () => {
    const engine = new GatedEngine();
    engine.hold = true;
    const fixture = await start({}, {}, engine);
    await engine.createTopic('t', 1);
    const peer = await open(fixture);
    const answered: number[] = [];
    peer.socket.on('message', (data: Buffer) => answered.push(data.readUInt32BE(4)));
    const count = 200;
    for (let id = 1; id <= count; id++) peer.send(produceFrame('t', 16), id);
    // The first 64 (--max-in-flight) are held by the engine, the rest wait in line: nothing is refused.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(answered).toEqual([]);
    engine.release();
    for (let id = 1; id <= count; id++) {
      const reply = await peer.reply(id);
      expect(reply.op).toBe(WsOpCode.PRODUCED);
      expect(readProduced(reply.reader)).toEqual([{ partition: 0, offset: id - 1 }]);
    }
    expect(answered).toEqual(Array.from({ length: count }, (_, i) => i + 1));
  });

  it('given produce frames past the in-flight bytes when sent then they wait, and start once the first is done', async () => {
    const engine = new GatedEngine();
    engine.hold = true;
    const fixture = await start({ maxFrameBytes: 64 * KiB }, { inFlightFramesMax: 1 }, engine);
    await engine.createTopic('t', 1);
    const peer = await open(fixture);
    peer.send(produceFrame('t', 40 * KiB), 1);
    peer.send(produceFrame('t', 40 * KiB), 2);
    await expect(peer.receive((m) => m.id === 2, 300)).rejects.toThrow(/no matching message/);
    engine.release();
    expect(readProduced((await peer.reply(1)).reader)).toEqual([{ partition: 0, offset: 0 }]);
    expect(readProduced((await peer.reply(2)).reader)).toEqual([{ partition: 0, offset: 1 }]);
  });

  it('given a flood past the waiting-bytes budget when sent then the connection is closed with 1008 and a reason', async () => {
    const engine = new GatedEngine();
    engine.hold = true;
    const fixture = await start(
      { maxFrameBytes: 64 * KiB },
      { inFlightFramesMax: 1, queuedFramesMax: 1 },
      engine,
    );
    await engine.createTopic('t', 1);
    const peer = await open(fixture);
    // 1 is in flight; 2 waits (40 KiB of 64); 3 would make 80 KiB wait: past the budget.
    for (let id = 1; id <= 3; id++) peer.send(produceFrame('t', 40 * KiB), id);
    const closed = await peer.closed;
    expect(closed.code).toBe(1008);
    expect(closed.reason).toMatch(/^TOO_MANY_IN_FLIGHT: over 65536 bytes of requests waiting/);
    engine.release();
    // Other connections are served.
    const next = await open(fixture);
    next.send(produceFrame('t', 10), 9);
    expect((await next.reply(9)).op).toBe(WsOpCode.PRODUCED);
  });

  it('refuses a subscription past the per-connection limit with TOO_MANY_SUBSCRIPTIONS', async () => {
    const fixture = await start({}, { subscriptionsMax: 2 });
    await fixture.engine.createTopic('t', 3);
    const peer = await open(fixture);
    for (let partition = 0; partition < 3; partition++)
      peer.send(encodeSubscribe(0, 't', [partition], 'latest'), 10 + partition);
    expect((await peer.reply(10)).op).toBe(WsOpCode.SUBSCRIBED);
    expect((await peer.reply(11)).op).toBe(WsOpCode.SUBSCRIBED);
    expect(readError((await peer.reply(12)).reader).code).toBe('TOO_MANY_SUBSCRIPTIONS');
  });

  it('refuses an upgrade past max-connections with HTTP 503 and a TOO_MANY_CONNECTIONS body', async () => {
    const fixture = await start({ maxConnections: 1 });
    await open(fixture);
    const refused = await new Promise<{ status: number; body: string }>((resolve) => {
      const socket = new WebSocket(fixture.url);
      socket.once('unexpected-response', (_request, response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => {
          body += chunk.toString();
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      });
      socket.once('error', () => undefined);
    });
    expect(refused.status).toBe(503);
    expect(JSON.parse(refused.body)).toMatchObject({ error: { code: 'TOO_MANY_CONNECTIONS' } });
  });

  it('closes a connection idle past idle-timeout-ms with 1001 IDLE_TIMEOUT, but not one with a live subscription', async () => {
    const fixture = await start({ idleTimeoutMs: 1000 });
    await fixture.engine.createTopic('t', 1);
    const idle = await open(fixture);
    const subscriber = await open(fixture);
    subscriber.send(encodeSubscribe(0, 't', [0], 'latest'), 1);
    await subscriber.reply(1);
    const startedMs = Date.now();
    const closed = await idle.closed;
    expect(closed.code).toBe(1001);
    expect(closed.reason).toMatch(/^IDLE_TIMEOUT/);
    expect(Date.now() - startedMs).toBeGreaterThanOrEqual(900);
    expect(Date.now() - startedMs).toBeLessThan(4000);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(subscriber.socket.readyState).toBe(WebSocket.OPEN);
    expect(fixture.route.connectionCount()).toBe(1);
  }, 15_000);

  it('holds a subscriber that stops reading to bounded server memory, while another reads everything at full speed', async () => {
    const fixture = await start();
    await fixture.engine.createTopic('firehose', 1);
    await fill(fixture, 'firehose', 2000, 10 * KiB); // 20 MB
    const slow = await open(fixture);
    slow.socket.pause(); // reads nothing from here on
    slow.send(encodeSubscribe(0, 'firehose', [0], 'earliest'), 1);
    const fast = await open(fixture);
    const startedMs = Date.now();
    fast.send(encodeSubscribe(0, 'firehose', [0], 'earliest'), 2);
    let received = 0;
    let next = 0;
    let bufferedMax = 0;
    while (received < 2000) {
      const push = await fast.receive((m) => m.op === WsOpCode.RECORDS, 10_000);
      for (const record of decodeRecordSet(readRecordsFrame(push.reader).batches)) {
        expect(record.offset).toBe(next++);
        received++;
      }
      bufferedMax = Math.max(bufferedMax, fixture.route.bufferedBytesMax());
    }
    expect(Date.now() - startedMs).toBeLessThan(10_000);
    // Sample the slow one for a while: its buffer stays near the high-water mark, not the 20 MB behind it.
    for (let i = 0; i < 20; i++) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      bufferedMax = Math.max(bufferedMax, fixture.route.bufferedBytesMax());
    }
    expect(bufferedMax).toBeLessThan(3 * MiB);
    expect(slow.socket.readyState).toBe(WebSocket.OPEN);
    // Once it reads again it gets every record, in order.
    slow.socket.resume();
    let slowNext = 0;
    while (slowNext < 2000) {
      const push = await slow.receive((m) => m.op === WsOpCode.RECORDS, 10_000);
      for (const record of decodeRecordSet(readRecordsFrame(push.reader).batches))
        expect(record.offset).toBe(slowNext++);
    }
  }, 40_000);

  it('holds fetches of a client that asks without reading until it reads, its buffer near the high-water mark', async () => {
    const fixture = await start();
    await fixture.engine.createTopic('big', 1);
    await fill(fixture, 'big', 200, 10 * KiB);
    const peer = await open(fixture);
    peer.socket.pause();
    for (let id = 1; id <= 48; id++) peer.send(encodeFetch(0, 'big', 0, 0, MiB, 0), id);
    let bufferedMax = 0;
    for (let i = 0; i < 40; i++) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      bufferedMax = Math.max(bufferedMax, fixture.route.bufferedBytesMax());
    }
    expect(bufferedMax).toBeLessThan(4 * MiB);
    peer.socket.resume();
    for (let id = 1; id <= 48; id++) expect((await peer.reply(id)).op).toBe(WsOpCode.FETCHED);
  }, 20_000);

  it('closes a client whose unsent data passes the close limit with 1008 SLOW_CONSUMER', async () => {
    // A high-water mark above the close limit, so that nothing pauses first: the close is the backstop.
    const fixture = await start({}, { sendBufferHighBytes: 64 * MiB, sendBufferCloseBytes: 4 * MiB });
    await fixture.engine.createTopic('big', 1);
    await fill(fixture, 'big', 200, 10 * KiB);
    const peer = await open(fixture);
    peer.socket.pause();
    for (let id = 1; id <= 48; id++) peer.send(encodeFetch(0, 'big', 0, 0, MiB, 0), id);
    const deadline = Date.now() + 10_000;
    while (fixture.route.connectionCount() > 0 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 20));
    expect(fixture.route.connectionCount()).toBe(0);
    peer.socket.resume();
    const closed = await peer.closed;
    expect(closed.code).toBe(1008);
    expect(closed.reason).toMatch(/^SLOW_CONSUMER/);
  }, 20_000);

  it('rejects nothing else: a frame of exactly max-frame-bytes is served', async () => {
    const fixture = await start({ maxFrameBytes: 64 * KiB });
    await fixture.engine.createTopic('t', 1);
    const peer = await open(fixture);
    const head = new FrameWriter(WsOpCode.PRODUCE, 0).str('t').i32(0).i8(1).u8(0).u32(1).finish().length;
    const valueBytes = 64 * KiB - head - 4 - 4 - 8 - 2;
    const frame = produceFrame('t', valueBytes);
    expect(frame.length).toBe(64 * KiB);
    peer.send(frame, 9);
    expect((await peer.reply(9)).op).toBe(WsOpCode.PRODUCED);
  });
});
