import { tableFromIPC } from 'apache-arrow';
import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { PyralogClient } from '../../src/client/index.js';
import { FrameReader, FrameWriter, readFrameHeader, WsOpCode } from '../../src/protocol/ws/binary-frame.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { murmur2 } from '../../src/server/partitioner.js';
import { type HttpFixture, startHttpFixture } from '../support/http-fixture.js';
import { MemoryEngine } from '../support/memory-engine.js';
import { startTcpProxy } from '../support/tcp-proxy.js';

/** The TypeScript client and the binary WebSocket protocol, over real sockets on 127.0.0.1. */
const decoder = new TextDecoder();

async function take<T>(iterator: AsyncIterator<T>, count: number, timeoutMs = 10_000): Promise<T[]> {
  const out: T[] = [];
  const deadline = Date.now() + timeoutMs;
  while (out.length < count) {
    const next = await Promise.race([
      iterator.next(),
      new Promise<never>((_, reject) =>
        setTimeout(
          () => reject(new Error(`only ${out.length} of ${count} arrived`)),
          Math.max(1, deadline - Date.now()),
        ),
      ),
    ]);
    if (next.done) break;
    out.push(next.value);
  }
  return out;
}

describe('PyralogClient', () => {
  const fixtures: HttpFixture[] = [];
  const clients: PyralogClient[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) await client.close();
    for (const fixture of fixtures.splice(0)) await fixture.close();
  });
  const start = async (engine = new MemoryEngine()) => {
    const fixture = await startHttpFixture({}, engine);
    fixtures.push(fixture);
    return fixture;
  };
  const connect = async (
    fixture: HttpFixture,
    options: { lingerMs?: number; subscriptionHighWaterRecords?: number } = {},
  ) => {
    const client = await PyralogClient.connect({ url: fixture.wsUrl, reconnectDelayMs: 50, ...options });
    clients.push(client);
    return client;
  };

  it('batches produced records with linger and reads them back with fetch and subscribe', async () => {
    const fixture = await start();
    await fixture.engine.createTopic('orders', 1);
    const client = await connect(fixture, { lingerMs: 20 });
    const sent = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        client.produce('orders', {
          key: `k${i % 3}`,
          value: `order-${i}`,
          partition: 0,
          headers: { n: String(i) },
        }),
      ),
    );
    expect(sent.map((s) => s.offset)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    // Lingering put the 50 records into far fewer batches than records.
    const fetched = await client.fetch('orders', 0, 10);
    expect(fetched.records[0]?.offset).toBe(10);
    expect(fetched.highWatermark).toBe(50);
    expect(decoder.decode(fetched.records[0]!.value!)).toBe('order-10');
    const subscription = client.subscribe('orders', 0, 'earliest');
    const records = await take(subscription, 50);
    expect(records.map((r) => decoder.decode(r.value!))).toEqual(
      Array.from({ length: 50 }, (_, i) => `order-${i}`),
    );
    subscription.close();
  });

  it('delivers records produced after subscribing, and resumes after a reconnect with no gap or duplicate', async () => {
    const engine = new MemoryEngine();
    const fixture = await start(engine);
    await engine.createTopic('stream', 1);
    const proxy = await startTcpProxy(fixture.server.port);
    const client = await PyralogClient.connect({
      url: `ws://127.0.0.1:${proxy.port}/ws`,
      reconnectDelayMs: 50,
      lingerMs: 0,
    });
    clients.push(client);
    try {
      const subscription = client.subscribe('stream', 0, 'latest');
      await new Promise((resolve) => setTimeout(resolve, 100));
      for (let i = 0; i < 10; i++) await client.produce('stream', { value: `before-${i}`, partition: 0 });
      const early = await take(subscription, 10);
      // The network drops; records land while the client is away; then it comes back by itself.
      proxy.dropAll();
      for (let i = 0; i < 5; i++) {
        await engine.produce(
          'stream',
          0,
          buildRecordBatch([{ key: null, value: new TextEncoder().encode(`while-away-${i}`) }]),
          1,
        );
      }
      for (let i = 0; i < 5; i++) {
        for (let attempt = 0; ; attempt++) {
          try {
            await client.produce('stream', { value: `after-${i}`, partition: 0 });
            break;
          } catch (error) {
            if (attempt > 50) throw error;
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
        }
      }
      const late = await take(subscription, 10);
      expect([...early, ...late].map((r) => r.offset)).toEqual(Array.from({ length: 20 }, (_, i) => i));
      expect(late.map((r) => decoder.decode(r.value!))).toEqual([
        ...Array.from({ length: 5 }, (_, i) => `while-away-${i}`),
        ...Array.from({ length: 5 }, (_, i) => `after-${i}`),
      ]);
    } finally {
      await proxy.close();
    }
  }, 30_000);

  it('keeps its batches within the broker in-flight limit: thousands of concurrent produces all succeed', async () => {
    const fixture = await startHttpFixture({ maxInFlightRequestsPerConnection: 4 });
    fixtures.push(fixture);
    await fixture.engine.createTopic('burst', 4);
    const client = await PyralogClient.connect({
      url: fixture.wsUrl,
      lingerMs: 0,
      batchMaxRecords: 10,
      maxInFlightBatches: 4,
    });
    clients.push(client);
    const results = await Promise.all(
      Array.from({ length: 2000 }, (_, i) => client.produce('burst', { value: `v${i}`, partition: i % 4 })),
    );
    expect(results).toHaveLength(2000);
    for (let partition = 0; partition < 4; partition++) {
      const offsets = results.filter((r) => r.partition === partition).map((r) => r.offset);
      expect(offsets.sort((a, b) => a - b)).toEqual(Array.from({ length: 500 }, (_, i) => i));
    }
  });

  it('sends records that name no partition where Kafka would put their keys, in shared batches', async () => {
    const fixture = await start();
    await fixture.engine.createTopic('keyed', 4);
    const client = await connect(fixture, { lingerMs: 20 });
    const keys = Array.from({ length: 60 }, (_, i) => `customer-${i % 12}`);
    const results = await Promise.all(keys.map((key, i) => client.produce('keyed', { key, value: `v${i}` })));
    const encoder = new TextEncoder();
    results.forEach((result, i) => {
      expect(result.partition).toBe((murmur2(encoder.encode(keys[i]!)) & 0x7fffffff) % 4);
    });
    for (let partition = 0; partition < 4; partition++) {
      const offsets = results.filter((r) => r.partition === partition).map((r) => r.offset);
      expect(offsets).toEqual(Array.from({ length: offsets.length }, (_, i) => i));
      const page = await client.fetch('keyed', partition, 0);
      const expected = keys
        .map((key, i) => [key, `v${i}`])
        .filter((_, i) => results[i]!.partition === partition);
      expect(page.records.map((r) => [decoder.decode(r.key!), decoder.decode(r.value!)])).toEqual(expected);
    }
  });

  it('waits for the connection to come back for requests made while it is down', async () => {
    const engine = new MemoryEngine();
    const fixture = await start(engine);
    await engine.createTopic('w', 1);
    const proxy = await startTcpProxy(fixture.server.port);
    const client = await PyralogClient.connect({
      url: `ws://127.0.0.1:${proxy.port}/ws`,
      reconnectDelayMs: 50,
    });
    clients.push(client);
    try {
      await client.produce('w', { value: 'one', partition: 0 });
      proxy.dropAll();
      await new Promise((resolve) => setTimeout(resolve, 20));
      const page = await client.fetch('w', 0, 0);
      expect(page.records.map((r) => decoder.decode(r.value!))).toEqual(['one']);
    } finally {
      await proxy.close();
    }
  });

  it('ends a subscription to a topic that does not exist with the broker error code', async () => {
    const fixture = await start();
    const client = await connect(fixture);
    const subscription = client.subscribe('ghost', 0, 'earliest');
    await expect(subscription.next()).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC' });
  });

  it('reads a range as Arrow IPC', async () => {
    const fixture = await start();
    await fixture.engine.createTopic('a', 1);
    const client = await connect(fixture, { lingerMs: 1 });
    await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        client.produce('a', { key: `k${i}`, value: `v${i}`, partition: 0 }),
      ),
    );
    const table = tableFromIPC(await client.arrow('a', 0, 2, { limit: 5 }));
    expect(table.numRows).toBe(5);
    expect([...(table.getChild('offset') ?? [])].map(Number)).toEqual([2, 3, 4, 5, 6]);
    expect(decoder.decode(table.getChild('value')?.get(0) as Uint8Array)).toBe('v2');
  });

  it('flushes lingering records on close', async () => {
    const fixture = await start();
    await fixture.engine.createTopic('late', 1);
    const client = await PyralogClient.connect({ url: fixture.wsUrl, lingerMs: 60_000 });
    const sent = client.produce('late', { value: 'x', partition: 0 });
    await client.close();
    expect(await sent).toEqual({ partition: 0, offset: 0 });
  });

  it('given lingerMs 0, sends the records of one synchronous run as one batch without waiting for a timer', async () => {
    const engine = new MemoryEngine();
    const fixture = await start(engine);
    await engine.createTopic('now', 1);
    const client = await connect(fixture, { lingerMs: 0 });
    let batches = 0;
    const produce = engine.produce.bind(engine);
    engine.produce = (...args: Parameters<MemoryEngine['produce']>) => {
      batches++;
      return produce(...args);
    };
    // No setTimeout callback can run: a batch that waited for a 0 ms timer would never go out.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const sent = Promise.all(
        ['a', 'b', 'c'].map((value) => client.produce('now', { value, partition: 0 })),
      );
      let deadline: NodeJS.Timeout | undefined;
      const offsets = await Promise.race([
        sent,
        new Promise<never>((_, reject) => {
          deadline = setInterval(() => reject(new Error('the batch waited for a timer')), 5_000);
        }),
      ]);
      clearInterval(deadline);
      expect(offsets.map((o) => o.offset)).toEqual([0, 1, 2]);
      expect(batches).toBe(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('commits and reads a named consumer offset', async () => {
    const fixture = await start();
    await fixture.engine.createTopic('c', 1);
    const client = await connect(fixture);
    expect(await client.committedOffset('app', 'c', 0)).toBe(-1);
    await client.commit('app', 'c', 0, 42);
    expect(await client.committedOffset('app', 'c', 0)).toBe(42);
  });

  it('raises the broker error code for an unknown topic', async () => {
    const fixture = await start();
    const client = await connect(fixture);
    await expect(client.fetch('ghost', 0, 0)).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC' });
  });

  it('keeps a fast subscriber fast while a slow one stalls, and holds the slow one to bounded memory', async () => {
    const fixture = await start();
    await fixture.engine.createTopic('firehose', 1);
    const producer = await connect(fixture, { lingerMs: 2 });
    const value = 'x'.repeat(2000);
    await Promise.all(
      Array.from({ length: 3000 }, () => producer.produce('firehose', { value, partition: 0 })),
    );
    // A raw socket that subscribes and then never reads: its server-side buffer must stay bounded.
    const slow = new WebSocket(fixture.wsUrl);
    await new Promise((resolve) => slow.once('open', resolve));
    slow.send(new FrameWriter(WsOpCode.SUBSCRIBE, 7).str('firehose').i16(1).i32(0).u8(1).f64(0).finish());
    await new Promise((resolve) => slow.once('message', resolve));
    slow.pause();
    const fast = await connect(fixture);
    const startedMs = Date.now();
    const subscription = fast.subscribe('firehose', 0, 'earliest');
    const records = await take(subscription, 3000, 20_000);
    expect(records).toHaveLength(3000);
    expect(Date.now() - startedMs).toBeLessThan(15_000);
    slow.terminate();
  }, 40_000);

  it('answers a malformed binary frame with an ERROR frame and keeps the connection', async () => {
    const fixture = await start();
    const socket = new WebSocket(fixture.wsUrl);
    await new Promise((resolve) => socket.once('open', resolve));
    const replies: Uint8Array[] = [];
    socket.on('message', (data: Buffer) => replies.push(new Uint8Array(data)));
    socket.send(Uint8Array.from([1, 0x02, 0, 0, 0, 0, 0, 9, 0xff])); // FETCH cut short
    socket.send(Uint8Array.from([7, 0x02, 0, 0, 0, 0, 0, 10])); // wrong version
    socket.send(new FrameWriter(WsOpCode.OFFSET, 11).str('c').str('t').i32(0).finish());
    const deadline = Date.now() + 5000;
    while (replies.length < 3 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 20));
    const headers = replies.map((bytes) => readFrameHeader(bytes));
    expect(headers.slice(0, 2).map((h) => h.op)).toEqual([WsOpCode.ERROR, WsOpCode.ERROR]);
    expect(new FrameReader(replies[0]!, 0).str()).toBe('BAD_REQUEST');
    expect(headers[2]).toEqual({ op: WsOpCode.OFFSET_REPLY, id: 11 });
    socket.close();
  });
});
