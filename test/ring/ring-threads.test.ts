import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { createRingBuffer, createRingBufferNearIndexWrap, RingReader } from '../../src/ring/index.js';
import type { TrafficOptions } from './ring-traffic.js';

const boot = fileURLToPath(new URL('../../workers/tsx-boot.mjs', import.meta.url));
const entry = new URL('./ring-thread.ts', import.meta.url).href;

function runSide(
  role: 'produce' | 'consume',
  ring: SharedArrayBuffer,
  options: TrafficOptions,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(boot, { workerData: { pyralogEntry: entry, role, ring, options } });
    worker.once('message', (message: { problem: string }) => resolve(message.problem));
    worker.once('error', reject);
    worker.once('exit', (code) => code !== 0 && reject(new Error(`${role} thread exited with ${code}`)));
  });
}

async function exchange(ring: SharedArrayBuffer, options: TrafficOptions): Promise<string> {
  const [consumed, produced] = await Promise.all([
    runSide('consume', ring, options),
    runSide('produce', ring, options),
  ]);
  return consumed || produced;
}

describe('ring between two real threads', () => {
  it('carries 10 million records of random sizes: nothing lost, duplicated, reordered or torn', async () => {
    const ring = createRingBuffer(1 << 20);
    const options = {
      records: 10_000_000,
      seed: 0x9e3779b9,
      maxPayloadBytes: 4096,
      pauseEvery: 0,
      pauseMs: 0,
      publishEveryMax: 2048,
    };
    expect(await exchange(ring, options)).toBe('');
  }, 120_000);

  it('survives a consumer that sleeps and a producer that bursts into a full ring', async () => {
    const ring = createRingBuffer(1 << 14);
    const options = { records: 200_000, seed: 12345, maxPayloadBytes: 8000, pauseEvery: 20_000, pauseMs: 20 };
    expect(await exchange(ring, options)).toBe('');
  }, 60_000);

  it('keeps working when its byte indices wrap past 2^32', async () => {
    const ring = createRingBufferNearIndexWrap(1 << 12);
    const options = { records: 100_000, seed: 777, maxPayloadBytes: 2000, pauseEvery: 0, pauseMs: 0 };
    expect(await exchange(ring, options)).toBe('');
  }, 60_000);

  it('wakes a consumer in waitAsync when another thread publishes', async () => {
    const ring = createRingBuffer(1 << 12);
    const reader = new RingReader(ring);
    const worker = new Worker(boot, {
      workerData: { pyralogEntry: new URL('./publish-later.ts', import.meta.url).href, ring, delayMs: 100 },
    });
    const startedMs = performance.now();
    await reader.waitAsync(10_000);
    const waitedMs = performance.now() - startedMs;
    const record = { type: 0, flags: 0, correlationId: 0, payloadPosition: 0, payloadBytes: 0 };
    expect(reader.tryRead(record)).toBe(true);
    expect(record.correlationId).toBe(42);
    expect(waitedMs).toBeLessThan(5_000);
    await worker.terminate();
  }, 30_000);
});
