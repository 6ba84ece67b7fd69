import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type HttpFixture, startHttpFixture } from '../support/http-fixture.js';

/** The JSON text mode, from a plain WebSocket client and the docs alone. */
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
    this.socket.send(typeof message === 'string' ? message : JSON.stringify(message));
  }
  /** The first message matching `match`, waiting up to 5 s. */
  async receive(match: (message: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
    const deadline = Date.now() + 5000;
    for (;;) {
      const index = this.inbox.findIndex(match);
      if (index >= 0) return this.inbox.splice(index, 1)[0]!;
      if (Date.now() > deadline) throw new Error('no matching message within 5 s');
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  }
  reply(id: number) {
    return this.receive((m) => m.id === id);
  }
}

describe('WebSocket JSON mode', () => {
  let fixture: HttpFixture;
  beforeAll(async () => {
    fixture = await startHttpFixture({ maxFrameBytes: 64 * 1024, maxInFlightRequestsPerConnection: 4 });
    await fixture.engine.createTopic('t', 2);
  });
  afterAll(() => fixture.close());

  it('produces, fetches, and pushes records to a subscriber in order', async () => {
    const peer = await JsonPeer.open(fixture.wsUrl);
    peer.send({ op: 'subscribe', id: 3, topic: 't', partition: 0, from: 'earliest' });
    expect(await peer.reply(3)).toMatchObject({ id: 3, ok: true });
    peer.send({
      op: 'produce',
      id: 1,
      topic: 't',
      records: [{ key: 'k', value: 'v', partition: 0, headers: { h: 'x' } }],
      acks: 1,
    });
    expect(await peer.reply(1)).toEqual({ id: 1, ok: true, offsets: [{ partition: 0, offset: 0 }] });
    peer.send({ op: 'fetch', id: 2, topic: 't', partition: 0, offset: 0, maxBytes: 1048576 });
    const fetched = await peer.reply(2);
    expect(fetched).toMatchObject({ id: 2, ok: true, highWatermark: 1 });
    expect(fetched.records).toEqual([
      expect.objectContaining({ offset: 0, key: 'k', value: 'v', headers: { h: 'x' } }),
    ]);
    const pushed = await peer.receive((m) => m.sub === 3);
    expect(pushed).toMatchObject({ sub: 3, partition: 0 });
    expect((pushed.records as { value: string }[]).map((r) => r.value)).toEqual(['v']);
    // Records produced after the subscription started arrive too, in order.
    peer.send({
      op: 'produce',
      id: 4,
      topic: 't',
      records: [
        { value: 'a', partition: 0 },
        { value: 'b', partition: 0 },
      ],
    });
    await peer.reply(4);
    const values: string[] = [];
    while (values.length < 2) {
      const push = await peer.receive((m) => m.sub === 3);
      values.push(...(push.records as { value: string }[]).map((r) => r.value));
    }
    expect(values).toEqual(['a', 'b']);
    peer.send({ op: 'unsubscribe', id: 5, sub: 3 });
    expect(await peer.reply(5)).toEqual({ id: 5, ok: true });
    peer.socket.close();
  });

  it('sends and returns values as base64 when asked, bytes that are not UTF-8 included', async () => {
    await fixture.engine.createTopic('b64', 2);
    const peer = await JsonPeer.open(fixture.wsUrl);
    const value = Buffer.from([0xff, 0x00, 0xfe, 0x80]).toString('base64');
    peer.send({
      op: 'produce',
      id: 1,
      topic: 'b64',
      records: [{ key: 'aw==', value, partition: 1, headers: { h: 'AQI=' }, encoding: 'base64' }],
    });
    const offset = ((await peer.reply(1)).offsets as { offset: number }[])[0]!.offset;
    peer.send({ op: 'fetch', id: 2, topic: 'b64', partition: 1, offset, encoding: 'base64' });
    const fetched = await peer.reply(2);
    expect(fetched.encoding).toBe('base64');
    expect(fetched.records).toEqual([
      expect.objectContaining({ offset, key: 'aw==', value, headers: { h: 'AQI=' } }),
    ]);
    peer.send({ op: 'fetch', id: 3, topic: 'b64', partition: 1, offset, encoding: 'hex' });
    expect(((await peer.reply(3)).error as { code: string }).code).toBe('BAD_REQUEST');
    peer.socket.close();
  });

  it('resumes a subscription on a new connection from the last nextOffset, with no gap or duplicate', async () => {
    await fixture.engine.createTopic('resume', 1);
    const first = await JsonPeer.open(fixture.wsUrl);
    first.send({ op: 'subscribe', id: 1, topic: 'resume', partition: 0, from: 'latest' });
    await first.reply(1);
    first.send({
      op: 'produce',
      id: 2,
      topic: 'resume',
      records: ['a', 'b', 'c'].map((value) => ({ value })),
    });
    await first.reply(2);
    const seen: { offset: number; value: string }[] = [];
    let nextOffset = 0;
    while (seen.length < 3) {
      const push = await first.receive((m) => m.sub === 1);
      seen.push(...(push.records as { offset: number; value: string }[]));
      nextOffset = push.nextOffset as number;
    }
    first.socket.close();
    // Records land while no one listens; a new connection picks up where the last push ended.
    const writer = await JsonPeer.open(fixture.wsUrl);
    writer.send({ op: 'produce', id: 1, topic: 'resume', records: ['d', 'e'].map((value) => ({ value })) });
    await writer.reply(1);
    const second = await JsonPeer.open(fixture.wsUrl);
    second.send({ op: 'subscribe', id: 7, topic: 'resume', partition: 0, from: nextOffset });
    expect(await second.reply(7)).toMatchObject({ ok: true, offsets: [{ partition: 0, offset: 3 }] });
    while (seen.length < 5) seen.push(...((await second.receive((m) => m.sub === 7)).records as typeof seen));
    expect(seen.map((r) => [r.offset, r.value])).toEqual(['a', 'b', 'c', 'd', 'e'].map((v, i) => [i, v]));
    // An offset past the end of the log is refused rather than silently waited on.
    second.send({ op: 'subscribe', id: 8, topic: 'resume', partition: 0, from: 99 });
    expect(((await second.reply(8)).error as { code: string }).code).toBe('OFFSET_OUT_OF_RANGE');
    writer.socket.close();
    second.socket.close();
  });

  it('commits and reads a named consumer offset', async () => {
    const peer = await JsonPeer.open(fixture.wsUrl);
    peer.send({ op: 'offset', id: 1, consumer: 'reader', topic: 't', partition: 1 });
    expect(await peer.reply(1)).toEqual({ id: 1, ok: true, offset: -1 });
    peer.send({ op: 'commit', id: 2, consumer: 'reader', topic: 't', partition: 1, offset: 7 });
    expect(await peer.reply(2)).toEqual({ id: 2, ok: true });
    peer.send({ op: 'offset', id: 3, consumer: 'reader', topic: 't', partition: 1 });
    expect(await peer.reply(3)).toEqual({ id: 3, ok: true, offset: 7 });
    peer.socket.close();
  });

  it('answers malformed requests with typed errors and keeps the connection', async () => {
    const peer = await JsonPeer.open(fixture.wsUrl);
    const cases: [unknown, string][] = [
      ['{not json', 'BAD_REQUEST'],
      [{ op: 'fly', id: 10 }, 'BAD_REQUEST'],
      [{ op: 'fetch', id: 11, topic: 't' }, 'BAD_REQUEST'],
      [{ op: 'produce', id: 12, topic: 'missing', records: [{ value: 'x' }] }, 'UNKNOWN_TOPIC'],
      [{ op: 'fetch', id: 13, topic: 't', partition: 0, offset: 999 }, 'OFFSET_OUT_OF_RANGE'],
      [{ op: 'produce', id: 14, topic: 't', records: [{ value: 5 }] }, 'BAD_REQUEST'],
    ];
    for (const [message, code] of cases) {
      peer.send(message);
      const answer = await peer.receive((m) => m.ok === false);
      expect((answer.error as { code: string }).code).toBe(code);
    }
    peer.send({ op: 'offset', id: 20, consumer: 'c', topic: 't', partition: 0 });
    expect(await peer.reply(20)).toMatchObject({ ok: true });
    peer.socket.close();
  });

  it('closes a connection whose message is over the frame limit with 1009', async () => {
    const peer = await JsonPeer.open(fixture.wsUrl);
    const closed = new Promise<number>((resolve) => peer.socket.once('close', (code) => resolve(code)));
    peer.send({ op: 'produce', id: 1, topic: 't', records: [{ value: 'x'.repeat(100 * 1024) }] });
    expect(await closed).toBe(1009);
  });

  it('refuses a connection past maxConnections with HTTP 503 and keeps the others', async () => {
    const small = await startHttpFixture({ maxConnections: 2 });
    try {
      const first = await JsonPeer.open(small.wsUrl);
      const second = await JsonPeer.open(small.wsUrl);
      const refused = await new Promise<number>((resolve) => {
        const third = new WebSocket(small.wsUrl);
        third.once('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
        third.once('open', () => resolve(101));
        third.once('error', () => undefined);
      });
      expect(refused).toBe(503);
      first.send({ op: 'offset', id: 1, consumer: 'c', topic: 'x', partition: 0 });
      expect(await first.reply(1)).toMatchObject({ ok: true });
      first.socket.close();
      second.socket.close();
    } finally {
      await small.close();
    }
  });

  it('holds requests beyond the in-flight limit until earlier ones finish, then answers them all', async () => {
    const peer = await JsonPeer.open(fixture.wsUrl);
    // Long-poll fetches at the log end stay in flight for their whole wait; the 5th and 6th wait their turn.
    await fixture.engine.createTopic('pipelined', 1);
    for (let id = 1; id <= 6; id++)
      peer.send({ op: 'fetch', id, topic: 'pipelined', partition: 0, offset: 0, maxWaitMs: 300 });
    for (let id = 1; id <= 6; id++) expect(await peer.reply(id)).toMatchObject({ id, ok: true });
    peer.socket.close();
  });
});
