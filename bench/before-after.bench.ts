import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { LeanKafkaConsumer } from '../src/cli/bench/lean-kafka-consumer.js';
import { LeanKafkaProducer, type PreparedProduce } from '../src/cli/bench/lean-kafka-producer.js';
import { openLoop } from '../src/cli/bench/open-loop.js';
import { buildRecordBatch } from '../src/record/batch-builder.js';
import { type BrokerProcess, startBrokerProcess } from '../tools/broker-process.js';
import { numberFlag, stringFlag } from './support/flags.js';
import { printTable } from './support/mitata-ratios.js';

/**
 * `npm run bench -- before-after --before=DIR [--rounds=4] [--requests=30000]`: this checkout's
 * broker against another checkout's build (DIR holds its `dist/`, e.g. a `git worktree` of an
 * older commit, built), on fresh brokers started alternately, before then after, round by round.
 *
 * What it compares is what the hot path costs and how a fresh broker starts, in figures that a
 * busy machine disturbs least:
 * - CPU time of the broker process (all threads, from /proc/PID/stat) per single-record produce
 *   (acks=1, 8 in flight), per 16 KiB batch produced (4 connections x 8 in flight), and per 16 KiB
 *   fetched back (Fetch v4, 1 MiB per partition);
 * - p99 of each of the first 6 seconds of a fresh broker at 5,000 single-record produces per second,
 *   then of 4 s of steady state (latency: meaningful only on a quiet machine, and printed with the
 *   load average).
 * Each figure is printed per run, and after/before per round: the spread between rounds is the
 * noise a difference has to beat.
 */

const PARTITIONS = 8;
const RATE_PER_S = 5000;
const FIRST_SECONDS = 6;
const STEADY_SECONDS = 4;
const RECORDS_PER_BATCH = 16;
const RECORD_BYTES = 1024;
const CLOCK_TICK_MS = 10;

interface RunFigures {
  singleProduceCpuUs: number;
  batchProduceCpuUs: number;
  fetchCpuUsPer16KiB: number;
  firstSecondsP99Us: number[];
  steadyP99Us: number;
}

/** CPU time (user + system) of a process and all its threads so far, in ms. */
function processCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * CLOCK_TICK_MS;
}

async function createTopic(httpPort: number, name: string): Promise<void> {
  const response = await fetch(`http://127.0.0.1:${httpPort}/topics`, {
    method: 'POST',
    body: JSON.stringify({ name, partitions: PARTITIONS }),
  });
  if (response.status !== 201) throw new Error(`cannot create ${name}: ${await response.text()}`);
}

/** Sends `count` produces of `batch` over `connections` x `inFlight`, rotating the partitions. */
async function produceCount(
  port: number,
  topic: string,
  batch: Uint8Array,
  count: number,
  connections: number,
  inFlight: number,
): Promise<void> {
  const producers = await Promise.all(
    Array.from({ length: connections }, () => LeanKafkaProducer.connect(port)),
  );
  let next = 0;
  try {
    await Promise.all(
      producers.flatMap((producer) =>
        Array.from({ length: inFlight }, async () => {
          const requests: PreparedProduce[] = Array.from({ length: PARTITIONS }, (_, partition) =>
            producer.prepare(topic, [partition], batch, 1),
          );
          while (next < count) {
            const index = next++;
            const ack = await producer.send(requests[index % PARTITIONS]!);
            if (ack.errorCode !== 0) throw new Error(`produce failed with error ${ack.errorCode}`);
          }
        }),
      ),
    );
  } finally {
    for (const producer of producers) producer.close();
  }
}

/** Next offset after the last whole batch of `records` (RecordBatch v2: baseOffset, length, lastOffsetDelta). */
function nextOffsetAfter(records: Uint8Array, fallback: number): number {
  const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
  let at = 0;
  let next = fallback;
  while (at + 27 <= records.length) {
    const length = view.getInt32(at + 8);
    if (at + 12 + length > records.length) break;
    next = Number(view.getBigInt64(at)) + view.getInt32(at + 23) + 1;
    at += 12 + length;
  }
  return next;
}

/** Reads every partition of `topic` from offset 0 up to `recordsPerPartition`; returns the bytes read. */
async function fetchAll(port: number, topic: string, recordsPerPartition: number): Promise<number> {
  const consumer = await LeanKafkaConsumer.connect(port);
  const offsets = new Map<number, number>(
    Array.from({ length: PARTITIONS }, (_, partition) => [partition, 0]),
  );
  let bytes = 0;
  try {
    const deadlineMs = performance.now() + 120_000;
    while ([...offsets.values()].some((offset) => offset < recordsPerPartition)) {
      if (performance.now() > deadlineMs) throw new Error('fetching back took more than 2 minutes');
      for (const fetched of await consumer.fetch(topic, offsets, 100, 1 << 20)) {
        if (fetched.errorCode !== 0) throw new Error(`fetch failed with error ${fetched.errorCode}`);
        bytes += fetched.records.length;
        offsets.set(fetched.partition, nextOffsetAfter(fetched.records, offsets.get(fetched.partition)!));
      }
    }
  } finally {
    consumer.close();
  }
  return bytes;
}

