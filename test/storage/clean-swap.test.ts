import { cpSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_TOPIC_CONFIG, type TopicConfig } from '../../src/common/broker-config.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { CompressionCodec } from '../../src/record/batch-header.js';
import { buildCompressedBatch } from '../../src/record/compression.js';
import { finalizeClean } from '../../src/storage/clean-finalize.js';
import { cleanAndPrepare } from '../../src/storage/clean-prepare.js';
import { FaultyStorageIo, parseFaultRules } from '../../src/storage/faulty-storage-io.js';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { type StorageIo, storageIo, useStorageIo } from '../../src/storage/storage-io.js';
import { expectedAfterClean, type ModelRecord, readAllRecords, recordsOf } from '../support/compacted-log.js';
import { CrashingStorageIo } from '../support/crashing-storage.js';
import { makeTempDir } from '../support/temp-dir.js';

/**
 * The swap protocol of log compaction (log-compaction.ts): the cleaner thread
 * prepares (cleaned files, marker, index files removed, one directory sync),
 * the shard commits (a rename and a pointer swap per segment), the cleaner
 * finalizes (directory syncs, index files renamed in). Here: what the shard's
 * part does and does not do, a crash after every single step, and reads
 * interleaved with every phase.
 */
const KEY_COUNT = 5;
const NOW_MS = 1_000_000;
const encoder = new TextEncoder();

function compactConfig(overrides: Partial<TopicConfig> = {}): TopicConfig {
  return {
    ...DEFAULT_TOPIC_CONFIG,
    cleanupPolicy: 'compact',
    segmentBytes: 1024,
    minCleanableDirtyRatio: 0,
    minCompactionLagMs: 0,
    ...overrides,
  };
}

/** Which key the record at an offset has: `k<o % 5>` by default (most records superseded). */
type KeyOf = (offset: number) => string;
const fewKeys: KeyOf = (offset) => `k${offset % KEY_COUNT}`;

/**
 * Appends `count` records, key `keyOf(o)` and value `v<o>` (then `padBytes` of padding) at offset o, two
 * per batch, every third gzip.
 */
async function fill(
  log: PartitionLog,
  count: number,
  keyOf: KeyOf = fewKeys,
  padBytes = 0,
): Promise<ModelRecord[]> {
  const pad = '.'.repeat(padBytes);
  const history: ModelRecord[] = [];
  for (let i = 0; i < count / 2; i++) {
    const first = log.logEndOffset;
    const records = [0, 1].map((r) => ({
      key: encoder.encode(keyOf(first + r)),
      value: encoder.encode(`v${first + r}${pad}`),
      timestampMs: NOW_MS,
    }));
    const batch =
      i % 3 === 2 ? buildCompressedBatch(records, CompressionCodec.GZIP) : buildRecordBatch(records);
    log.append(batch, NOW_MS);
    for (const r of [0, 1]) {
      history.push({
        offset: first + r,
        key: keyOf(first + r),
        value: `v${first + r}${pad}`,
        timestampMs: NOW_MS,
      });
    }
  }
  await log.flush();
  // The roll syncs run on libuv's pool: let them finish so the closed segments are cleanable.
  await new Promise((resolve) => setTimeout(resolve, 30));
  return history;
}

function segmentBases(dir: string): number[] {
  return readdirSync(dir)
    .filter((name) => /^\d{20}\.log$/.test(name))
    .map((name) => Number(name.slice(0, 20)))
    .sort((a, b) => a - b);
}

/** The offsets served, grouped by the segment (base offset) they lie in. */
function offsetsBySegment(records: readonly ModelRecord[], bases: readonly number[]): Map<number, string> {
  const groups = new Map<number, number[]>(bases.map((base) => [base, []]));
  for (const record of records) {
    let base = bases[0]!;
    for (const candidate of bases) if (candidate <= record.offset) base = candidate;
    groups.get(base)!.push(record.offset);
  }
  return new Map([...groups].map(([base, offsets]) => [base, offsets.join(',')]));
}

/** Every record served is the one written at its offset. */
function expectWritten(records: readonly ModelRecord[], keyOf: KeyOf = fewKeys): void {
  for (const record of records) {
    expect(record.key).toBe(keyOf(record.offset));
    expect(record.value!.replace(/\.*$/, '')).toBe(`v${record.offset}`);
  }
}

