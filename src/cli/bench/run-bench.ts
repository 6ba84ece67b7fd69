import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { build, decodeFromCompressedBase64, type Histogram } from 'hdr-histogram-js';
import type { BenchOptions } from './bench-options.js';
import {
  type BrokerScrape,
  type StageProfile,
  scrapeBroker,
  stageDelta,
  type ThreadCpuProfile,
  threadCpuDelta,
} from './broker-profile.js';
import type { LoadWorkerData } from './load-worker.js';

/**
 * Runs one `pyralog bench` scenario against a running broker: load actors in
 * worker threads, a live progress line, merged HDR histograms, and a report
 * (also written as JSON and .hgrm files).
 */
export interface RoleResult {
  records: number;
  bytes: number;
  errors: number;
  recordsPerSecond: number;
  megabytesPerSecond: number;
  latencyUs: {
    p50: number;
    p90: number;
    p99: number;
    p999: number;
    p9999: number;
    max: number;
    mean: number;
  };
}

export interface BenchResult {
  label: string;
  startedAt: string;
  options: BenchOptions;
  producer: RoleResult | null;
  consumer: RoleResult | null;
  /** Records per second acknowledged (or delivered, when only consuming), second by second. */
  throughputSeries: number[];
  generatorCpuPercent: number;
  cores: number;
  profile: StageProfile[];
  /** With --profile: CPU of the broker's acceptor and shard threads over the measured window. */
  threadCpu: ThreadCpuProfile[];
}

const runningFromSource = import.meta.url.endsWith('.ts');

function startActor(workerData: LoadWorkerData): Worker {
  if (runningFromSource) {
    const boot = fileURLToPath(new URL('../../../workers/tsx-boot.mjs', import.meta.url));
    return new Worker(boot, {
      workerData: { ...workerData, pyralogEntry: new URL('./load-worker.ts', import.meta.url).href },
    });
  }
  return new Worker(fileURLToPath(new URL('./load-worker.js', import.meta.url)), { workerData });
}

async function ensureTopic(options: BenchOptions): Promise<void> {
  const response = await fetch(`${options.httpUrl}/topics`, {
    method: 'POST',
    body: JSON.stringify({ name: options.topic, partitions: options.partitions }),
    signal: AbortSignal.timeout(10_000),
  });
  if (response.status !== 201 && response.status !== 409) {
    throw new Error(`cannot create topic ${options.topic}: HTTP ${response.status} ${await response.text()}`);
  }
}

function share(partitions: number, actors: number, index: number): number[] {
  const mine: number[] = [];
  for (let p = 0; p < partitions; p++) if (p % actors === index % partitions) mine.push(p);
  return mine.length > 0 ? mine : [index % partitions];
}

function summarize(
  histogram: Histogram,
  records: number,
  bytes: number,
  errors: number,
  seconds: number,
): RoleResult {
  return {
    records,
    bytes,
    errors,
    recordsPerSecond: records / seconds,
    megabytesPerSecond: bytes / seconds / 1e6,
    latencyUs: {
      p50: histogram.getValueAtPercentile(50),
      p90: histogram.getValueAtPercentile(90),
      p99: histogram.getValueAtPercentile(99),
      p999: histogram.getValueAtPercentile(99.9),
      p9999: histogram.getValueAtPercentile(99.99),
      max: histogram.maxValue,
      mean: Math.round(histogram.mean),
    },
  };
}

