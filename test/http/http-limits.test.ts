import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asError, call, errorCode, type HttpAppFixture, postJson, startHttpApp } from './http-app-fixture.js';
import { rawConnect } from './raw-http.js';

const FRAME_BYTES = 64 * 1024;
const BUDGET_BYTES = 160 * 1024;

const settle = async (condition: () => boolean, timeoutMs = 3_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  return condition();
};

/** Bodies are bounded one by one and all together, and never waited for without end. */
describe('HTTP body limits', () => {
  let app: HttpAppFixture;
  beforeAll(async () => {
    app = await startHttpApp({ config: { maxFrameBytes: FRAME_BYTES }, bodyBudgetBytes: BUDGET_BYTES });
    await postJson(app.base, '/topics', { name: 't' });
  });
  afterAll(() => app.close());

  it('a declared content-length over the limit is answered 413 before any of the body is sent', async () => {
    const raw = await rawConnect(app.port);
    await raw.write(
      `POST /topics/t/records HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: ${100 * 1024 * 1024}\r\n\r\n`,
    );
    const text = await raw.waitFor(/\r\n\r\n.*\}/s);
    expect(text).toMatch(/^HTTP\/1\.1 413 /);
    expect(text).toContain('"code":"TOO_LARGE"');
    await raw.closed();
  });

  it('a chunked body that grows past the limit is refused as soon as it does, without reading the rest', async () => {
    const raw = await rawConnect(app.port);
    await raw.write(
      'POST /topics/t/records HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n',
    );
    const chunk = 'x'.repeat(8 * 1024);
    const frame = `${chunk.length.toString(16)}\r\n${chunk}\r\n`;
    let sentBytes = 0;
    // Offer up to 8 MiB, a chunk at a time, and stop as soon as an answer comes.
    while (sentBytes < 8 * 1024 * 1024 && !/\r\n\r\n/.test(raw.received()) && !raw.socket.destroyed) {
      await raw.write(frame);
      sentBytes += chunk.length;
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    const text = await raw.waitFor(/\r\n\r\n.*\}/s);
    expect(text).toMatch(/^HTTP\/1\.1 413 /);
    // The answer came after about one limit's worth, not after the 8 MiB on offer.
    expect(sentBytes).toBeLessThan(FRAME_BYTES + 1024 * 1024);
    await raw.closed();
  });

  it('a body over the limit sent by fetch gets 413, and the server keeps serving', async () => {
    const big = JSON.stringify([{ value: 'x'.repeat(200 * 1024) }]);
    const answer = await call(app.base, '/topics/t/records', { method: 'POST', body: big }).catch(asError);
    // Node's fetch may see the connection closed before it has read the 413; either way nothing was written.
    if (!(answer instanceof Error)) {
      expect(answer.status).toBe(413);
      expect(errorCode(answer)).toBe('TOO_LARGE');
    }
    expect((await call(app.base, '/health')).status).toBe(200);
    const described = (await call(app.base, '/topics/t')).json as { partitions: { logEndOffset: number }[] };
    expect(described.partitions[0]!.logEndOffset).toBe(0);
  });

  it('given a client that goes away mid-body then its request ends and its bytes are given back', async () => {
    const raw = await rawConnect(app.port);
    await raw.write(
      'POST /topics/t/records HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: 50000\r\n\r\n[{"value":"',
    );
    expect(await settle(() => app.routes.budget.heldBytes === 50_000)).toBe(true);
    expect(app.routes.metrics.inFlight).toBe(1);
    raw.socket.destroy();
    expect(await settle(() => app.routes.budget.heldBytes === 0 && app.routes.metrics.inFlight === 0)).toBe(
      true,
    );
  });

  it('given bodies that would pass the shared budget then the newcomer gets 503 until room is made', async () => {
    const holders = await Promise.all([rawConnect(app.port), rawConnect(app.port)]);
    for (const holder of holders) {
      await holder.write(
        `POST /topics/t/records HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: 60000\r\n\r\n[`,
      );
    }
    expect(await settle(() => app.routes.budget.heldBytes === 120_000)).toBe(true);
    const newcomer = await rawConnect(app.port);
    await newcomer.write(
      'POST /topics/t/records HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: 50000\r\n\r\n',
    );
    const refused = await newcomer.waitFor(/\r\n\r\n.*\}/s);
    expect(refused).toMatch(/^HTTP\/1\.1 503 /);
    expect(refused).toContain('"code":"UNAVAILABLE"');
    newcomer.socket.destroy();
    for (const holder of holders) holder.socket.destroy();
    expect(await settle(() => app.routes.budget.heldBytes === 0)).toBe(true);
    const accepted = await postJson(app.base, '/topics/t/records', [{ value: 'x'.repeat(50_000) }]);
    expect(accepted.status).toBe(200);
  });

  it('an empty body is read as empty and answered 400, not waited for', async () => {
    const answer = await call(app.base, '/topics', { method: 'POST' });
    expect(answer.status).toBe(400);
    const raw = await rawConnect(app.port);
    await raw.write('POST /topics HTTP/1.1\r\nhost: localhost\r\ncontent-length: 0\r\n\r\n');
    expect(await raw.waitFor(/\r\n\r\n.*\}/s)).toMatch(/^HTTP\/1\.1 400 /);
    raw.socket.destroy();
  });

  it('keep-alive requests on one connection each get their answer after an early 404', async () => {
    const raw = await rawConnect(app.port);
    const body = '[{"value":"a"}]';
    await raw.write(
      `POST /topics/missing/records HTTP/1.1\r\nhost: localhost\r\ncontent-length: ${body.length}\r\n\r\n${body}` +
        'GET /health HTTP/1.1\r\nhost: localhost\r\n\r\n',
    );
    const text = await raw.waitFor(/"status":"ok"/);
    expect(text).toMatch(/^HTTP\/1\.1 404 /);
    expect(text).toContain('HTTP/1.1 200 OK');
    raw.socket.destroy();
    expect((await call(app.base, '/health')).status).toBe(200);
  });
});
