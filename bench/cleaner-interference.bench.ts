import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LeanKafkaProducer } from '../src/cli/bench/lean-kafka-producer.js';
import { type OpenLoopLatency, openLoop, sleepUntil } from '../src/cli/bench/open-loop.js';
import { LOG_CLEANER_NICE } from '../src/engine/log-cleaner-thread.js';
import { buildRecordBatch } from '../src/record/batch-builder.js';
import { startBrokerProcess } from '../tools/broker-process.js';
import { numberFlag } from './support/flags.js';
import { printTable } from './support/mitata-ratios.js';

/**
 * `npm run bench -- cleaner-interference [--seconds=6] [--rounds=3]`: what the log cleaner does to
 * produce latency. One broker (its own process, --fsync never, the cleaner looking for work every
 * 500 ms); a producer sends one 1 KiB record per request at 2,000/s to `measured` while a churn
 * writer sends keyed 16 KiB batches (64 keys, 1 MiB segments) at 200/s to one of two topics:
 * `churn-delete` (no cleaning: the baseline) or `churn-compact` (cleanup.policy=compact, cleanable
 * at once, so the cleaner reads, rewrites and swaps segments all phase long). A third phase is the
 * CEILING: the baseline's load (churn to `churn-delete`) beside another process
 * (bench/support/cleaner-alike.ts, at the cleaner thread's nice value) that spends the CPU time and
 * does the file I/O the cleaner did in the compact phase just before, without touching Pyralog: what
 * background work of that size costs produce latency on this machine anyway. Per round the three
 * phases run in turn; the ratios are the compact and the ceiling phase's p99 over the delete phase's
 * of the same round. Also printed: swaps, the shard's time on them (pyralog_log_cleaner_swap_seconds:
 * the sum, how many took over 250 µs and over 1 ms), and the cleaner's CPU and I/O in the phase.
 */

const RATE_PER_S = 2000;
const CHURN_BATCHES_PER_S = 200;
const CHURN_KEYS = 64;
const RECORDS_PER_CHURN_BATCH = 16;

interface SwapTotals {
  count: number;
  sumSeconds: number;
  /** Swaps that took more than 250 µs, and more than 1 ms, from the histogram's buckets. */
  over250Us: number;
  over1Ms: number;
  /** The cleaner thread's CPU seconds and read plus written bytes (all shards). */
  cleanerCpuSeconds: number;
  cleanerIoBytes: number;
}

async function swapTotals(httpPort: number): Promise<SwapTotals> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const lines = text.split('\n');
  /** The sum of every line starting with `prefix` (one per shard for a labelled counter). */
  const value = (prefix: string) => {
    let sum = 0;
    for (const line of lines) {
      if (line.startsWith(prefix)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
    return sum;
  };
  const count = value('pyralog_log_cleaner_swap_seconds_count ');
  return {
    count,
    sumSeconds: value('pyralog_log_cleaner_swap_seconds_sum '),
    over250Us: count - value('pyralog_log_cleaner_swap_seconds_bucket{le="0.00025"} '),
    over1Ms: count - value('pyralog_log_cleaner_swap_seconds_bucket{le="0.001"} '),
    cleanerCpuSeconds: value('pyralog_log_cleaner_cpu_seconds_total{'),
    cleanerIoBytes: value('pyralog_log_cleaner_io_bytes_total{'),
  };
}

/**
 * Starts cleaner-alike.ts at the cleaner's nice value, to do `ioBytes` of I/O and `cpuMs` of CPU over
 * `seconds`; resolves, once it is ready, with a function that starts it and resolves with its last line.
 */
async function startCleanerAlike(
  dir: string,
  ioBytes: number,
  cpuMs: number,
  seconds: number,
): Promise<() => Promise<string>> {
  const script = fileURLToPath(new URL('./support/cleaner-alike.ts', import.meta.url));
  const child = spawn(
    'nice',
    [
      '-n',
      String(LOG_CLEANER_NICE),
      process.execPath,
      '--import',
      'tsx',
      script,
      dir,
      String(ioBytes),
      String(cpuMs),
      String(seconds),
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      output += text;
      if (output.includes('ready\n')) resolve();
    });
    void exited.then((code) => reject(new Error(`cleaner-alike exited with ${code} before it was ready`)));
  });
  await ready;
  return async () => {
    child.stdin.end('go\n');
    const code = await exited;
    if (code !== 0) throw new Error(`cleaner-alike exited with ${code}`);
    return output.trim().split('\n').at(-1) ?? '';
  };
}

async function createTopic(httpPort: number, name: string, config: Record<string, string>): Promise<void> {
  const response = await fetch(`http://127.0.0.1:${httpPort}/topics`, {
    method: 'POST',
    body: JSON.stringify({ name, partitions: 1, config }),
  });
  if (response.status !== 201) throw new Error(`cannot create ${name}: ${await response.text()}`);
}

/** Keyed batches to `topic` at CHURN_BATCHES_PER_S until `untilMs`. */
async function churn(producer: LeanKafkaProducer, topic: string, untilMs: number): Promise<void> {
  const encoder = new TextEncoder();
  const batches = Array.from({ length: CHURN_KEYS }, (_, key) =>
    buildRecordBatch(
      Array.from({ length: RECORDS_PER_CHURN_BATCH }, (_, index) => ({
        key: encoder.encode(`key-${(key + index) % CHURN_KEYS}`),
        value: new Uint8Array(1024).fill(index),
      })),
    ),
  );
  const startMs = performance.now();
  for (let i = 0; performance.now() < untilMs; i++) {
    await sleepUntil(startMs + (i * 1000) / CHURN_BATCHES_PER_S);
    const ack = await producer.produce(topic, 0, batches[i % CHURN_KEYS]!, 1);
    if (ack.errorCode !== 0) throw new Error(`churn produce failed with error ${ack.errorCode}`);
  }
}