export async function runBench(
  options: BenchOptions,
  log: (line: string) => void = console.log,
): Promise<BenchResult> {
  await ensureTopic(options);
  const startupSlackMs = 1500;
  const measureFromMs = performance.timeOrigin + performance.now() + startupSlackMs + options.warmupS * 1000;
  // Scraped when the measured window opens, so that neither the warm-up nor start-up counts.
  const scrapeAtWindow: Promise<BrokerScrape | null> | null = options.profile
    ? new Promise<void>((resolve) =>
        setTimeout(resolve, Math.max(0, measureFromMs - performance.timeOrigin - performance.now())),
      )
        .then(() => scrapeBroker(options.httpUrl))
        // A failed scrape leaves the run without a profile; it must not be an unhandled rejection.
        .catch(() => null)
    : null;
  const stopAtMs = measureFromMs + options.durationS * 1000;
  const cpuBefore = process.cpuUsage();
  const wallBeforeMs = performance.now();
  const actors: { role: 'producer' | 'consumer'; worker: Worker }[] = [];
  for (let i = 0; i < options.consumers && options.scenario !== 'produce'; i++) {
    const partitions = share(options.partitions, options.consumers, i);
    actors.push({
      role: 'consumer',
      worker: startActor({ role: 'consumer', index: i, options, partitions, measureFromMs, stopAtMs }),
    });
  }
  for (let i = 0; i < options.producers; i++) {
    const partitions = share(options.partitions, options.producers, i);
    actors.push({
      role: 'producer',
      worker: startActor({ role: 'producer', index: i, options, partitions, measureFromMs, stopAtMs }),
    });
  }
  const merged = {
    producer: build({
      lowestDiscernibleValue: 1,
      highestTrackableValue: 3_600_000_000,
      numberOfSignificantValueDigits: 3,
    }),
    consumer: build({
      lowestDiscernibleValue: 1,
      highestTrackableValue: 3_600_000_000,
      numberOfSignificantValueDigits: 3,
    }),
  };
  const totals = {
    producer: { records: 0, bytes: 0, errors: 0 },
    consumer: { records: 0, bytes: 0, errors: 0 },
  };
  const series: number[] = [];
  let secondRecords = 0;
  const primary = options.producers > 0 ? 'producer' : 'consumer';
  const ticker = setInterval(() => {
    const nowMs = performance.timeOrigin + performance.now();
    if (nowMs < measureFromMs) {
      process.stderr.write(`\r  warming up… ${Math.ceil((measureFromMs - nowMs) / 1000)} s `);
      secondRecords = 0;
      return;
    }
    series.push(secondRecords);
    process.stderr.write(
      `\r  ${series.length} s: ${secondRecords.toLocaleString('en')} records/s (${((secondRecords * options.recordBytes) / 1e6).toFixed(1)} MB/s)   `,
    );
    secondRecords = 0;
  }, 1000);
  await Promise.all(
    actors.map(
      ({ role, worker }) =>
        new Promise<void>((resolve, reject) => {
          worker.on(
            'message',
            (message: {
              kind: string;
              records?: number;
              bytes?: number;
              errors?: number;
              histogram?: string;
              message?: string;
            }) => {
              if (message.kind === 'progress' && role === primary) secondRecords += message.records ?? 0;
              if (message.kind === 'failed') log(`  ${role} failed: ${message.message}`);
              if (message.kind === 'done') {
                const part = decodeFromCompressedBase64(message.histogram!);
                merged[role].add(part);
                part.destroy();
                totals[role].records += message.records ?? 0;
                totals[role].bytes += message.bytes ?? 0;
                totals[role].errors += message.errors ?? 0;
                worker.terminate().then(() => resolve(), reject);
              }
            },
          );
          worker.once('error', reject);
        }),
    ),
  );
  clearInterval(ticker);
  process.stderr.write('\n');
  const cpu = process.cpuUsage(cpuBefore);
  const wallMs = performance.now() - wallBeforeMs;
  const before = scrapeAtWindow === null ? null : await scrapeAtWindow;
  const after = before !== null ? await scrapeBroker(options.httpUrl).catch(() => null) : null;
  const producedBatches = Math.round(totals.producer.records / Math.max(1, options.batchRecords));
  const result: BenchResult = {
    label: options.label,
    startedAt: new Date().toISOString(),
    options,
    producer:
      options.producers > 0
        ? summarize(
            merged.producer,
            totals.producer.records,
            totals.producer.bytes,
            totals.producer.errors,
            options.durationS,
          )
        : null,
    consumer:
      options.scenario !== 'produce'
        ? summarize(
            merged.consumer,
            totals.consumer.records,
            totals.consumer.bytes,
            totals.consumer.errors,
            options.durationS,
          )
        : null,
    throughputSeries: series,
    generatorCpuPercent: ((cpu.user + cpu.system) / 1000 / wallMs) * 100,
    cores: availableParallelism(),
    profile: before !== null && after !== null ? stageDelta(before.stages, after.stages) : [],
    threadCpu: before !== null && after !== null ? threadCpuDelta(before, after, producedBatches) : [],
  };
  mkdirSync(options.outDir, { recursive: true });
  writeFileSync(join(options.outDir, `${options.label}.json`), `${JSON.stringify(result, null, 2)}\n`);
  for (const role of ['producer', 'consumer'] as const) {
    if (result[role] !== null)
      writeFileSync(
        join(options.outDir, `${options.label}-${role}.hgrm`),
        merged[role].outputPercentileDistribution(5, 1000),
      );
    merged[role].destroy();
  }
  return result;
}

