import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { xorshift } from '../support/xorshift.js';
import { asError, call, errorCode, type HttpAppFixture, postJson, startHttpApp } from './http-app-fixture.js';
import { rawConnect } from './raw-http.js';

/** Unknown routes, wrong methods, and random or broken requests: a JSON answer every time, and no crash. */
describe('HTTP routing and bad requests', () => {
  let app: HttpAppFixture;
  beforeAll(async () => {
    app = await startHttpApp({ config: { maxFrameBytes: 16 * 1024 } });
    await postJson(app.base, '/topics', { name: 'here', partitions: 2 });
    await postJson(app.base, '/topics/here/records', [{ value: 'a' }, { value: 'b' }]);
  });
  afterAll(() => app.close());

  it('an unknown path answers 404 NOT_FOUND', async () => {
    for (const path of [
      '/nowhere',
      '/assets/nothing.js',
      '/topics/here/partitions/0',
      '/topics/here/records/0',
      '/health/x',
    ]) {
      const answer = await call(app.base, path);
      expect({ path, status: answer.status, code: errorCode(answer) }).toEqual({
        path,
        status: 404,
        code: 'NOT_FOUND',
      });
    }
  });

  it('serves the console at / (built by npm run build), and never a file outside its assets', async () => {
    const index = await fetch(`${app.base}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('cache-control')).toBe('no-cache');
    const script = /src="\/assets\/([^"]+)"/.exec(await index.text())?.[1];
    const asset = await fetch(`${app.base}/assets/${script}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(asset.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    for (const path of [
      '/assets/..%2Fpackage.json',
      '/assets/%2E%2E%2F%2E%2E%2Fpackage.json',
      '/assets/index.html',
    ]) {
      expect((await fetch(`${app.base}${path}`)).status).toBe(404);
    }
  });

  it('a known path with the wrong method answers 405 with the allowed methods', async () => {
    const cases: [string, string, string][] = [
      ['PUT', '/health', 'GET'],
      ['POST', '/metrics', 'GET'],
      ['DELETE', '/topics', 'GET, POST'],
      ['POST', '/topics/here', 'GET, DELETE'],
      ['GET', '/topics/here/records', 'POST'],
      ['PATCH', '/topics/here/partitions/0/records', 'GET'],
    ];
    for (const [method, path, allow] of cases) {
      const answer = await call(app.base, path, { method });
      expect({ method, path, status: answer.status, code: errorCode(answer) }).toEqual({
        method,
        path,
        status: 405,
        code: 'METHOD_NOT_ALLOWED',
      });
      expect(answer.headers.get('allow')).toBe(allow);
    }
  });

  it('GET /ws without a WebSocket upgrade is a 400 that says so', async () => {
    const answer = await call(app.base, '/ws');
    expect(answer.status).toBe(400);
    expect((answer.json as { error: { message: string } }).error.message).toMatch(/WebSocket upgrade/);
  });

  it('a POST or DELETE from a page of another origin is refused 403; same origin and reads are served', async () => {
    const evil = { origin: 'http://evil.example' };
    const refused = await call(app.base, '/topics', {
      method: 'POST',
      headers: { ...evil, 'content-type': 'text/plain' },
      body: '{"name":"csrf"}',
    });
    expect(refused.status).toBe(403);
    expect(errorCode(refused)).toBe('FORBIDDEN');
    expect(
      (await call(app.base, '/topics/here', { method: 'DELETE', headers: { origin: 'null' } })).status,
    ).toBe(403);
    expect((await call(app.base, '/topics/csrf')).status).toBe(404);
    expect((await call(app.base, '/topics/here', { headers: evil })).status).toBe(200);
    const same = await call(app.base, '/topics', {
      method: 'POST',
      headers: { origin: app.base },
      body: '{"name":"same-origin"}',
    });
    expect(same.status).toBe(201);
  });

  it('given 1000 random requests then each gets a well-formed answer and the server keeps serving', async () => {
    const random = xorshift(0x5eed);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const segments = [
      'topics',
      'here',
      'nope',
      'partitions',
      '0',
      '1',
      '9',
      'records',
      '%E0%A4%A',
      '%2F',
      '..',
      '',
    ];
    const queries = [
      '',
      '?offset=0',
      '?offset=-5',
      '?limit=2&format=arrow',
      '?format=arrow&values=json',
      '?acks=x',
    ];
    const bodies = [
      '',
      '[{"value":"v"}]',
      '[{"value":"v","partition":7}]',
      '{"name":"fz","partitions":1}',
      '{',
      'null',
      '[null]',
      '\u0000\u0001',
      JSON.stringify([{ value: 'x'.repeat(20_000) }]),
    ];
    const types = ['application/json', 'application/octet-stream', 'text/plain', ''];
    const methods = ['GET', 'POST', 'DELETE', 'PUT', 'PATCH', 'OPTIONS'];
    const statuses = new Map<number, number>();
    for (let i = 0; i < 1000; i++) {
      const depth = 1 + Math.floor(random() * 5);
      const path = `/${Array.from({ length: depth }, () => pick(segments)).join('/')}${pick(queries)}`;
      const method = pick(methods);
      const init: RequestInit = { method, headers: { 'content-type': pick(types) } };
      if (method === 'POST' || method === 'PUT') {
        const body = pick(bodies);
        init.body =
          random() < 0.2 ? new Uint8Array(Math.floor(random() * 2000)).map(() => random() * 256) : body;
      }
      const answer = await call(app.base, path, init).catch(asError);
      // An oversized body may see its connection closed before the 413 is read.
      if (answer instanceof Error) continue;
      statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
      if (answer.status !== 200 && answer.status !== 201) {
        expect(answer.type).toBe('application/json');
        expect(typeof errorCode(answer)).toBe('string');
      }
      if (i % 100 === 99) await call(app.base, '/topics/fz', { method: 'DELETE' });
    }
    expect(statuses.get(404)).toBeGreaterThan(0);
    expect(statuses.get(405)).toBeGreaterThan(0);
    expect(statuses.get(400)).toBeGreaterThan(0);
    expect((await call(app.base, '/health')).status).toBe(200);
    expect(app.routes.metrics.inFlight).toBe(0);
    expect(app.routes.budget.heldBytes).toBe(0);
  });

  it('connections sending bytes that are not HTTP do not stop others being served', async () => {
    const random = xorshift(42);
    const garbage = await Promise.all(Array.from({ length: 20 }, () => rawConnect(app.port)));
    for (const [i, raw] of garbage.entries()) {
      await raw.write(new Uint8Array(200 + i * 50).map(() => random() * 256));
      await raw.write('\r\n\r\n');
    }
    expect((await call(app.base, '/health')).status).toBe(200);
    // A malformed content-length is refused by uWS with the connection closed at once.
    const raw = await rawConnect(app.port);
    await raw.write('GET /health HTTP/1.1\r\nhost: x\r\ncontent-length: nope\r\n\r\n');
    await raw.closed(2_000);
    for (const connection of garbage) connection.socket.destroy();
    expect((await call(app.base, '/health')).status).toBe(200);
  });
});
