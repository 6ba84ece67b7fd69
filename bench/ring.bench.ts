import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { build } from 'hdr-histogram-js';
import { createRingBuffer, RingReader, type RingRecord, RingWriter } from '../src/ring/index.js';
import { printTable } from './support/mitata-ratios.js';

/**
 * `npm run bench -- ring`: the SharedArrayBuffer ring between two threads,
 * against baselines measured in the same run:
 *
 * - throughput for 64 B, 1 KiB and 64 KiB records (records/s, GB/s) against
 *   memcpy (Uint8Array.set) of the same bytes on one thread;
 * - round-trip latency through a pair of rings (p50/p99/p99.9) against
 *   postMessage ping-pong with a worker.
 *
 * Targets: ≥ 5M records/s at 64 B; ≥ 0.4 of memcpy bandwidth at 64 KiB;
 * round-trip p99 at most a third of postMessage's.
 */
const boot = fileURLToPath(new URL('../workers/tsx-boot.mjs', import.meta.url));
const entry = new URL('./ring-thread.ts', import.meta.url).href;
const RING_BYTES = 4 * 1024 * 1024;

/** Starts a bench thread and resolves once it has loaded and said it is ready. */
async function startThread(data: Record<string, unknown>): Promise<Worker> {
  const worker = new Worker(boot, { workerData: { pyralogEntry: entry, ...data } });
  await onceMessage(worker);
  return worker;
}

function onceMessage(worker: Worker): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    worker.once('error', onError);
    worker.once('message', (message: unknown) => {
      worker.off('error', onError);
      resolve(message);
    });
  });
}

/** Producer on this thread, consumer on a worker; returns records per second. */
async function ringThroughput(payloadBytes: number, records: number): Promise<number> {
  const ring = createRingBuffer(RING_BYTES);
  const writer = new RingWriter(ring);
  const consumer = await startThread({ role: 'consume', ring, records });
  const done = onceMessage(consumer);
  const payload = new Uint8Array(payloadBytes).fill(7);
  const startMs = performance.now();
  // Publish every 32 records or 64 KiB, whichever comes first: one store per burst.
  let unpublishedBytes = 0;
  let unpublished = 0;
  for (let i = 0; i < records; i++) {
    let position = writer.tryClaim(payloadBytes, 1, 0, i);
    while (position < 0) {
      writer.publish();
      unpublished = 0;
      unpublishedBytes = 0;
      writer.waitForSpaceSync(payloadBytes, 1000);
      position = writer.tryClaim(payloadBytes, 1, 0, i);
    }
    writer.bytes.set(payload, position);
    unpublishedBytes += payloadBytes;
    if (++unpublished === 32 || unpublishedBytes >= 65_536) {
      writer.publish();
      unpublished = 0;
      unpublishedBytes = 0;
    }
  }
  writer.publish();
  await done;
  const elapsedMs = performance.now() - startMs;
  await consumer.terminate();
  return (records / elapsedMs) * 1000;
}

/** Bytes per second of Uint8Array.set of `payloadBytes` into a ring-sized buffer, on one thread. */
function memcpyBytesPerSecond(payloadBytes: number, copies: number): number {
  const source = new Uint8Array(payloadBytes).fill(7);
  const target = new Uint8Array(RING_BYTES);
  const slots = Math.floor(RING_BYTES / payloadBytes);
  const startMs = performance.now();
  for (let i = 0; i < copies; i++) target.set(source, (i % slots) * payloadBytes);
  const elapsedMs = performance.now() - startMs;
  return ((copies * payloadBytes) / elapsedMs) * 1000;
}

interface Percentiles {
  p50: number;
  p99: number;
  p999: number;
}

