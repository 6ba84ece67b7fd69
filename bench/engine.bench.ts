import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLoop } from '../src/cli/bench/open-loop.js';
import { type BrokerConfig, DEFAULT_TOPIC_CONFIG, defaultBrokerConfig } from '../src/common/broker-config.js';
import { ShardedEngine } from '../src/engine/sharded-engine.js';
import { buildRecordBatch } from '../src/record/batch-builder.js';
import { PartitionLog } from '../src/storage/partition-log.js';
import { numberFlag, stringFlag } from './support/flags.js';
import { printTable } from './support/mitata-ratios.js';

/**
 * `npm run bench -- engine`: produce throughput through the sharded engine
 * in-process (rings, shard threads, no network) with 1 and 2 shards over 16
 * partitions, 1 KiB records in 16 KiB batches, as a ratio to the storage-only
 * figure of the same run (PartitionLog.append on this thread, same batches,
 * same disk, same fsync policy); then round-trip latency at a fixed offered
 * rate (open loop: each latency counts from the request's scheduled time, so
 * a stall is not hidden by coordinated omission).
 *
 * Flags: --seconds=N (per throughput run, default 3), --rate=N (batches/s for
 * the latency run, default 2000), --fsync=never|always (default never).
 */
const PARTITIONS = 16;
const RECORDS_PER_BATCH = 16;
const RECORD_BYTES = 1024;
const IN_FLIGHT = 128;

function makeBatch(): Uint8Array {
  return buildRecordBatch(
    Array.from({ length: RECORDS_PER_BATCH }, (_, i) => ({
      key: null,
      value: new Uint8Array(RECORD_BYTES).fill(i),
    })),
  );
}

/** Appends batches to 16 logs round-robin on this thread for `seconds`; batches per second. */
async function storageOnly(
  dir: string,
  fsync: 'never' | 'always',
  seconds: number,
  batch: Uint8Array,
): Promise<number> {
  const logs = Array.from({ length: PARTITIONS }, (_, p) =>
    PartitionLog.open({ dir: join(dir, `storage-${p}`), config: DEFAULT_TOPIC_CONFIG, fsync }),
  );
  const copy = new Uint8Array(batch.length);
  let count = 0;
  const endMs = performance.now() + seconds * 1000;
  while (performance.now() < endMs) {
    for (let i = 0; i < 64; i++) {
      copy.set(batch); // the engine copies each batch into a ring: do the same work here
      logs[count % PARTITIONS]!.append(copy, Date.now());
      count++;
    }
    if (fsync === 'always') await new Promise((resolve) => setImmediate(resolve));
  }
  const elapsedS = seconds;
  await Promise.all(logs.map((log) => log.close()));
  return count / elapsedS;
}

function engineConfig(dir: string, shards: number, fsync: 'never' | 'always'): BrokerConfig {
  return { ...defaultBrokerConfig(shards), dataDir: dir, shardCount: shards, fsync, logLevel: 'silent' };
}

/** Closed loop with IN_FLIGHT produces outstanding; batches per second. */
async function engineThroughput(
  dir: string,
  shards: number,
  fsync: 'never' | 'always',
  seconds: number,
  batch: Uint8Array,
): Promise<number> {
  const engine = await ShardedEngine.start(engineConfig(dir, shards, fsync));
  try {
    await engine.createTopic('bench', PARTITIONS);
    let count = 0;
    let errors = 0;
    const endMs = performance.now() + seconds * 1000;
    const worker = async (id: number): Promise<void> => {
      let partition = id % PARTITIONS;
      while (performance.now() < endMs) {
        const outcome = await engine.produce('bench', partition, batch, fsync === 'always' ? -1 : 1);
        if (outcome.errorCode !== 0) errors++;
        count++;
        partition = (partition + 1) % PARTITIONS;
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, (_, i) => worker(i)));
    if (errors > 0) throw new Error(`${errors} produce errors`);
    return count / seconds;
  } finally {
    await engine.stop();
  }
}

/** Open loop at `rate` batches/s for `seconds`; latencies in µs from each request's scheduled time. */
async function engineLatency(
  dir: string,
  shards: number,
  fsync: 'never' | 'always',
  rate: number,
  seconds: number,
  batch: Uint8Array,
) {
  const engine = await ShardedEngine.start(engineConfig(dir, shards, fsync));
  try {
    await engine.createTopic('latency', PARTITIONS);
    return await openLoop(
      (i) => engine.produce('latency', i % PARTITIONS, batch, fsync === 'always' ? -1 : 1),
      rate,
      seconds,
    );
  } finally {
    await engine.stop();
  }
}

export async function run(args: readonly string[]): Promise<void> {
  const seconds = numberFlag(args, 'seconds', 3);
  const rate = numberFlag(args, 'rate', 2000);
  const fsync = stringFlag(args, 'fsync', 'never') as 'never' | 'always';
  const dir = mkdtempSync(join(tmpdir(), 'pyralog-bench-engine-'));
  const batch = makeBatch();
  const mb = (batchesPerS: number): string => ((batchesPerS * batch.length) / 1e6).toFixed(0);
  console.log(
    `disk: ${dir} (os temp dir); fsync=${fsync}; batch ${batch.length} B = ${RECORDS_PER_BATCH} x ${RECORD_BYTES} B records`,
  );
  try {
    const baseline = await storageOnly(dir, fsync, seconds, batch);
    const rows = [['run', 'batches/s', 'records/s', 'MB/s', 'ratio to storage-only']];
    rows.push([
      'storage only (1 thread, 16 logs)',
      baseline.toFixed(0),
      (baseline * RECORDS_PER_BATCH).toFixed(0),
      mb(baseline),
      '1.00',
    ]);
    for (const shards of [1, 2]) {
      const rateS = await engineThroughput(join(dir, `engine-${shards}`), shards, fsync, seconds, batch);
      rows.push([
        `engine, ${shards} shard(s), ${IN_FLIGHT} in flight`,
        rateS.toFixed(0),
        (rateS * RECORDS_PER_BATCH).toFixed(0),
        mb(rateS),
        (rateS / baseline).toFixed(2),
      ]);
    }
    printTable(rows);
    const latency = await engineLatency(join(dir, 'latency'), 2, fsync, rate, seconds, batch);
    console.log(
      `\nround trip at ${rate} batches/s (${rate * RECORDS_PER_BATCH} records/s), 2 shards, open loop: ` +
        `p50 ${latency.p50} µs, p99 ${latency.p99} µs, p99.9 ${latency.p999} µs, max ${latency.max} µs`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
