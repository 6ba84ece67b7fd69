import { describe, expect, it } from 'vitest';
import { openLoop, sleepUntil } from '../../src/cli/bench/open-loop.js';

/** The latency figures in bench/RESULTS.md rest on this loop keeping its schedule and its warm-up out. */
describe('open-loop sender', () => {
  it('never wakes before its target, and mostly soon after it', async () => {
    const lateMs: number[] = [];
    for (let i = 0; i < 200; i++) {
      const targetMs = performance.now() + (i % 5) * 0.2;
      await sleepUntil(targetMs);
      lateMs.push(performance.now() - targetMs);
    }
    expect(Math.min(...lateMs)).toBeGreaterThanOrEqual(0);
    lateMs.sort((a, b) => a - b);
    // Generous bound: the machine is shared; the median is ~0.1 ms when it is quiet.
    expect(lateMs[100]!).toBeLessThan(2);
  });

  it('sends at the rate asked, whatever earlier sends do, and records only after the warm-up', async () => {
    const sentAtMs: number[] = [];
    // Warm-up sends take 30 ms to answer: had they been recorded, p50 would be at least 30 ms.
    const result = await openLoop(
      (index) => {
        sentAtMs.push(performance.now());
        return new Promise((resolve) => setTimeout(resolve, index < 50 ? 30 : 0));
      },
      500,
      0.2,
      0.1,
    );
    expect(sentAtMs).toHaveLength(150);
    expect(result.count).toBe(100);
    expect(result.p50).toBeLessThan(30_000);
    // 150 sends at 500/s span 298 ms; a loop that waited for answers would need over 50 × 30 ms.
    const spanMs = sentAtMs.at(-1)! - sentAtMs[0]!;
    expect(spanMs).toBeGreaterThan(290);
    expect(spanMs).toBeLessThan(1_200);
  });
  it('given a send that fails, then the run rejects with its error and stops sending, leaving no unhandled rejection', async () => {
    let sends = 0;
    const run = openLoop(
      (index) => {
        sends++;
        return index === 3 ? Promise.reject(new Error('broker gone')) : Promise.resolve();
      },
      1000,
      0.5,
    );
    await expect(run).rejects.toThrow('broker gone');
    // It stops soon after the failure is seen rather than sending the whole run's 500 requests.
    expect(sends).toBeLessThan(50);
  });
});
