import { build } from 'hdr-histogram-js';

/**
 * An open-loop load: `send` is called at a fixed rate whatever happens to
 * earlier calls, and each latency is measured from the call's scheduled time,
 * so a stall shows in the figures instead of slowing the load down
 * (no coordinated omission). Latencies go into an HdrHistogram (µs).
 *
 * Timers are ~1 ms coarse, so the loop sleeps until shortly before each send
 * and yields to the event loop for the rest: precise, at the cost of some CPU
 * in the generator, which the benchmarks report.
 */
export interface OpenLoopLatency {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

/** Resolves at `targetMs` (performance.now() clock), sleeping most of the way and yielding the rest. */
export async function sleepUntil(
  targetMs: number,
  now: () => number = () => performance.now(),
): Promise<void> {
  const waitMs = targetMs - now();
  if (waitMs > 2) await new Promise((resolve) => setTimeout(resolve, waitMs - 1.5));
  while (now() < targetMs) await new Promise((resolve) => setImmediate(resolve));
}

export async function openLoop(
  send: (index: number) => Promise<unknown>,
  ratePerSecond: number,
  seconds: number,
): Promise<OpenLoopLatency> {
  const histogram = build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 600_000_000,
    numberOfSignificantValueDigits: 3,
  });
  const intervalMs = 1000 / ratePerSecond;
  const startMs = performance.now() + 20;
  const inFlight = new Set<Promise<void>>();
  for (let i = 0; i < ratePerSecond * seconds; i++) {
    const scheduledMs = startMs + i * intervalMs;
    await sleepUntil(scheduledMs);
    const sending = send(i).then(() => {
      histogram.recordValue(Math.max(1, Math.round((performance.now() - scheduledMs) * 1000)));
    });
    inFlight.add(sending);
    void sending.finally(() => inFlight.delete(sending));
  }
  await Promise.all(inFlight);
  const result = {
    p50: histogram.getValueAtPercentile(50),
    p90: histogram.getValueAtPercentile(90),
    p99: histogram.getValueAtPercentile(99),
    p999: histogram.getValueAtPercentile(99.9),
    max: histogram.maxValue,
    mean: Math.round(histogram.mean),
  };
  histogram.destroy();
  return result;
}
