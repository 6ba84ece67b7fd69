import { afterEach, describe, expect, it } from 'vitest';
import {
  rawTcpBytesPerSecond,
  rawTcpLatencyAtRate,
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
});
