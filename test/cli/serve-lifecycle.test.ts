import { afterEach, describe, expect, it } from 'vitest';
import { type ServeProcess, startServe } from '../support/serve-process.js';
import { makeTempDir } from '../support/temp-dir.js';

/**
 * `pyralog serve` as a user runs it: a real process, real ports on
 * 127.0.0.1, stopped by signals. What was acknowledged must be there after a
 * graceful stop and after a SIGKILL.
 */
async function http(
  base: string,
  path: string,
  init?: RequestInit,
): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${base}${path}`, { ...init, signal: AbortSignal.timeout(10_000) });
  return { status: response.status, body: await response.json() };
}

async function produceAcknowledged(
  base: string,
  topic: string,
  count: number,
  prefix: string,
): Promise<number> {
  let acknowledged = 0;
  for (let i = 0; i < count; i++) {
    const { status } = await http(base, `/topics/${topic}/records?acks=all`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{ key: `k${i}`, value: `${prefix}-${i}`, partition: i % 2 }]),
    });
    expect(status).toBe(200);
    acknowledged++;
  }
  return acknowledged;
}

async function readAll(base: string, topic: string): Promise<string[]> {
  const values: string[] = [];
  for (const partition of [0, 1]) {
    let offset = 0;
    for (;;) {
      const { body } = (await http(
        base,
        `/topics/${topic}/partitions/${partition}/records?offset=${offset}`,
      )) as {
        body: { records: { value: string }[]; nextOffset: number; highWatermark: number };
      };
      values.push(...body.records.map((r) => r.value));
      if (body.nextOffset >= body.highWatermark || body.records.length === 0) break;
      offset = body.nextOffset;
    }
  }
  return values.sort();
}

describe('pyralog serve lifecycle', () => {
  let cleanup = (): void => {};
  let running: ServeProcess | null = null;
  afterEach(() => {
    running?.child.kill('SIGKILL');
    running = null;
    cleanup();
  });

  it('given SIGTERM, stops gracefully with exit code 0 and keeps every record for the next start', async () => {
    const temp = makeTempDir('serve-term');
    cleanup = temp.cleanup;
    running = await startServe(['--data', temp.dir, '--shards', '2']);
    const base = `http://127.0.0.1:${running.httpPort}`;
    expect(
      (
        await http(base, '/topics', {
          method: 'POST',
          body: JSON.stringify({ name: 'events', partitions: 2 }),
        })
      ).status,
    ).toBe(201);
    await produceAcknowledged(base, 'events', 20, 'term');
    const startedMs = Date.now();
    running.child.kill('SIGTERM');
    expect(await running.exited).toBe(0);
    expect(Date.now() - startedMs).toBeLessThan(10_000);
    running = await startServe(['--data', temp.dir, '--shards', '2']);
    const values = await readAll(`http://127.0.0.1:${running.httpPort}`, 'events');
    expect(values).toEqual(Array.from({ length: 20 }, (_, i) => `term-${i}`).sort());
  }, 60_000);

  it('given SIGKILL after acknowledged produces with fsync always, loses none of them', async () => {
    const temp = makeTempDir('serve-kill');
    cleanup = temp.cleanup;
    running = await startServe(['--data', temp.dir, '--shards', '2', '--fsync', 'always']);
    const base = `http://127.0.0.1:${running.httpPort}`;
    await http(base, '/topics', {
      method: 'POST',
      body: JSON.stringify({ name: 'payments', partitions: 2 }),
    });
    await produceAcknowledged(base, 'payments', 30, 'kill');
    running.child.kill('SIGKILL');
    await running.exited;
    running = await startServe(['--data', temp.dir, '--shards', '2']);
    const values = await readAll(`http://127.0.0.1:${running.httpPort}`, 'payments');
    expect(values).toEqual(Array.from({ length: 30 }, (_, i) => `kill-${i}`).sort());
  }, 60_000);
});
