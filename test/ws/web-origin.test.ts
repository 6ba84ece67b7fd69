import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { BrokerConfig } from '../../src/common/broker-config.js';
import { type HttpAppFixture, startHttpApp } from '../http/http-app-fixture.js';
import { startWsFixture, type WsFixture } from './ws-fixture.js';

/**
 * Web origins on the HTTP and WebSocket door: the WebSocket upgrade checks
 * Origin as the HTTP routes do (same origin, or --allowed-origins), and every
 * request's Host must name the broker, which defeats DNS rebinding (a page
 * whose name re-resolves to 127.0.0.1 still sends its own name as Host).
 */
function upgradeStatus(url: string, headers: { origin?: string; host?: string }): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, {
      ...(headers.origin === undefined ? {} : { origin: headers.origin }),
      ...(headers.host === undefined ? {} : { headers: { host: headers.host } }),
    });
    const timer = setTimeout(() => reject(new Error('no answer to the upgrade')), 5000);
    socket.once('open', () => {
      clearTimeout(timer);
      socket.close();
      resolve(101);
    });
    socket.once('unexpected-response', (_request, response) => {
      clearTimeout(timer);
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    socket.once('error', () => undefined);
  });
}

function httpStatus(port: number, path: string, host: string, method = 'GET'): Promise<number> {
  return new Promise((resolve, reject) => {
    const call = request({ host: '127.0.0.1', port, path, method, headers: { host } }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    call.once('error', reject);
    call.end();
  });
}

describe('web origins and host names', () => {
  let ws: WsFixture | null = null;
  let http: HttpAppFixture | null = null;
  afterEach(async () => {
    await ws?.close();
    ws = null;
    http?.close();
    http = null;
  });
  const startWs = async (config: Partial<BrokerConfig> = {}): Promise<{ url: string; port: string }> => {
    ws = await startWsFixture(config);
    return { url: ws.url, port: new URL(ws.url).port };
  };

  it('given no Origin or the same origin when upgrading should open; given another origin should answer 403', async () => {
    const { url, port } = await startWs();
    expect(await upgradeStatus(url, {})).toBe(101);
    expect(await upgradeStatus(url, { origin: `http://127.0.0.1:${port}` })).toBe(101);
    expect(await upgradeStatus(url, { origin: 'http://evil.example' })).toBe(403);
    expect(await upgradeStatus(url, { origin: 'null' })).toBe(403);
    // Another port of the same host is another origin.
    expect(await upgradeStatus(url, { origin: 'http://127.0.0.1:1' })).toBe(403);
  });

  it('given --allowed-origins when a listed page upgrades should open, and * should allow any', async () => {
    const listed = await startWs({ allowedOrigins: ['http://console.example:3000'] });
    expect(await upgradeStatus(listed.url, { origin: 'http://console.example:3000' })).toBe(101);
    expect(await upgradeStatus(listed.url, { origin: 'http://other.example:3000' })).toBe(403);
    await ws?.close();
    const any = await startWs({ allowedOrigins: ['*'] });
    expect(await upgradeStatus(any.url, { origin: 'http://other.example:3000' })).toBe(101);
  });

  it('given a rebound DNS name as Host should refuse the upgrade even from its own origin', async () => {
    const { url, port } = await startWs();
    const rebound = `attacker.example:${port}`;
    expect(await upgradeStatus(url, { host: rebound, origin: `http://${rebound}` })).toBe(403);
    expect(await upgradeStatus(url, { host: rebound })).toBe(403);
    expect(await upgradeStatus(url, { host: `localhost:${port}`, origin: `http://localhost:${port}` })).toBe(
      101,
    );
    expect(await upgradeStatus(url, { host: `[::1]:${port}` })).toBe(101);
  });

  it('given --allowed-hosts when a request names a listed host should serve it; other names get 403 on every route', async () => {
    http = await startHttpApp({ config: { allowedHosts: ['broker.internal'] } });
    const port = http.port;
    expect(await httpStatus(port, '/health', `127.0.0.1:${port}`)).toBe(200);
    expect(await httpStatus(port, '/health', `localhost:${port}`)).toBe(200);
    expect(await httpStatus(port, '/topics', `broker.internal:${port}`)).toBe(200);
    expect(await httpStatus(port, '/topics', `attacker.example:${port}`)).toBe(403);
    expect(await httpStatus(port, '/health', 'attacker.example')).toBe(403);
    expect(await httpStatus(port, '/metrics', `attacker.example:${port}`)).toBe(403);
  });
});
