import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_TOPIC_CONFIG, type TopicConfig } from '../src/common/broker-config.js';
import { buildRecordBatch } from '../src/record/batch-builder.js';
import { finalizeClean } from '../src/storage/clean-finalize.js';
import { cleanAndPrepare } from '../src/storage/clean-prepare.js';
import { cleanSegments } from '../src/storage/log-cleaner.js';
import { PartitionLog } from '../src/storage/partition-log.js';
import { numberFlag } from './support/flags.js';
import { printTable } from './support/mitata-ratios.js';

/**
 * `npm run bench -- clean-swap [--jobs=40] [--segments=12]`: how long the shard thread is held by the
 * swap of one cleaner job, on the real file system. Each job cleans a copy of the same compacted
 * partition (`--segments` closed segments of 256 KiB, 64 keys, 1 KiB values) and is swapped in two
 * ways, alternating job by job in the same run:
 * - `shard part` (what the broker does now): the cleaner thread's preparation and finalize are left
 *   out of the timing, only `commitClean` (a rename and a pointer swap per segment) is timed;
 * - `whole swap on one thread` (the baseline: everything a thread holding the shard would do if the
 *   preparation and finalize ran there, i.e. marker, index removals, three directory syncs, renames):
 *   `finishClean` on an outcome that was not prepared.
 * Printed: p50, p90, p99 and max per job in µs, and the ratio of the medians.
 */
const MiB = 1024 * 1024;

function config(): TopicConfig {
  return {
    ...DEFAULT_TOPIC_CONFIG,
    cleanupPolicy: 'compact',
    segmentBytes: 256 * 1024,
    minCleanableDirtyRatio: 0,
    minCompactionLagMs: 0,
  };
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

export async function run(args: readonly string[]): Promise<void> {
  const jobs = numberFlag(args, 'jobs', 40);
  const segments = numberFlag(args, 'segments', 12);
  const root = mkdtempSync(join(tmpdir(), 'pyralog-clean-swap-bench-'));
  try {
    const template = join(root, 'template');
    const log = PartitionLog.open({ dir: template, config: config(), fsync: 'never' });
    const encoder = new TextEncoder();
    const value = new Uint8Array(1024).fill(3);
    while (log.segmentRanges().length <= segments) {
      const first = log.logEndOffset;
      log.append(buildRecordBatch([{ key: encoder.encode(`k${first % 64}`), value }]), Date.now());
    }
    await log.close();
    const timesUs: Record<'shard' | 'whole', number[]> = { shard: [], whole: [] };
    for (let job = 0; job < jobs * 2; job++) {
      const side = job % 2 === 0 ? 'shard' : 'whole';
      const dir = join(root, `job-${job}`);
      cpSync(template, dir, { recursive: true });
      const copy = PartitionLog.open({ dir, config: config(), fsync: 'never' });
      const planned = copy.planClean(Date.now(), 0);
      if (planned === null) throw new Error('nothing to clean');
      if (side === 'shard') {
        const outcome = await cleanAndPrepare(planned);
        const startMs = performance.now();
        const swap = copy.commitClean(outcome);
        timesUs.shard.push((performance.now() - startMs) * 1000);
        if (swap.finalize !== null) finalizeClean(swap.finalize);
        copy.endClean();
      } else {
        const outcome = await cleanSegments(planned);
        const startMs = performance.now();
        copy.finishClean(outcome);
        timesUs.whole.push((performance.now() - startMs) * 1000);
      }
      await copy.close();
      rmSync(dir, { recursive: true, force: true });
    }
    const rows = [['swap of one job', 'p50 µs', 'p90 µs', 'p99 µs', 'max µs', 'ratio of medians']];
    const medianOf = (side: 'shard' | 'whole') =>
      quantile(
        [...timesUs[side]].sort((a, b) => a - b),
        0.5,
      );
    for (const side of ['whole', 'shard'] as const) {
      const sorted = [...timesUs[side]].sort((a, b) => a - b);
      rows.push([
        side === 'shard' ? 'shard part (rename + pointer swap)' : 'whole swap on one thread (baseline)',
        quantile(sorted, 0.5).toFixed(0),
        quantile(sorted, 0.9).toFixed(0),
        quantile(sorted, 0.99).toFixed(0),
        sorted.at(-1)!.toFixed(0),
        (medianOf(side) / medianOf('whole')).toFixed(3),
      ]);
    }
    console.log(
      `${jobs} jobs a side, ${segments} closed segments of ${(config().segmentBytes / MiB).toFixed(2)} MiB each, 64 keys`,
    );
    printTable(rows);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