export function formatReport(result: BenchResult): string {
  const lines: string[] = [];
  const o = result.options;
  lines.push(
    `${result.label}: ${o.scenario} over ${o.protocol}, ${o.producers} producer(s), ${o.scenario === 'produce' ? 0 : o.consumers} consumer(s), ` +
      `${o.recordBytes} B records in batches of ${o.batchRecords}, acks=${o.acks}, ${o.rate > 0 ? `open loop at ${o.rate} records/s` : `closed loop, ${o.inFlight} in flight per producer`}, ${o.durationS} s`,
  );
  const row = (name: string, r: RoleResult | null) =>
    r === null
      ? []
      : [
          `  ${name.padEnd(22)} ${r.recordsPerSecond.toFixed(0).padStart(10)} rec/s ${r.megabytesPerSecond.toFixed(1).padStart(8)} MB/s  ` +
            `p50 ${r.latencyUs.p50} p90 ${r.latencyUs.p90} p99 ${r.latencyUs.p99} p99.9 ${r.latencyUs.p999} p99.99 ${r.latencyUs.p9999} max ${r.latencyUs.max} mean ${r.latencyUs.mean} (µs)` +
            (r.errors > 0 ? `  errors ${r.errors}` : ''),
        ];
  lines.push(
    ...row('produce (send → ack)', result.producer),
    ...row('end to end (send → consume)', result.consumer),
  );
  lines.push(
    `  load generator CPU: ${result.generatorCpuPercent.toFixed(0)}% of one core (${result.cores} cores on this machine)`,
  );
  if (result.profile.length > 0) {
    lines.push('  broker stages (mean / p99 bucket, µs):');
    for (const stage of result.profile) {
      lines.push(
        `    ${stage.stage.padEnd(12)} ${stage.meanUs.toFixed(0).padStart(8)} / ≤ ${stage.p99UpperUs === Number.POSITIVE_INFINITY ? '∞' : stage.p99UpperUs.toFixed(0)}  (${stage.count} samples)`,
      );
    }
    const p = result.producer;
    const brokerMeanUs = result.profile
      .filter((s) => s.stage !== 'fetch read')
      .reduce((sum, s) => sum + s.meanUs, 0);
    if (p !== null) {
      const otherUs = Math.max(0, p.latencyUs.mean - brokerMeanUs);
      const largest = [
        ...result.profile.map((s) => ({ name: s.stage, us: s.meanUs })),
        { name: 'network, acceptor and reply ring', us: otherUs },
      ].sort((a, b) => b.us - a.us)[0]!;
      lines.push(
        `    network, acceptor and reply ring (client mean minus shard stages): ${otherUs.toFixed(0)}`,
      );
      lines.push(`  largest stage: ${largest.name} (${largest.us.toFixed(0)} µs mean)`);
    }
  }
  if (result.threadCpu.length > 0) {
    lines.push(
      `  broker CPU per produced batch (µs, every request of the window included): ${result.threadCpu
        .map((t) => `${t.thread} ${t.usPerBatch.toFixed(1)}`)
        .join(', ')}`,
    );
  }
  return lines.join('\n');
}
