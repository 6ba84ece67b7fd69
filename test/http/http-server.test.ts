import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startHttpFixture } from '../support/http-fixture.js';
import { rawConnect } from './raw-http.js';

/**
 * Whether anything still accepts on the port. (Binding it again can fail for
 * a minute after the server closed live connections: uSockets sets no
 * SO_REUSEADDR, so their TIME_WAIT entries hold the port.)
 */
const accepting = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

/** startHttpServer: HTTP and WebSocket on one uWS app, on an ephemeral port, and a close that lets go of everything. */
describe('startHttpServer', () => {
  it('given port 0 then it listens on a free port and serves HTTP and the WebSocket route there', async () => {
    const fixture = await startHttpFixture();
    try {
      expect(fixture.server.port).toBeGreaterThan(0);
      const health = await fetch(`${fixture.base}/health`, { signal: AbortSignal.timeout(5_000) });
      expect(await health.json()).toEqual({ status: 'ok' });
      const socket = new WebSocket(fixture.wsUrl);
      await new Promise<void>((resolve, reject) => {
        socket.once('open', () => resolve());
        socket.once('error', reject);
      });
      socket.close();
      const plain = await fetch(`${fixture.base}/ws`, { signal: AbortSignal.timeout(5_000) });
      expect(plain.status).toBe(400);
      expect(await plain.json()).toMatchObject({ error: { code: 'BAD_REQUEST' } });
    } finally {
      await fixture.close();
    }
  });

  it('close() ends idle keep-alive connections and WebSockets and stops accepting, once', async () => {
    const fixture = await startHttpFixture();
    const port = fixture.server.port;
    const keepAlive = await rawConnect(port);
    await keepAlive.write('GET /health HTTP/1.1\r\nhost: localhost\r\n\r\n');
    await keepAlive.waitFor(/"status":"ok"/);
    const socket = new WebSocket(fixture.wsUrl);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    const wsClosed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));

    await fixture.close();
    await fixture.server.close();
    await keepAlive.closed(3_000);
    expect(await wsClosed).toBe(1001);
    expect(await accepting(port)).toBe(false);
  });
});
