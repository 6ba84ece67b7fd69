import { fork } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { type OpenLoopLatency, openLoop } from '../src/cli/bench/open-loop.js';
import { defaultBrokerConfig } from '../src/common/broker-config.js';
import { KafkaErrorCode } from '../src/common/kafka-error-code.js';
import {
  BUCKETS_US,
  type HistogramSnapshot,
  histogramQuantileMs,
  readHistogram,
  Stage,
} from '../src/engine/shard-metrics.js';
import { buildRecordBatch } from '../src/record/batch-builder.js';
import { startBroker } from '../src/server/broker.js';
import { DEFAULT_SQL_LIMITS, type SqlLimits } from '../src/sql/sql-limits.js';
import { type ScanStats, SqlService } from '../src/sql/sql-service.js';
import { numberFlag, stringFlag } from './support/flags.js';

/**
 * `npm run bench -- sql`: SQL over a topic against DuckDB reading the same
 * records from a Parquet file, in the same run, and produce latency with and
 * without a heavy query running, beside the ceiling of the machine.
 *
 * 1. Scan: N JSON records (default 1,000,000) in a 2-partition topic;
 *    `SELECT value->>'$.kind', count(*) … GROUP BY 1` through POST /sql
 *    (plan, fetch every batch, load into DuckDB, run; DuckDB in its child
 *    process, the default) and through a SqlService with DuckDB in a worker
 *    thread, against the same query on the topic's own Parquet export read by
 *    a fresh DuckDB, all with one DuckDB thread. Ratio = Parquet ms / topic ms
 *    (1.0 would be as fast as Parquet), best of --runs interleaved runs.
 * 2. Interference (--phases=alone,thread,process,shard,paced,cpu,ceiling,alone
 *    picks and orders them): open-loop produce of one small record per batch (acks=1)
 *    at --rate for --seconds, alone (before and after the rest), and while
 *    queries run back to back: the scan with DuckDB in a worker thread; in
 *    its child process at nice 19; the same with reads paced at --pace bytes/s;
 *    a DuckDB-only query (no topic) in the child process; the scan with every
 *    read through the shard and the acceptor (`shard`, as before segment files
 *    were read in the SQL worker). The ceiling: while
 *    another process, not the broker's and at the same priority, runs the
 *    query over the Parquet file back to back: what any broker sharing these
 *    cores with a heavy query would get. Ratios of the p99s to the first alone.
 */
const KINDS = ['click', 'view', 'buy', 'scroll', 'hover', 'share', 'like', 'comment'];
const QUERY = `SELECT value->>'$.kind' AS kind, count(*) AS n FROM scan GROUP BY kind ORDER BY kind`;
const CPU_ONLY_QUERY = 'SELECT count(*) FROM range(100000000) WHERE range % 7 = 3';

interface TopicRun {
  ms: number;
  loadMs: number;
  decodeMs: number;
  bytes: number;
  shardReads: number;
  fileReads: number;
  acceptorHoldUs: ScanStats['acceptorHoldUs'];
}

/** A shard histogram's change over a span: what the span's requests cost the shard. */
function histogramDelta(after: HistogramSnapshot, before: HistogramSnapshot): HistogramSnapshot {
  return {
    bucketCounts: after.bucketCounts.map((count, i) => count - before.bucketCounts[i]!),
    sumSeconds: after.sumSeconds - before.sumSeconds,
    count: after.count - before.count,
  };
}

function histogramSum(a: HistogramSnapshot, b: HistogramSnapshot): HistogramSnapshot {
  return {
    bucketCounts: a.bucketCounts.map((count, i) => count + b.bucketCounts[i]!),
    sumSeconds: a.sumSeconds + b.sumSeconds,
    count: a.count + b.count,
  };
}

const EMPTY_HISTOGRAM: HistogramSnapshot = {
  bucketCounts: new Array<number>(BUCKETS_US.length + 1).fill(0),
  sumSeconds: 0,
  count: 0,
};

/** `n requests, mean X µs, p50 ≤ Y µs, p99 ≤ Z µs` (bucket bounds) of a shard histogram. */
function describeHistogram(snapshot: HistogramSnapshot): string {
  if (snapshot.count === 0) return 'none';
  const us = (quantile: number): string => {
    const ms = histogramQuantileMs(snapshot, quantile);
    return Number.isFinite(ms) ? `≤ ${Math.round(ms * 1000)}` : '> 1 s';
  };
  return (
    `${snapshot.count} requests, mean ${Math.round((snapshot.sumSeconds / snapshot.count) * 1e6)} µs, ` +
    `p50 ${us(0.5)} µs, p99 ${us(0.99)} µs`
  );
}

/**
 * CPU time (ms) of this process and its children (the SQL processes), from
 * /proc: unlike wall time it barely moves when other work shares the machine.
 * -1 without /proc. Children are counted at the kernel's 10 ms tick.
 */