describe('the swap of cleaned segments', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  });
  const tempDir = (prefix: string) => {
    const temp = makeTempDir(prefix);
    cleanups.push(temp.cleanup);
    return temp.dir;
  };

  it('given a prepared job, when the shard commits it, then it renames each cleaned log and does nothing else that touches the disk', async () => {
    const dir = tempDir('swap-commit');
    const log = PartitionLog.open({ dir, config: compactConfig(), fsync: 'never' });
    try {
      const history = await fill(log, 400);
      // Park every segment: the commit must reopen the originals it renames over (one open each).
      expect(log.parkFiles()).toBe(true);
      const job = log.planClean(NOW_MS, 0)!;
      const outcome = await cleanAndPrepare(job);
      const replaced = outcome.segments.filter((segment) => segment.replaced).length;
      expect(replaced).toBeGreaterThanOrEqual(5);
      const inner = storageIo();
      const calls = new Map<string, number>();
      const counting = new Proxy(inner, {
        get(target, name: string) {
          const value = target[name as keyof StorageIo];
          if (typeof value !== 'function') return value;
          return (...args: unknown[]) => {
            calls.set(name, (calls.get(name) ?? 0) + 1);
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        },
      });
      const restore = useStorageIo(counting);
      let swap: ReturnType<PartitionLog['commitClean']>;
      try {
        swap = log.commitClean(outcome);
      } finally {
        restore();
      }
      expect(swap.problems).toEqual([]);
      expect(swap.segmentsReplaced).toBe(replaced);
      // One rename per segment, one open per parked original, its close handed to libuv's pool; nothing else.
      expect(Object.fromEntries(calls)).toEqual({
        rename: replaced,
        open: replaced,
        closeInBackground: replaced,
      });
      // Reads between the commit and the finalize see the cleaned log.
      const cleanableEnd = job.segments.at(-1)!.baseOffset;
      const lastJobSegmentEnd = segmentBases(dir).find((base) => base > cleanableEnd)!;
      const expected = expectedAfterClean(
        history,
        lastJobSegmentEnd,
        NOW_MS,
        DEFAULT_TOPIC_CONFIG.deleteRetentionMs,
      );
      expect(readAllRecords(log)).toEqual(expected);
      // Retention waits for the finalize; so does the next job.
      expect(log.cleaning).toBe(true);
      expect(log.planClean(NOW_MS, 0)).toBeNull();
      expect(finalizeClean(swap.finalize!).problems).toEqual([]);
      log.endClean();
      expect(log.cleaning).toBe(false);
      expect(readdirSync(dir).filter((name) => name.endsWith('.cleaned'))).toEqual([]);
      // Every segment has its index files again: a reopen trusts them and serves the same records.
      for (const base of segmentBases(dir).slice(0, -1)) {
        expect(readdirSync(dir)).toContain(`${String(base).padStart(20, '0')}.index`);
        expect(readdirSync(dir)).toContain(`${String(base).padStart(20, '0')}.timeindex`);
      }
      await log.close();
      const reopened = PartitionLog.open({ dir, config: compactConfig(), fsync: 'never' });
      expect(reopened.recoveryProblems).toEqual([]);
      expect(readAllRecords(reopened)).toEqual(expected);
      await reopened.close();
    } finally {
      await log.close();
    }
  });

  it('given a crash after any single step of cleaning, preparing, committing or finalizing, then the reopened log holds each segment either as it was or as cleaned, never both or neither', async () => {
    // Segments of 16 KiB (index entries every 4 KiB) that lose about a tenth each: every tenth record has
    // the one key `hot`, the others keys of their own. So a cleaned log is still longer than its original's
    // last index entry, and an index file paired with the wrong log would load and mislead recovery.
    const keyOf: KeyOf = (offset) => (offset % 10 === 0 ? 'hot' : `k${offset}`);
    const crashConfig = compactConfig({ segmentBytes: 16 * 1024 });
    const template = tempDir('swap-crash-template');
    {
      const log = PartitionLog.open({ dir: template, config: crashConfig, fsync: 'never' });
      await fill(log, 360, keyOf, 200);
      await log.close();
    }
    const bases = segmentBases(template);
    // A process crash keeps the page cache, so syncs change nothing this model can see: during these runs they
    // reach no disk (they still count as crash points), which keeps the test fast.
    const noSyncs: StorageIo = {
      ...storageIo(),
      fsync: () => {},
      syncDirectory: () => {},
      fdatasync: (_fd, done) => done(null),
    };
    /** Runs the whole protocol in a copy of the template, crashing after `steps` changing operations. */
    const runCrashingAfter = async (steps: number) => {
      const dir = join(tempDir('swap-crash'), 'log');
      cpSync(template, dir, { recursive: true });
      const restoreNoSyncs = useStorageIo(noSyncs);
      try {
        const log = PartitionLog.open({ dir, config: crashConfig, fsync: 'never' });
        // Writes are not crash points of their own: a crash between two writes of a `.cleaned` file leaves
        // what a crash before its fsync (a step) leaves.
        const crashing = new CrashingStorageIo(noSyncs, steps, false);
        const restore = useStorageIo(crashing);
        try {
          const job = log.planClean(NOW_MS, 0)!;
          const outcome = await cleanAndPrepare(job);
          const swap = log.commitClean(outcome);
          if (swap.finalize !== null) finalizeClean(swap.finalize);
          log.endClean();
        } catch (error) {
          if (!crashing.crashed) throw error;
        } finally {
          restore();
        }
        await log.abandon();
        const reopened = PartitionLog.open({ dir, config: crashConfig, fsync: 'never' });
        try {
          const served = readAllRecords(reopened);
          return {
            crashed: crashing.crashed,
            crashedAt: crashing.crashedAt,
            steps: crashing.steps,
            problems: reopened.recoveryProblems,
            leftovers: readdirSync(dir).filter((name) => name.endsWith('.cleaned')),
            bases: segmentBases(dir),
            logEnd: reopened.logEndOffset,
            served,
          };
        } finally {
          await reopened.close();
        }
      } finally {
        restoreNoSyncs();
      }
    };
    const uncleaned = await runCrashingAfter(0);
    const complete = await runCrashingAfter(Number.POSITIVE_INFINITY);
    expect(complete.crashed).toBe(false);
    const asWas = offsetsBySegment(uncleaned.served, bases);
    const asCleaned = offsetsBySegment(complete.served, bases);
    const changed = bases.filter((base) => asWas.get(base) !== asCleaned.get(base));
    expect(changed.length).toBeGreaterThanOrEqual(3);
    const totalSteps = complete.steps;
    const mixes = new Set<string>();
    for (let steps = 0; steps < totalSteps; steps++) {
      const run = await runCrashingAfter(steps);
      const where = `crash before step ${steps + 1} of ${totalSteps} (${run.crashedAt})`;
      expect(run.crashed, where).toBe(true);
      expect(run.problems, where).toEqual([]);
      expect(run.leftovers, where).toEqual([]);
      expect(run.bases, where).toEqual(bases);
      expect(run.logEnd, where).toBe(uncleaned.logEnd);
      expectWritten(run.served, keyOf);
      const now = offsetsBySegment(run.served, bases);
      let mix = '';
      for (const base of bases) {
        const served = now.get(base);
        expect([asWas.get(base), asCleaned.get(base)], `${where}: segment ${base}`).toContain(served);
        mix += served === asCleaned.get(base) && served !== asWas.get(base) ? 'c' : 'o';
      }
      mixes.add(mix);
    }
    // The crashes landed before, between and after the segments' commit points.
    expect(mixes.size).toBeGreaterThanOrEqual(changed.length + 1);
  }, 120_000);

  it('given reads and parked files at every phase of the swap, then every read is correct: all records before the commit, the cleaned log after', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 60, max: 300 }),
        fc.array(
          fc.array(fc.oneof(fc.constant('park' as const), fc.integer({ min: 0, max: 1000 })), {
            maxLength: 6,
          }),
          {
            minLength: 4,
            maxLength: 4,
          },
        ),
        async (recordCount, phases) => {
          const dir = tempDir('swap-reads');
          const log = PartitionLog.open({ dir, config: compactConfig(), fsync: 'never' });
          try {
            const history = await fill(log, recordCount - (recordCount % 2));
            const job = log.planClean(NOW_MS, 0);
            if (job === null) return;
            const cleanedEnd = segmentBases(dir).find((base) => base > job.segments.at(-1)!.baseOffset)!;
            const after = expectedAfterClean(
              history,
              cleanedEnd,
              NOW_MS,
              DEFAULT_TOPIC_CONFIG.deleteRetentionMs,
            );
            const check = (actions: readonly ('park' | number)[], expected: readonly ModelRecord[]) => {
              for (const action of actions) {
                if (action === 'park') {
                  log.parkFiles();
                  continue;
                }
                // A read from any offset returns the batch holding it, or the next one past a gap.
                const offset = Math.min(log.logEndOffset - 1, Math.floor((action / 1000) * log.logEndOffset));
                const { records } = recordsOf(log.read(offset, 512), offset);
                expectWritten(records);
                const wanted = expected.filter((record) => record.offset >= offset);
                expect(records).toEqual(wanted.slice(0, records.length));
              }
              expect(readAllRecords(log)).toEqual(expected);
            };
            check(phases[0]!, history);
            const outcome = await cleanAndPrepare(job);
            check(phases[1]!, history);
            const swap = log.commitClean(outcome);
            expect(swap.problems).toEqual([]);
            check(phases[2]!, after);
            if (swap.finalize !== null) expect(finalizeClean(swap.finalize).problems).toEqual([]);
            check(phases[3]!, after);
            log.endClean();
            check(phases[3]!, after);
          } finally {
            await log.close();
          }
          const reopened = PartitionLog.open({ dir, config: compactConfig(), fsync: 'never' });
          expect(reopened.recoveryProblems).toEqual([]);
          await reopened.close();
        },
      ),
      { numRuns: 20 },
    );
  }, 60_000);

  it('given the directory sync after the commit fails, then no cleaned index file is given a log name (a power loss could still undo the rename), and a reopen scans and serves the cleaned log', async () => {
    const dir = tempDir('swap-finalize-sync');
    const log = PartitionLog.open({ dir, config: compactConfig(), fsync: 'never' });
    const history = await fill(log, 300);
    const job = log.planClean(NOW_MS, 0)!;
    const swap = log.commitClean(await cleanAndPrepare(job));
    expect(swap.finalize!.committedBases.length).toBeGreaterThan(3);
    const restore = useStorageIo(new FaultyStorageIo(storageIo(), parseFaultRules('op=sync,code=EIO')));
    let problems: string[];
    try {
      problems = finalizeClean(swap.finalize!).problems;
    } finally {
      restore();
    }
    log.endClean();
    expect(problems.join('\n')).toContain('directory sync after the swap failed');
    const names = readdirSync(dir);
    expect(names.filter((name) => name.endsWith('.cleaned'))).toEqual([]);
    for (const base of swap.finalize!.committedBases) {
      expect(names).not.toContain(`${String(base).padStart(20, '0')}.index`);
      expect(names).not.toContain(`${String(base).padStart(20, '0')}.timeindex`);
    }
    const cleanedEnd = segmentBases(dir).find((base) => base > job.segments.at(-1)!.baseOffset)!;
    const expected = expectedAfterClean(history, cleanedEnd, NOW_MS, DEFAULT_TOPIC_CONFIG.deleteRetentionMs);
    expect(readAllRecords(log)).toEqual(expected);
    await log.abandon();
    const reopened = PartitionLog.open({ dir, config: compactConfig(), fsync: 'never' });
    expect(reopened.recoveryProblems).toEqual([]);
    expect(readAllRecords(reopened)).toEqual(expected);
    await reopened.close();
  });

  it('given compact,delete with retention due while the swap is being finalized, then retention waits for the finalize and leaves no stray index files', async () => {
    const dir = tempDir('swap-retention');
    const config = compactConfig({ cleanupPolicy: 'compact,delete', retentionMs: 1000 });
    const log = PartitionLog.open({ dir, config, fsync: 'never' });
    try {
      await fill(log, 300);
      const job = log.planClean(NOW_MS, 0)!;
      const swap = log.commitClean(await cleanAndPrepare(job));
      const before = segmentBases(dir);
      log.enforceRetention(NOW_MS + 10_000);
      expect(segmentBases(dir)).toEqual(before);
      finalizeClean(swap.finalize!);
      log.endClean();
      log.enforceRetention(NOW_MS + 10_000);
      expect(segmentBases(dir).length).toBe(1);
      const strays = readdirSync(dir).filter((name) => /\.(time)?index$/.test(name));
      const active = `${String(segmentBases(dir)[0]).padStart(20, '0')}`;
      expect(strays.every((name) => name.startsWith(active))).toBe(true);
    } finally {
      await log.close();
    }
  });
});
