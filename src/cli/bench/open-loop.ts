import { build, type Histogram } from 'hdr-histogram-js';
import { trackInFlight } from './in-flight.js';

/**
 * An open-loop load: `send` is called at a fixed rate whatever happens to
 * earlier calls, and each latency is measured from the call's scheduled time,
 * so a stall shows in the figures instead of slowing the load down
 * (no coordinated omission). Latencies go into an HdrHistogram (µs).
 *
 * Timers are ~1 ms coarse, so the loop sleeps until shortly before each send
 * and then waits in short blocking slices (see sleepUntil): precise, at a
 * small CPU cost in the generator, which the benchmarks report.
 */
export interface OpenLoopLatency {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
  /** Requests recorded (those scheduled after the warm-up). */
  count: number;
}

/** A word nobody notifies: Atomics.wait on it is a precise sub-millisecond sleep. */
const sleeper = new Int32Array(new SharedArrayBuffer(4));
/** How late Atomics.wait returns on the bench machine (p50 ~56 µs, p99 ~80 µs). */
const WAKE_LATENCY_MS = 0.07;
/** Longest single blocking sleep, so replies that arrive meanwhile wait at most this long to be read. */
const BLOCK_SLICE_MS = 0.1;

/**
 * Resolves at `targetMs` (on the `now` clock). Far from it, a timer sleeps
 * (timers are ~1 ms coarse); near it, the loop alternates one turn of the
 * event loop (replies arriving meanwhile are read) with a short blocking
 * Atomics.wait, and yields only the last few tens of microseconds. Spinning
 * on setImmediate the whole way would take a whole core from the broker
 * being measured on a two-core machine; this takes about half of one at 5,000
 * sends/s there, at the cost of reading a reply up to BLOCK_SLICE_MS late
 * (which counts against the broker, never for it).
 */
export async function sleepUntil(
  targetMs: number,
  now: () => number = () => performance.now(),
): Promise<void> {
  const waitMs = targetMs - now();
  if (waitMs > 2) await new Promise((resolve) => setTimeout(resolve, waitMs - 1.5));
  for (;;) {
    await new Promise((resolve) => setImmediate(resolve));
    const remainingMs = targetMs - now();
    if (remainingMs <= 0) return;
    if (remainingMs > WAKE_LATENCY_MS) {
      Atomics.wait(sleeper, 0, 0, Math.min(remainingMs - WAKE_LATENCY_MS, BLOCK_SLICE_MS));
    }
  }
}

/**
 * Sends for `warmupSeconds` and then `seconds` at `ratePerSecond`; only the
 * requests scheduled after the warm-up are recorded (the first ones pay for
 * JIT compilation on both sides, which says nothing about steady state).
 */
export async function openLoop(
  /** Sends request `index`, due at `scheduledMs` (performance.now() clock), the time its latency counts from. */
  send: (index: number, scheduledMs: number) => Promise<unknown>,
  ratePerSecond: number,
  seconds: number,
  warmupSeconds = 0,
  /** Called once, just before the first request after the warm-up is sent. */
  onWarm?: () => void,
  /** Also records every latency here (kept, not freed): several runs pooled into one histogram. */
  pooled?: Histogram,
): Promise<OpenLoopLatency> {
  const histogram = createLatencyHistogram();
  const intervalMs = 1000 / ratePerSecond;
  const startMs = performance.now() + 20;
  const inFlight = new Set<Promise<void>>();
  const warmupRequests = Math.round(ratePerSecond * warmupSeconds);
  const failures: unknown[] = [];
  for (let i = 0; i < warmupRequests + ratePerSecond * seconds && failures.length === 0; i++) {
    const scheduledMs = startMs + i * intervalMs;
    await sleepUntil(scheduledMs);
    if (i === warmupRequests) onWarm?.();
    const sending = send(i, scheduledMs).then(
      () => {
        if (i >= warmupRequests) {
          const latencyUs = Math.max(1, Math.round((performance.now() - scheduledMs) * 1000));
          histogram.recordValue(latencyUs);
          pooled?.recordValue(latencyUs);
        }
      },
      (error: unknown) => {
        failures.push(error);
      },
    );
    trackInFlight(inFlight, sending);
  }
  await Promise.all(inFlight);
  const latency = summarizeAndDestroy(histogram);
  // A failed request ends the run; its error is the run's, not an unhandled rejection.
  if (failures.length > 0) throw failures[0];
  return latency;
}

/** An HdrHistogram of latencies in microseconds, 1 µs to 10 minutes, 3 significant digits. */
export function createLatencyHistogram(): Histogram {
  return build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 600_000_000,
    numberOfSignificantValueDigits: 3,
  });
}

/** The percentiles of a latency histogram; frees the histogram. */
export function summarizeAndDestroy(histogram: Histogram): OpenLoopLatency {
  const result = summarize(histogram);
  histogram.destroy();
  return result;
}

/** The percentiles of a latency histogram, which stays usable. */
export function summarize(histogram: Histogram): OpenLoopLatency {
  return {
    p50: histogram.getValueAtPercentile(50),
    p90: histogram.getValueAtPercentile(90),
    p99: histogram.getValueAtPercentile(99),
    p999: histogram.getValueAtPercentile(99.9),
    max: histogram.maxValue,
    mean: Math.round(histogram.mean),
    count: histogram.totalCount,
  };
}