function cpuMs(): number {
  if (!existsSync('/proc/self/task')) return -1;
  const own = process.cpuUsage();
  let total = (own.user + own.system) / 1000;
  for (const task of readdirSync('/proc/self/task')) {
    for (const pid of readFileSync(`/proc/self/task/${task}/children`, 'utf8').split(' ').filter(Boolean)) {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        total += (Number(fields[11]) + Number(fields[12])) * 10;
      } catch {
        // The child is gone.
      }
    }
  }
  return total;
}

/** Wall and CPU time of one run of `work`. */
async function timed<T>(work: () => Promise<T>): Promise<{ value: T; cpuMs: number }> {
  const before = cpuMs();
  const value = await work();
  return { value, cpuMs: cpuMs() - before };
}

export async function run(args: readonly string[]): Promise<void> {
  const records = numberFlag(args, 'records', 1_000_000);
  const runs = numberFlag(args, 'runs', 3);
  const rate = numberFlag(args, 'rate', 2000);
  const seconds = numberFlag(args, 'seconds', 8);
  const paceBytesPerSec = numberFlag(args, 'pace', 16 * 1024 * 1024);
  // The interference phases, in order; the first must be `alone` (the ratios' base).
  const phaseOrder = stringFlag(args, 'phases', 'alone,thread,process,shard,paced,cpu,ceiling,alone').split(
    ',',
  );
  if (phaseOrder[0] !== 'alone') throw new Error('--phases must start with alone');
  const dir = mkdtempSync(join(tmpdir(), 'pyralog-bench-sql-'));
  const config = {
    ...defaultBrokerConfig(2),
    dataDir: join(dir, 'data'),
    kafkaPort: 0,
    httpPort: 0,
    shardCount: 1,
    fsync: 'never' as const,
    logLevel: 'silent' as const,
    sqlTimeoutMs: 600_000,
    sqlScanBytesMax: 4 * 1024 ** 3,
    sqlMemoryBytes: 2 * 1024 ** 3,
  };
  const broker = await startBroker(config, { kafka: false });
  const base = `http://127.0.0.1:${broker.httpPort}`;
  const limits: SqlLimits = {
    ...DEFAULT_SQL_LIMITS,
    timeoutMs: config.sqlTimeoutMs,
    scanBytesMax: config.sqlScanBytesMax,
    memoryBytes: config.sqlMemoryBytes,
  };
  const inThread = new SqlService(broker.engine, limits, config.fetchMaxBytes, 'thread');
  // Before segment files were read in the SQL worker: every read through the shard and the acceptor.
  const viaShard = new SqlService(broker.engine, limits, config.fetchMaxBytes, 'process', false);
  const paced = new SqlService(
    broker.engine,
    { ...limits, readBytesPerSecond: paceBytesPerSec },
    config.fetchMaxBytes,
    'process',
  );
  try {
    const engine = broker.engine;
    await engine.createTopic('scan', 2);
    await engine.createTopic('latency', 1);
    const encoder = new TextEncoder();
    const perBatch = 1000;
    for (let b = 0; b < records / perBatch; b++) {
      const batch = buildRecordBatch(
        Array.from({ length: perBatch }, (_, i) => {
          const n = b * perBatch + i;
          return {
            key: encoder.encode(`user-${n % 1000}`),
            value: encoder.encode(JSON.stringify({ kind: KINDS[n % KINDS.length], n, amount: n % 97 })),
          };
        }),
      );
      const outcome = await engine.produce('scan', b % 2, batch, 1);
      if (outcome.errorCode !== KafkaErrorCode.NONE) throw new Error(`produce failed: ${outcome.errorCode}`);
    }
    const httpQuery = async (sql = QUERY): Promise<TopicRun> => {
      const started = performance.now();
      const response = await fetch(`${base}/sql`, { method: 'POST', body: JSON.stringify({ sql }) });
      const answer = (await response.json()) as { scan: ScanStats; rows: unknown[][] };
      if (!response.ok || (sql === QUERY && answer.rows.length !== KINDS.length))
        throw new Error(`query failed: ${JSON.stringify(answer)}`);
      return { ms: performance.now() - started, ...answer.scan };
    };
    const serviceQuery = async (service: SqlService, sql = QUERY): Promise<TopicRun> => {
      const started = performance.now();
      const answer = await service.query(sql, 'json');
      if (sql === QUERY && answer.rows?.length !== KINDS.length) throw new Error('query failed');
      return { ms: performance.now() - started, ...answer.scan };
    };
    const parquetFile = join(dir, 'scan.parquet');
    const exported = await fetch(`${base}/topics/scan/export?format=parquet`);
    writeFileSync(parquetFile, new Uint8Array(await exported.arrayBuffer()));
    const duck = await (await DuckDBInstance.create(':memory:', { threads: '1' })).connect();
    const parquetQuery = async (): Promise<number> => {
      const started = performance.now();
      const result = await duck.runAndReadAll(
        QUERY.replace('FROM scan', `FROM read_parquet('${parquetFile}')`),
      );
      if (result.currentRowCount !== KINDS.length) throw new Error('parquet query failed');
      return performance.now() - started;
    };
    // Warm-up: starts the SQL processes and thread and DuckDB in each.
    await httpQuery();
    await serviceQuery(inThread);
    await serviceQuery(viaShard);
    await serviceQuery(paced, 'SELECT 1');
    await parquetQuery();
    const processRuns: TopicRun[] = [];
    const shardRuns: TopicRun[] = [];
    const threadRuns: TopicRun[] = [];
    const parquetRuns: number[] = [];
    const cpu = {
      process: [] as number[],
      shard: [] as number[],
      thread: [] as number[],
      parquet: [] as number[],
    };
    // What each mode's reads cost the shard, from its own histograms (time busy per request).
    const metricsBuffers = broker.engine.hosts.map((host) => host.metricsBuffer);
    const shardStages = (): { fetch: HistogramSnapshot; extents: HistogramSnapshot } => ({
      fetch: readHistogram(metricsBuffers, Stage.FETCH_READ),
      extents: readHistogram(metricsBuffers, Stage.SEGMENT_EXTENTS),
    });
    const shardCost = {
      process: { fetch: EMPTY_HISTOGRAM, extents: EMPTY_HISTOGRAM },
      shard: { fetch: EMPTY_HISTOGRAM, extents: EMPTY_HISTOGRAM },
      thread: { fetch: EMPTY_HISTOGRAM, extents: EMPTY_HISTOGRAM },
    };
    const withShardCost = async <T>(mode: keyof typeof shardCost, work: () => Promise<T>): Promise<T> => {
      const before = shardStages();
      const value = await work();
      const after = shardStages();
      shardCost[mode] = {
        fetch: histogramSum(shardCost[mode].fetch, histogramDelta(after.fetch, before.fetch)),
        extents: histogramSum(shardCost[mode].extents, histogramDelta(after.extents, before.extents)),
      };
      return value;
    };
    for (let i = 0; i < runs; i++) {
      const viaProcess = await withShardCost('process', () => timed(() => httpQuery()));
      processRuns.push(viaProcess.value);
      cpu.process.push(viaProcess.cpuMs);
      const viaParquet = await timed(parquetQuery);
      parquetRuns.push(viaParquet.value);
      cpu.parquet.push(viaParquet.cpuMs);
      const viaThread = await withShardCost('thread', () => timed(() => serviceQuery(inThread)));
      threadRuns.push(viaThread.value);
      cpu.thread.push(viaThread.cpuMs);
      const throughShard = await withShardCost('shard', () => timed(() => serviceQuery(viaShard)));
      shardRuns.push(throughShard.value);
      cpu.shard.push(throughShard.cpuMs);
    }
    const best = (list: TopicRun[]): TopicRun => list.reduce((a, b) => (b.ms < a.ms ? b : a));
    const bestParquet = Math.min(...parquetRuns);
    console.log(`records: ${records} JSON values in 2 partitions, ${best(processRuns).bytes} record bytes`);
    console.log(`query: ${QUERY}`);
    console.log(
      `Parquet (same records, DuckDB read_parquet, 1 thread): best ${bestParquet.toFixed(0)} ms of ${parquetRuns.map((v) => v.toFixed(0)).join(', ')}`,
    );
    for (const [name, list] of [
      ['topic, POST /sql, DuckDB in its process (default)', processRuns],
      ['topic, DuckDB in a worker thread', threadRuns],
      ['topic, its process, every read through the shard (before)', shardRuns],
    ] as const) {
      const top = best(list);
      console.log(
        `${name}: best ${top.ms.toFixed(0)} ms of ${list.map((r) => r.ms.toFixed(0)).join(', ')}; ` +
          `of which reading + loading ${top.loadMs} ms (the SQL worker's own time, its file reads and decoding into DuckDB: ${top.decodeMs} ms), ` +
          `plan + query + answer ${(top.ms - top.loadMs).toFixed(0)} ms; ` +
          `ratio (Parquet ms / topic ms) ${(bestParquet / top.ms).toFixed(3)}`,
      );
    }
    const fewest = (list: number[]): number => Math.min(...list);
    console.log(
      `CPU ms, broker process and its SQL processes together (least of ${runs}): Parquet ${fewest(cpu.parquet).toFixed(0)}, ` +
        `topic in its process ${fewest(cpu.process).toFixed(0)}, topic in a thread ${fewest(cpu.thread).toFixed(0)}, ` +
        `through the shard ${fewest(cpu.shard).toFixed(0)}; ` +
        `CPU ratio (Parquet / topic) process ${(fewest(cpu.parquet) / fewest(cpu.process)).toFixed(3)}, ` +
        `thread ${(fewest(cpu.parquet) / fewest(cpu.thread)).toFixed(3)}, ` +
        `through the shard ${(fewest(cpu.parquet) / fewest(cpu.shard)).toFixed(3)}`,
    );
    console.log(
      `per read, over the ${runs} runs of each (load-insensitive: time each read keeps a thread busy):`,
    );
    for (const [name, list, mode] of [
      ['its process (default)', processRuns, 'process'],
      ['a worker thread', threadRuns, 'thread'],
      ['through the shard (before)', shardRuns, 'shard'],
    ] as const) {
      const holds = list.map((run) => run.acceptorHoldUs);
      console.log(
        `  ${name}: reads ${list[0]!.fileReads} from files + ${list[0]!.shardReads} through the shard a query; ` +
          `acceptor busy per read p50 ${Math.max(...holds.map((h) => h.p50))} µs, ` +
          `p99 ${Math.max(...holds.map((h) => h.p99))} µs, max ${Math.max(...holds.map((h) => h.max))} µs (worst query); ` +
          `shard busy per fetch: ${describeHistogram(shardCost[mode].fetch)}; ` +
          `per SEGMENT_EXTENTS: ${describeHistogram(shardCost[mode].extents)}`,
      );
    }

    const tiny = buildRecordBatch([{ key: null, value: encoder.encode('x'.repeat(100)) }]);
    const produce = (): Promise<unknown> => engine.produce('latency', 0, tiny, 1);
    /** Produce latency while `load` runs back to back (or nothing, when null). */
    const measure = async (load: (() => Promise<unknown>) | null): Promise<[OpenLoopLatency, number]> => {
      let running = load !== null;
      let count = 0;
      const loop = (async () => {
        while (running && load !== null) {
          await load();
          count++;
        }
      })();
      const latency = await openLoop(produce, rate, seconds, 1);
      running = false;
      await loop;
      return [latency, count];
    };
    /** The ceiling: another process at the broker's priority running the query over Parquet. */
    const measureBesideParquetProcess = async (): Promise<[OpenLoopLatency, number]> => {
      const child = fork(
        fileURLToPath(new URL('./support/parquet-query-loop.ts', import.meta.url)),
        [parquetFile, QUERY],
        { execArgv: ['--import', 'tsx'], stdio: 'ignore' },
      );
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      try {
        await new Promise((resolve) => setTimeout(resolve, 500));
        return await measure(null);
      } finally {
        child.kill('SIGKILL');
        await exited;
      }
    };
    const phaseKinds: Record<string, [string, () => Promise<[OpenLoopLatency, number]>]> = {
      alone: ['alone', () => measure(null)],
      thread: ['scan, DuckDB in a worker thread', () => measure(() => serviceQuery(inThread))],
      process: ['scan, DuckDB in its process, nice 19 (default)', () => measure(() => httpQuery())],
      shard: [
        'scan, its process, every read through the shard (before)',
        () => measure(() => serviceQuery(viaShard)),
      ],
      paced: [
        `scan, its process, reads paced at ${(paceBytesPerSec / 2 ** 20).toFixed(0)} MiB/s`,
        () => measure(() => serviceQuery(paced)),
      ],
      cpu: ['DuckDB-only query (no topic), its process', () => measure(() => httpQuery(CPU_ONLY_QUERY))],
      ceiling: ['CEILING: another process, nice 0, the query over Parquet', measureBesideParquetProcess],
    };
    const phases = phaseOrder.map((kind) => {
      const phase = phaseKinds[kind];
      if (phase === undefined)
        throw new Error(`--phases: unknown phase ${kind}; known: ${Object.keys(phaseKinds).join(', ')}`);
      return phase;
    });
    const results: [string, OpenLoopLatency, number][] = [];
    for (const [name, phase] of phases) {
      const [latency, count] = await phase();
      results.push([name, latency, count]);
    }
    const alone = results[0]![1];
    console.log(
      `produce at ${rate}/s (1 record, acks=1), open loop, ${seconds} s each, µs; ratio = p99 / first alone p99:`,
    );
    for (const [name, latency, count] of results) {
      console.log(
        `  ${name.padEnd(58)} p50 ${String(latency.p50).padStart(6)}  p99 ${String(latency.p99).padStart(6)}  ` +
          `p99.9 ${String(latency.p999).padStart(6)}  max ${String(latency.max).padStart(6)}  ` +
          `ratio ${(latency.p99 / alone.p99).toFixed(2)}${count > 0 ? `  (${count} queries)` : ''}`,
      );
    }
    duck.closeSync();
  } finally {
    await inThread.close();
    await viaShard.close();
    await paced.close();
    await broker.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