export async function run(args: readonly string[]): Promise<void> {
  const seconds = numberFlag(args, 'seconds', 6);
  const rounds = numberFlag(args, 'rounds', 3);
  execFileSync('sync');
  const dir = mkdtempSync(join(tmpdir(), 'pyralog-cleaner-bench-'));
  const broker = await startBrokerProcess([
    '--data',
    dir,
    '--fsync',
    'never',
    '--log-retention-check-interval-ms',
    '500',
  ]);
  try {
    const segment = { 'segment.bytes': String(1 << 20) };
    await createTopic(broker.httpPort, 'measured', {});
    await createTopic(broker.httpPort, 'churn-delete', segment);
    await createTopic(broker.httpPort, 'churn-compact', {
      ...segment,
      'cleanup.policy': 'compact',
      'min.cleanable.dirty.ratio': '0.01',
      'min.compaction.lag.ms': '0',
    });
    const measured = await LeanKafkaProducer.connect(broker.kafkaPort);
    const churner = await LeanKafkaProducer.connect(broker.kafkaPort);
    const single = buildRecordBatch([{ key: null, value: new Uint8Array(1024).fill(5) }]);
    const send = () => measured.produce('measured', 0, single, 1);
    // Warm the paths and fill the compacted topic so that the first compact phase has work at once.
    await Promise.all([
      openLoop(send, RATE_PER_S, 2),
      churn(churner, 'churn-compact', performance.now() + 2000),
    ]);

    const rows: string[][] = [
      [
        'phase',
        'load',
        'p50 µs',
        'p99 µs',
        'p99.9 µs',
        'max µs',
        'swaps',
        'swap ms (sum)',
        'swaps > 250 µs',
        'swaps > 1 ms',
        'cleaner CPU ms',
        'cleaner I/O MB',
      ],
    ];
    const ratios: string[] = [];
    const ceilingRatios: string[] = [];
    const alikeDir = mkdtempSync(join(tmpdir(), 'pyralog-cleaner-alike-'));
    try {
      for (let round = 1; round <= rounds; round++) {
        const p99ByPhase: Record<string, number> = {};
        let cleanerCpuMs = 0;
        let cleanerIoBytes = 0;
        for (const phase of ['churn-delete', 'churn-compact', 'ceiling']) {
          const topic = phase === 'ceiling' ? 'churn-delete' : phase;
          const startAlike =
            phase === 'ceiling'
              ? await startCleanerAlike(alikeDir, cleanerIoBytes, cleanerCpuMs, seconds)
              : async () => '';
          const before = await swapTotals(broker.httpPort);
          const untilMs = performance.now() + seconds * 1000;
          const [latency, , alike] = await Promise.all([
            openLoop(send, RATE_PER_S, seconds),
            churn(churner, topic, untilMs),
            startAlike(),
          ]);
          const after = await swapTotals(broker.httpPort);
          if (phase === 'churn-compact') {
            cleanerCpuMs = Math.round((after.cleanerCpuSeconds - before.cleanerCpuSeconds) * 1000);
            cleanerIoBytes = after.cleanerIoBytes - before.cleanerIoBytes;
          }
          p99ByPhase[phase] = latency.p99;
          const name = phase === 'ceiling' ? `r${round} CEILING (${alike})` : `r${round} ${phase}`;
          rows.push(rowOf(name, latency, before, after));
        }
        ratios.push((p99ByPhase['churn-compact']! / p99ByPhase['churn-delete']!).toFixed(2));
        ceilingRatios.push((p99ByPhase.ceiling! / p99ByPhase['churn-delete']!).toFixed(2));
      }
    } finally {
      rmSync(alikeDir, { recursive: true, force: true });
    }
    measured.close();
    churner.close();
    console.log(
      `produce at ${RATE_PER_S}/s (1 KiB, acks=1) beside a churn writer at ${CHURN_BATCHES_PER_S} batches/s of 16 KiB, ${seconds} s a phase`,
    );
    printTable(rows);
    console.log(`p99 with the cleaner working / without, per round: ${ratios.join(', ')}`);
    console.log(
      `CEILING, p99 beside another process doing the cleaner's CPU and I/O (nice ${LOG_CLEANER_NICE}) / without, per round: ${ceilingRatios.join(', ')}`,
    );
  } finally {
    await broker.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function rowOf(name: string, latency: OpenLoopLatency, before: SwapTotals, after: SwapTotals): string[] {
  return [
    name,
    loadavg()[0]!.toFixed(2),
    String(latency.p50),
    String(latency.p99),
    String(latency.p999),
    String(latency.max),
    String(after.count - before.count),
    ((after.sumSeconds - before.sumSeconds) * 1000).toFixed(2),
    String(after.over250Us - before.over250Us),
    String(after.over1Ms - before.over1Ms),
    ((after.cleanerCpuSeconds - before.cleanerCpuSeconds) * 1000).toFixed(0),
    ((after.cleanerIoBytes - before.cleanerIoBytes) / 1e6).toFixed(1),
  ];
}
