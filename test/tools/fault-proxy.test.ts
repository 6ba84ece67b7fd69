import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startFaultControl } from '../../tools/chaos/fault-control.js';
import { FaultProxy } from '../../tools/chaos/fault-proxy.js';

/** An echo server that also counts the bytes it received. */
async function startEcho(): Promise<{ server: Server; port: number; received: () => number }> {
  let received = 0;
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => sockets.delete(socket));
    socket.on('close', () => sockets.delete(socket));
    socket.on('data', (chunk) => {
      received += chunk.length;
      socket.write(chunk);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const close = server.close.bind(server);
  server.close = (callback?: (error?: Error) => void) => {
    for (const socket of sockets) socket.destroy();
    return close(callback);
  };
  return { server, port: (server.address() as AddressInfo).port, received: () => received };
}

/** A client socket that collects what it reads and remembers how it ended. */
async function open(port: number): Promise<{ socket: Socket; text: () => string; ended: Promise<string> }> {
  const socket = connect({ host: '127.0.0.1', port });
  let text = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    text += chunk;
  });
  const ended = new Promise<string>((resolve) => {
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    socket.on('close', () => resolve('closed'));
  });
  await once(socket, 'connect');
  return { socket, text: () => text, ended };
}

/** Polls `check` until it holds, at most `timeoutMs`; bounded in time and in rounds. */
async function eventually(check: () => boolean, timeoutMs = 2_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (let round = 0; round < 1_000 && Date.now() < deadline; round++) {
    if (check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return check();
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const within = <T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> =>
  Promise.race([promise, sleep(ms).then(() => 'timeout' as const)]);

describe('FaultProxy', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function setUp(): Promise<{ proxy: FaultProxy; echo: Awaited<ReturnType<typeof startEcho>> }> {
    const echo = await startEcho();
    cleanups.push(() => new Promise<void>((resolve) => echo.server.close(() => resolve())));
    const proxy = await FaultProxy.start({ targetPort: echo.port, name: 'a->echo' });
    cleanups.push(() => proxy.close());
    return { proxy, echo };
  }

  async function client(port: number): ReturnType<typeof open> {
    const opened = await open(port);
    cleanups.push(() => {
      opened.socket.destroy();
    });
    return opened;
  }

  it('given pass, should carry bytes both ways', async () => {
    const { proxy } = await setUp();
    const c = await client(proxy.port);
    c.socket.write('hello');
    expect(await eventually(() => c.text() === 'hello')).toBe(true);
    expect(proxy.status()).toMatchObject({
      mode: 'pass',
      connections: 1,
      forwardedBytes: 10,
      droppedBytes: 0,
    });
  });

  it('given pass and 4 MiB each way, should deliver every byte in order, with backpressure', async () => {
    const { proxy } = await setUp();
    const socket = connect({ host: '127.0.0.1', port: proxy.port });
    cleanups.push(() => {
      socket.destroy();
    });
    await once(socket, 'connect');
    const sent = randomBytes(4 * 1024 * 1024);
    const received: Buffer[] = [];
    let receivedBytes = 0;
    const done = new Promise<void>((resolve) => {
      socket.on('data', (chunk: Buffer) => {
        received.push(chunk);
        receivedBytes += chunk.length;
        if (receivedBytes >= sent.length) resolve();
      });
    });
    socket.end(sent);
    expect(await within(done, 20_000)).not.toBe('timeout');
    expect(Buffer.concat(received).equals(sent)).toBe(true);
    expect(proxy.status()).toMatchObject({ forwardedBytes: 2 * sent.length, droppedBytes: 0 });
  });

  it('given a blackhole, should drop bytes silently both ways and keep the connection open', async () => {
    const { proxy, echo } = await setUp();
    const c = await client(proxy.port);
    proxy.blackhole();
    c.socket.write('lost');
    await sleep(200);
    expect(echo.received()).toBe(0);
    expect(c.text()).toBe('');
    expect(c.socket.destroyed).toBe(false);
    expect(proxy.status()).toMatchObject({ mode: 'blackhole', direction: 'both', droppedBytes: 4 });
  });

  it('given a blackhole, should still accept new connections and drop what they send', async () => {
    const { proxy, echo } = await setUp();
    proxy.blackhole();
    const c = await client(proxy.port);
    c.socket.write('into the void');
    await sleep(200);
    expect(echo.received()).toBe(0);
    expect(c.text()).toBe('');
  });

  it('given a blackhole from the target only, should deliver to the target and drop its answers', async () => {
    const { proxy, echo } = await setUp();
    const c = await client(proxy.port);
    proxy.blackhole('fromTarget');
    c.socket.write('one way');
    expect(await eventually(() => echo.received() === 7)).toBe(true);
    await sleep(100);
    expect(c.text()).toBe('');
  });

  it('given a healed blackhole, should reset the connections that lost bytes and keep the idle ones', async () => {
    const { proxy } = await setUp();
    const lossy = await client(proxy.port);
    const idle = await client(proxy.port);
    proxy.blackhole();
    lossy.socket.write('gone');
    expect(await eventually(() => proxy.status().droppedBytes === 4)).toBe(true);
    proxy.heal();
    expect(await within(lossy.ended, 2_000)).toMatch(/ECONNRESET|closed/);
    idle.socket.write('still here');
    expect(await eventually(() => idle.text() === 'still here')).toBe(true);
    const fresh = await client(proxy.port);
    fresh.socket.write('new');
    expect(await eventually(() => fresh.text() === 'new')).toBe(true);
    expect(proxy.status()).toMatchObject({ mode: 'pass', direction: null, resetConnections: 1 });
  });

  it('given reset, should reset current connections and every new one until healed', async () => {
    const { proxy } = await setUp();
    const c = await client(proxy.port);
    proxy.reset();
    expect(await within(c.ended, 2_000)).toMatch(/ECONNRESET|closed/);
    const refused = connect({ host: '127.0.0.1', port: proxy.port });
    cleanups.push(() => {
      refused.destroy();
    });
    const refusedEnd = new Promise<string>((resolve) => {
      refused.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
      refused.on('close', () => resolve('closed'));
    });
    expect(await within(refusedEnd, 2_000)).toMatch(/ECONNRESET|closed/);
    proxy.heal();
    const fresh = await client(proxy.port);
    fresh.socket.write('back');
    expect(await eventually(() => fresh.text() === 'back')).toBe(true);
  });

  it('given a stall, should hold bytes and deliver them on the same connection once healed', async () => {
    const { proxy, echo } = await setUp();
    const c = await client(proxy.port);
    proxy.stall();
    c.socket.write('later');
    await sleep(200);
    expect(echo.received()).toBe(0);
    proxy.heal();
    expect(await eventually(() => c.text() === 'later')).toBe(true);
  });

  it('given a target that is down, should reset the client at once', async () => {
    const echo = await startEcho();
    const port = echo.port;
    await new Promise<void>((resolve) => echo.server.close(() => resolve()));
    const proxy = await FaultProxy.start({ targetPort: port });
    cleanups.push(() => proxy.close());
    const c = await client(proxy.port);
    expect(await within(c.ended, 2_000)).toMatch(/ECONNRESET|closed/);
  });

  it('given a client that half-closes, should pass the FIN on and still return the answer', async () => {
    const { proxy } = await setUp();
    const c = await client(proxy.port);
    c.socket.end('bye');
    expect(await eventually(() => c.text() === 'bye')).toBe(true);
  });
});

describe('fault control endpoint', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('given HTTP commands, should switch the named link and report every link', async () => {
    const echo = await startEcho();
    cleanups.push(() => new Promise<void>((resolve) => echo.server.close(() => resolve())));
    const a = await FaultProxy.start({ targetPort: echo.port, name: 'a' });
    const b = await FaultProxy.start({ targetPort: echo.port, name: 'b' });
    cleanups.push(
      () => a.close(),
      () => b.close(),
    );
    const control = await startFaultControl(
      new Map([
        ['a', a],
        ['b', b],
      ]),
    );
    cleanups.push(() => control.close());
    const base = `http://127.0.0.1:${control.port}`;
    const post = (path: string): Promise<Response> => fetch(base + path, { method: 'POST' });

    const blackholed = await post('/links/a/blackhole?direction=toTarget');
    expect(blackholed.status).toBe(200);
    expect(await blackholed.json()).toMatchObject({ name: 'a', mode: 'blackhole', direction: 'toTarget' });
    expect(a.mode).toBe('blackhole');
    expect((await post('/links/b/reset')).status).toBe(200);
    expect(b.mode).toBe('reset');

    const listed = await fetch(`${base}/links`);
    expect(await listed.json()).toMatchObject([
      { name: 'a', mode: 'blackhole' },
      { name: 'b', mode: 'reset' },
    ]);

    expect((await post('/heal')).status).toBe(200);
    expect([a.mode, b.mode]).toEqual(['pass', 'pass']);
  });

  it('given bad commands, should answer 404, 400 or 405 and change nothing', async () => {
    const echo = await startEcho();
    cleanups.push(() => new Promise<void>((resolve) => echo.server.close(() => resolve())));
    const a = await FaultProxy.start({ targetPort: echo.port, name: 'a' });
    cleanups.push(() => a.close());
    const control = await startFaultControl(new Map([['a', a]]));
    cleanups.push(() => control.close());
    const base = `http://127.0.0.1:${control.port}`;
    expect((await fetch(`${base}/links/nope/heal`, { method: 'POST' })).status).toBe(404);
    expect((await fetch(`${base}/links/a/explode`, { method: 'POST' })).status).toBe(400);
    expect((await fetch(`${base}/links/a/blackhole?direction=sideways`, { method: 'POST' })).status).toBe(
      400,
    );
    expect((await fetch(`${base}/links/%zz/heal`, { method: 'POST' })).status).toBe(400);
    expect((await fetch(`${base}/links/a/reset`)).status).toBe(405);
    expect((await fetch(`${base}/links`, { method: 'POST' })).status).toBe(405);
    expect(a.mode).toBe('pass');
  });
});
