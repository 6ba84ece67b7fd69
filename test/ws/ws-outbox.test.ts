import { describe, expect, it } from 'vitest';
import { type CorkableWebSocket, WsOutbox } from '../../src/server/ws-outbox.js';

/** What a fake uWS socket was asked to do, one entry per call, with the cork each write fell in. */
function fakeSocket(options: { throwOnCork?: boolean } = {}) {
  const calls: string[] = [];
  let corks = 0;
  let corked = false;
  const ws: CorkableWebSocket = {
    cork(write) {
      if (options.throwOnCork) throw new Error('Invalid access of closed uWS.WebSocket');
      corks++;
      corked = true;
      write();
      corked = false;
    },
    send(message, isBinary) {
      calls.push(`${corked ? corks : 'uncorked'}:${isBinary ? 'binary' : 'text'}:${String(message)}`);
    },
    sendFirstFragment(message) {
      calls.push(`${corked ? corks : 'uncorked'}:first:${String(message)}`);
    },
    sendLastFragment(message) {
      calls.push(`${corked ? corks : 'uncorked'}:last:${String(message)}`);
    },
  };
  return { ws, calls, corkCount: () => corks };
}

const bytes = (...values: number[]) => new Uint8Array(values);

describe('WsOutbox', () => {
  it('given several answers in one turn, writes them in one cork after the microtasks, in order', async () => {
    const { ws, calls, corkCount } = fakeSocket();
    let flushes = 0;
    const outbox = new WsOutbox(ws, () => flushes++);
    outbox.send(bytes(1), true);
    outbox.sendInTwo(bytes(2), bytes(3, 4));
    outbox.send('{"id":3}', false);
    expect(calls).toEqual([]);
    expect(outbox.queuedBytes).toBe(1 + 1 + 2 + 8);
    await Promise.resolve();
    expect(calls).toEqual(['1:binary:1', '1:first:2', '1:last:3,4', '1:text:{"id":3}']);
    expect(corkCount()).toBe(1);
    expect(flushes).toBe(1);
    expect(outbox.queuedBytes).toBe(0);
  });

  it('given answers made by later promise reactions of the same turn, still writes them in the same cork', async () => {
    const { ws, calls, corkCount } = fakeSocket();
    const outbox = new WsOutbox(ws, () => undefined);
    // As a reply pump does: several promises resolved together, each reaction sending one answer.
    const replies = [1, 2, 3].map((n) => Promise.resolve(n));
    for (const reply of replies) void reply.then((n) => outbox.send(bytes(n), true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls).toEqual(['1:binary:1', '1:binary:2', '1:binary:3']);
    expect(corkCount()).toBe(1);
  });

  it('given a flush now (before a close), writes at once and the scheduled flush finds nothing', async () => {
    const { ws, calls, corkCount } = fakeSocket();
    const outbox = new WsOutbox(ws, () => undefined);
    outbox.send(bytes(9), true);
    outbox.flush();
    expect(calls).toEqual(['1:binary:9']);
    await Promise.resolve();
    expect(corkCount()).toBe(1);
  });

  it('given a discard (the socket closed), writes nothing', async () => {
    const { ws, calls } = fakeSocket();
    const outbox = new WsOutbox(ws, () => undefined);
    outbox.send(bytes(1), true);
    outbox.discard();
    await Promise.resolve();
    expect(calls).toEqual([]);
    expect(outbox.queuedBytes).toBe(0);
  });

  it('given a socket uWS already closed, drops the queue instead of throwing out of the microtask', async () => {
    const { ws } = fakeSocket({ throwOnCork: true });
    let flushes = 0;
    const outbox = new WsOutbox(ws, () => flushes++);
    outbox.send(bytes(1), true);
    expect(() => outbox.flush()).not.toThrow();
    expect(outbox.queuedBytes).toBe(0);
    expect(flushes).toBe(0);
  });
});