async function measure(broker: BrokerProcess, requests: number): Promise<RunFigures> {
  const pid = broker.child.pid!;
  await createTopic(broker.httpPort, 'latency');
  await createTopic(broker.httpPort, 'singles');
  await createTopic(broker.httpPort, 'batches');
  const single = buildRecordBatch([{ key: null, value: new Uint8Array(RECORD_BYTES).fill(5) }]);
  const batch = buildRecordBatch(
    Array.from({ length: RECORDS_PER_BATCH }, () => ({
      key: null,
      value: new Uint8Array(RECORD_BYTES).fill(7),
    })),
  );

  const producer = await LeanKafkaProducer.connect(broker.kafkaPort);
  const send = (index: number) => producer.produce('latency', index % PARTITIONS, single, 1);
  const firstSecondsP99Us: number[] = [];
  try {
    for (let second = 0; second < FIRST_SECONDS; second++)
      firstSecondsP99Us.push((await openLoop(send, RATE_PER_S, 1)).p99);
    const steadyP99Us = (await openLoop(send, RATE_PER_S, STEADY_SECONDS)).p99;

    let cpuMs = processCpuMs(pid);
    await produceCount(broker.kafkaPort, 'singles', single, requests, 1, 8);
    const singleProduceCpuUs = ((processCpuMs(pid) - cpuMs) * 1000) / requests;
    cpuMs = processCpuMs(pid);
    await produceCount(broker.kafkaPort, 'batches', batch, requests, 4, 8);
    const batchProduceCpuUs = ((processCpuMs(pid) - cpuMs) * 1000) / requests;
    cpuMs = processCpuMs(pid);
    const bytes = await fetchAll(broker.kafkaPort, 'batches', (requests / PARTITIONS) * RECORDS_PER_BATCH);
    const fetchCpuUsPer16KiB = ((processCpuMs(pid) - cpuMs) * 1000 * batch.length) / bytes;
    return { singleProduceCpuUs, batchProduceCpuUs, fetchCpuUsPer16KiB, firstSecondsP99Us, steadyP99Us };
  } finally {
    producer.close();
  }
}

async function runOnFreshBroker(mainFile: string | undefined, requests: number): Promise<RunFigures> {
  execFileSync('sync');
  const dir = mkdtempSync(join(tmpdir(), 'pyralog-before-after-'));
  try {
    const broker = await startBrokerProcess(['--data', dir, '--fsync', 'never'], mainFile);
    try {
      return await measure(broker, requests);
    } finally {
      await broker.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The middle value; the mean of the middle two for an even count. */
function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export async function run(args: readonly string[]): Promise<void> {
  const beforeDir = stringFlag(args, 'before', '');
  if (beforeDir === '') {
    console.log(
      'skipped: needs --before=DIR, a checkout of the commit to compare against, built (npm run build)',
    );
    return;
  }
  const beforeMain = resolve(beforeDir, 'dist/src/cli/main.js');
  if (!existsSync(beforeMain)) throw new Error(`${beforeMain} does not exist: build that checkout first`);
  const rounds = numberFlag(args, 'rounds', 4);
  const requests = Math.ceil(numberFlag(args, 'requests', 30_000) / PARTITIONS) * PARTITIONS;

  const rows: string[][] = [
    [
      'run',
      'load',
      'CPU µs/produce (1 rec)',
      'CPU µs/batch (16 KiB)',
      'CPU µs/16 KiB fetched',
      'p99 of s 1..6 (µs)',
      'steady p99 µs',
    ],
  ];
  const ratios: Record<'single' | 'batch' | 'fetch' | 'first' | 'steady', number[]> = {
    single: [],
    batch: [],
    fetch: [],
    first: [],
    steady: [],
  };
  for (let round = 1; round <= rounds; round++) {
    const before = await runOnFreshBroker(beforeMain, requests);
    rows.push(rowOf(`before r${round}`, before));
    const after = await runOnFreshBroker(undefined, requests);
    rows.push(rowOf(`after r${round}`, after));
    ratios.single.push(after.singleProduceCpuUs / before.singleProduceCpuUs);
    ratios.batch.push(after.batchProduceCpuUs / before.batchProduceCpuUs);
    ratios.fetch.push(after.fetchCpuUsPer16KiB / before.fetchCpuUsPer16KiB);
    ratios.first.push(after.firstSecondsP99Us[0]! / before.firstSecondsP99Us[0]!);
    ratios.steady.push(after.steadyP99Us / before.steadyP99Us);
  }
  console.log(
    `before: ${beforeDir}; after: this checkout; ${requests} requests per CPU figure, fresh broker per run`,
  );
  printTable(rows);
  printTable([
    ['after / before, per round', ...Array.from({ length: rounds }, (_, index) => `r${index + 1}`), 'median'],
    ...Object.entries(ratios).map(([name, values]) => [
      {
        single: 'CPU per single-record produce',
        batch: 'CPU per 16 KiB batch produced',
        fetch: 'CPU per 16 KiB fetched',
        first: 'p99 of the first second',
        steady: 'steady-state p99',
      }[name]!,
      ...values.map((value) => value.toFixed(2)),
      median(values).toFixed(2),
    ]),
  ]);
}

function rowOf(name: string, figures: RunFigures): string[] {
  return [
    name,
    loadavg()[0]!.toFixed(2),
    figures.singleProduceCpuUs.toFixed(1),
    figures.batchProduceCpuUs.toFixed(1),
    figures.fetchCpuUsPer16KiB.toFixed(1),
    figures.firstSecondsP99Us.join(' '),
    String(figures.steadyP99Us),
  ];
}