function percentiles(samplesUs: Float64Array): Percentiles {
  const histogram = build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 10_000_000,
    numberOfSignificantValueDigits: 3,
  });
  for (const sample of samplesUs) histogram.recordValue(Math.max(1, Math.round(sample * 1000)));
  const result = {
    p50: histogram.getValueAtPercentile(50) / 1000,
    p99: histogram.getValueAtPercentile(99) / 1000,
    p999: histogram.getValueAtPercentile(99.9) / 1000,
  };
  histogram.destroy();
  return result;
}

/** Round trips of a 64 B record through a request ring and a reply ring; latencies in µs. */
async function ringRoundTrips(count: number): Promise<Percentiles> {
  const requests = createRingBuffer(64 * 1024);
  const replies = createRingBuffer(64 * 1024);
  const writer = new RingWriter(requests);
  const reader = new RingReader(replies);
  const echo = await startThread({ role: 'echo', ring: requests, replyRing: replies, records: count });
  const done = onceMessage(echo);
  const record: RingRecord = { type: 0, flags: 0, correlationId: 0, payloadPosition: 0, payloadBytes: 0 };
  const samplesUs = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const startMs = performance.now();
    writer.tryClaim(64, 1, 0, i);
    writer.publish();
    // The acceptor waits with waitAsync; here, as the benchmark's only work, spin briefly then block.
    while (!reader.tryRead(record)) reader.waitSync(1000);
    reader.release();
    samplesUs[i] = (performance.now() - startMs) * 1000;
  }
  await done;
  await echo.terminate();
  return percentiles(samplesUs);
}

/** Round trips of a 64 B Uint8Array by postMessage ping-pong; latencies in µs. */
async function postMessageRoundTrips(count: number): Promise<Percentiles> {
  const echo = await startThread({ role: 'postecho' });
  const samplesUs = new Float64Array(count);
  const payload = new Uint8Array(64);
  for (let i = 0; i < count; i++) {
    const startMs = performance.now();
    const reply = onceMessage(echo);
    echo.postMessage(payload);
    await reply;
    samplesUs[i] = (performance.now() - startMs) * 1000;
  }
  await echo.terminate();
  return percentiles(samplesUs);
}

export async function run(): Promise<void> {
  const rows = [['record', 'ring records/s', 'ring GB/s', 'memcpy GB/s', 'ratio', 'target']];
  for (const [payloadBytes, records] of [
    [64, 20_000_000],
    [1024, 4_000_000],
    [64 * 1024, 100_000],
  ] as const) {
    const recordsPerSecond = await ringThroughput(payloadBytes, records);
    const ringGbPerS = (recordsPerSecond * payloadBytes) / 1e9;
    const memcpyGbPerS = memcpyBytesPerSecond(payloadBytes, records) / 1e9;
    const target = payloadBytes === 64 ? '>= 5M records/s' : payloadBytes === 65536 ? '>= 0.4 of memcpy' : '';
    rows.push([
      `${payloadBytes} B`,
      `${(recordsPerSecond / 1e6).toFixed(2)}M`,
      ringGbPerS.toFixed(2),
      memcpyGbPerS.toFixed(2),
      (ringGbPerS / memcpyGbPerS).toFixed(2),
      target,
    ]);
  }
  printTable(rows);
  const ring = await ringRoundTrips(100_000);
  const post = await postMessageRoundTrips(50_000);
  console.log('');
  printTable([
    ['round trip (64 B)', 'p50 µs', 'p99 µs', 'p99.9 µs'],
    ['ring pair', ring.p50.toFixed(1), ring.p99.toFixed(1), ring.p999.toFixed(1)],
    ['postMessage ping-pong', post.p50.toFixed(1), post.p99.toFixed(1), post.p999.toFixed(1)],
    [
      'ratio (ring / postMessage)',
      (ring.p50 / post.p50).toFixed(2),
      (ring.p99 / post.p99).toFixed(2),
      (ring.p999 / post.p999).toFixed(2),
    ],
  ]);
  console.log('target: ring p99 <= 1/3 of postMessage p99 (ratio <= 0.33)');
}
