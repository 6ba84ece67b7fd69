import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  rawAppendBytesPerSecond,
  rawTcpBytesPerSecond,
  rawTcpLatencyAtRate,
  rawWriteSyncBytesPerSecond,
  startAckServer,
  threadWakeLatencyAtRate,
} from '../../tools/raw-baselines.js';

describe('raw loopback TCP baselines', () => {
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
  });

  it('measures round trips at a fixed rate through the ack server, only after the warm-up', async () => {
    const server = await startAckServer();
    stops.push(server.stop);
    const latency = await rawTcpLatencyAtRate(server.port, 1100, 400, 0.5, 0.25);
    expect(latency.count).toBe(200);
    expect(latency.p50).toBeGreaterThan(0);
    expect(latency.p99).toBeGreaterThanOrEqual(latency.p50);
    expect(latency.max).toBeGreaterThanOrEqual(latency.p99);
  });

  it('measures two threads waking each other at a fixed rate, only after the warm-up', async () => {
    const latency = await threadWakeLatencyAtRate(1000, 0.3, 0.1);
    expect(latency.count).toBe(300);
    expect(latency.p50).toBeGreaterThan(0);
    expect(latency.max).toBeGreaterThanOrEqual(latency.p50);
  });

  it('measures bytes per second of acknowledged frames', async () => {
    const server = await startAckServer();
    stops.push(server.stop);
    const bytesPerSecond = await rawTcpBytesPerSecond(server.port, 16_384, 2, 4, 0.3);
    expect(bytesPerSecond).toBeGreaterThan(1_000_000);
  });

  it('runs the warm-up before the measured seconds', async () => {
    const server = await startAckServer();
    stops.push(server.stop);
    const startMs = performance.now();
    const bytesPerSecond = await rawTcpBytesPerSecond(server.port, 16_384, 2, 4, 0.3, 0.2);
    expect(performance.now() - startMs).toBeGreaterThanOrEqual(500);
    expect(bytesPerSecond).toBeGreaterThan(1_000_000);
  });
});

describe('raw disk baselines', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const scratch = (): string => {
    const dir = mkdtempSync(join(tmpdir(), 'pyralog-raw-'));
    dirs.push(dir);
    return dir;
  };

  it('measures appends into the page cache and leaves no file behind', async () => {
    const dir = scratch();
    const bytesPerSecond = await rawAppendBytesPerSecond(dir, 16_384, 0.2);
    expect(bytesPerSecond).toBeGreaterThan(1_000_000);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('measures writes with an fdatasync per group and leaves no file behind', async () => {
    const dir = scratch();
    const bytesPerSecond = await rawWriteSyncBytesPerSecond(dir, 16_384, 4, 0.2);
    expect(bytesPerSecond).toBeGreaterThan(100_000);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('raw loopback TCP into a file', () => {
  const stops: (() => Promise<void>)[] = [];
  const dirs: string[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('acks frames split across reads and writes every byte it acked, one file per connection', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pyralog-raw-append-'));
    dirs.push(dir);
    const server = await startAckServer({ appendToDir: dir });
    stops.push(server.stop);
    // 100 KB frames span Node's 64 KiB socket reads.
    const frameBytes = 100_000;
    const bytesPerSecond = await rawTcpBytesPerSecond(server.port, frameBytes, 2, 3, 0.3);
    expect(bytesPerSecond).toBeGreaterThan(1_000_000);
    const files = readdirSync(dir);
    expect(files).toHaveLength(2);
    // Every frame sent was acked before the measurement returned, so every file holds whole frames only.
    for (const file of files) {
      const sizeBytes = statSync(join(dir, file)).size;
      expect(sizeBytes).toBeGreaterThan(0);
      expect(sizeBytes % (4 + frameBytes)).toBe(0);
    }
  });
});
