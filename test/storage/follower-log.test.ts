import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_TOPIC_CONFIG } from '../../src/common/broker-config.js';
import type { PyralogError } from '../../src/common/errors.js';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import { readInt64, writeInt64 } from '../../src/common/offset.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { BatchHeader } from '../../src/record/batch-header.js';
import { nextBatchBytes } from '../../src/record/batch-walk.js';
import { PartitionLog } from '../../src/storage/partition-log.js';
import type { StorageIo } from '../../src/storage/storage-io.js';
import { useStorageIo } from '../../src/storage/storage-io.js';
import { SimulatedDisk } from '../support/simulated-disk.js';
import { makeTempDir } from '../support/temp-dir.js';
import { xorshift } from '../support/xorshift.js';

/**
 * A follower's log where its leader's is not contiguous: batches past an
 * offset gap (the leader compacted whole batches away) keep the leader's
 * offsets, also across a reopen; and a follower whose log ends below its
 * leader's log start empties its log and starts again there
 * (`resetLogStart`), crash-safely at every step.
 */
const encoder = new TextEncoder();

/** A batch of `records` records at `baseOffset` in leader epoch `epoch` (the CRC covers neither). */
function batchAt(baseOffset: number, records: number, epoch: number, tag: string): Uint8Array {
  const batch = buildRecordBatch(
    Array.from({ length: records }, (_, i) => ({ key: null, value: encoder.encode(`${tag}-${i}`) })),
  );
  const view = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
  writeInt64(view, BatchHeader.BASE_OFFSET, baseOffset);
  view.setInt32(BatchHeader.PARTITION_LEADER_EPOCH, epoch);
  return batch;
}

/** (baseOffset, lastOffset, epoch) of every batch the log serves, read from its start. */
function batchesOf(log: PartitionLog): [number, number, number][] {
  const found: [number, number, number][] = [];
  let offset = log.logStartOffset;
  for (let round = 0; offset < log.logEndOffset && round < 10_000; round++) {
    const chunk = log.read(offset, 1 << 20, true);
    if (chunk.length === 0) break;
    const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let at = 0;
    while (at < chunk.length) {
      const size = nextBatchBytes(view, at, chunk.length);
      const base = readInt64(view, at + BatchHeader.BASE_OFFSET);
      const last = base + view.getInt32(at + BatchHeader.LAST_OFFSET_DELTA);
      found.push([base, last, view.getInt32(at + BatchHeader.PARTITION_LEADER_EPOCH)]);
      offset = last + 1;
      at += size;
    }
  }
  return found;
}

function thrownCode(run: () => unknown): number | 'none' {
  try {
    run();
  } catch (error) {
    return (error as PyralogError).kafkaCode;
  }
  return 'none';
}

describe('a follower log with offset gaps', () => {
  let cleanup = (): void => {};
  afterEach(() => cleanup());
  const tempDir = (): string => {
    const temp = makeTempDir('follower-log');
    cleanup = temp.cleanup;
    return temp.dir;
  };

  it('given random batches with gaps between them, when a follower appends them, then it keeps the leader offsets, serves each offset from the batch holding it or the next one, and a reopen agrees', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ gap: fc.nat(40), records: fc.integer({ min: 1, max: 5 }) }), {
          minLength: 1,
          maxLength: 30,
        }),
        fc.integer({ min: 200, max: 2000 }),
        async (shape, segmentBytes) => {
          const dir = tempDir();
          const config = { ...DEFAULT_TOPIC_CONFIG, segmentBytes };
          const log = PartitionLog.open({ dir, config, fsync: 'always' });
          const expected: [number, number, number][] = [];
          let next = 0;
          for (const [i, { gap, records }] of shape.entries()) {
            const base = next + gap;
            const batch = batchAt(base, records, 2, `b${i}`);
            expect(log.appendAsFollower(batch, 1)).toBe(base + records);
            expected.push([base, base + records - 1, 2]);
            next = base + records;
          }
          await log.flush();
          expect(log.logEndOffset).toBe(next);
          expect(batchesOf(log)).toEqual(expected);
          // An offset inside a gap reads from the next batch; one inside a batch from that batch.
          for (let offset = 0; offset < next; offset += 7) {
            const holding = expected.find(([, last]) => last >= offset)!;
            const chunk = log.read(offset, 1, true);
            expect(readInt64(new DataView(chunk.buffer, chunk.byteOffset), BatchHeader.BASE_OFFSET)).toBe(
              holding[0],
            );
          }
          // Reopened without a clean close (a crash: the marker of a clean stop is missing).
          const again = PartitionLog.open({ dir, config, fsync: 'always' });
          expect(again.recoveryProblems).toEqual([]);
          expect(again.logEndOffset).toBe(next);
          expect(batchesOf(again)).toEqual(expected);
          await again.close();
          await log.close();
          cleanup();
        },
      ),
      { numRuns: 25 },
    );
  });

  it('given a follower log, then a batch starting below its end is refused, and one overlapping it only when the log holds nothing', async () => {
    const log = PartitionLog.open({ dir: tempDir(), config: DEFAULT_TOPIC_CONFIG, fsync: 'never' });
    log.appendAsFollower(batchAt(10, 3, 1, 'a'), 1);
    expect(log.logEndOffset).toBe(13);
    expect(thrownCode(() => log.appendAsFollower(batchAt(12, 3, 1, 'b'), 1))).toBe(
      KafkaErrorCode.OFFSET_OUT_OF_RANGE,
    );
    expect(log.logEndOffset).toBe(13);
    await log.close();
  });
});

describe('a follower log restarted at its leader log start', () => {
  let cleanup = (): void => {};
  afterEach(() => cleanup());
  const tempDir = (): string => {
    const temp = makeTempDir('follower-reset');
    cleanup = temp.cleanup;
    return temp.dir;
  };

  it('given a follower log ending below the leader start, when it is reset there, then it is empty at that offset with no epochs, takes the batch holding it (even one beginning below), and a reopen agrees', async () => {
    const dir = tempDir();
    const config = { ...DEFAULT_TOPIC_CONFIG, segmentBytes: 300 };
    const log = PartitionLog.open({ dir, config, fsync: 'always' });
    let next = 0;
    for (let i = 0; i < 8; i++) {
      log.appendAsFollower(batchAt(next, 3, i < 4 ? 1 : 3, `old${i}`), 1);
      next += 3;
    }
    await log.flush();
    expect(log.segmentCount()).toBeGreaterThan(1);
    expect(await log.resetLogStart(100)).toBe(100);
    expect(log.logStartOffset).toBe(100);
    expect(log.logEndOffset).toBe(100);
    expect(log.highWatermark).toBe(100);
    expect(log.epochEntries()).toEqual([]);
    expect(log.segmentCount()).toBe(1);
    // The leader's log start (100) lies inside its batch 98..102: that batch is taken whole, the log start
    // stays at 100. A batch wholly below 100 is refused.
    expect(thrownCode(() => log.appendAsFollower(batchAt(90, 5, 4, 'below'), 1))).toBe(
      KafkaErrorCode.OFFSET_OUT_OF_RANGE,
    );
    expect(log.appendAsFollower(batchAt(98, 5, 4, 'holding'), 1)).toBe(103);
    expect(log.appendAsFollower(batchAt(103, 2, 5, 'after'), 1)).toBe(105);
    await log.flush();
    expect(log.logStartOffset).toBe(100);
    expect(log.epochEntries()).toEqual([
      { epoch: 4, startOffset: 98 },
      { epoch: 5, startOffset: 103 },
    ]);
    expect(batchesOf(log)).toEqual([
      [98, 102, 4],
      [103, 104, 5],
    ]);
    const again = PartitionLog.open({ dir, config, fsync: 'always' });
    expect(again.recoveryProblems).toEqual([]);
    expect(again.logStartOffset).toBe(100);
    expect(again.logEndOffset).toBe(105);
    expect(again.epochEntries()).toEqual(log.epochEntries());
    await again.close();
    await log.close();
  });

  it('given a truncation below the log start, then the log starts again, empty, at the cut, and the recorded log start moves with it', async () => {
    const dir = tempDir();
    const log = PartitionLog.open({ dir, config: DEFAULT_TOPIC_CONFIG, fsync: 'always' });
    await log.resetLogStart(50);
    log.appendAsFollower(batchAt(50, 4, 2, 'x'), 1);
    await log.flush();
    expect(await log.truncateTo(20)).toBe(20);
    expect(log.logStartOffset).toBe(20);
    expect(log.logEndOffset).toBe(20);
    log.appendAsFollower(batchAt(20, 40, 3, 'y'), 1);
    await log.flush();
    const again = PartitionLog.open({ dir, config: DEFAULT_TOPIC_CONFIG, fsync: 'always' });
    expect(again.logStartOffset).toBe(20);
    expect(again.logEndOffset).toBe(60);
    expect(batchesOf(again)).toEqual([[20, 59, 3]]);
    await again.close();
    await log.close();
  });
});

/**
 * A StorageIo that lets `step` changing operations through and then "dies":
 * the next one throws, and nothing after it reaches the disk.
 */
function dyingAt(disk: SimulatedDisk, step: number): { io: StorageIo; died: () => boolean } {
  const changing = new Set([
    'write',
    'writev',
    'truncate',
    'fsync',
    'fdatasync',
    'removeFile',
    'rename',
    'removeDirectory',
    'makeDirectory',
    'syncDirectory',
  ]);
  let count = 0;
  let dead = false;
  const io = new Proxy(disk, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const changes =
          changing.has(String(property)) || (property === 'open' && args[1] !== 'r' && args[1] !== 'r+');
        if (changes) {
          if (dead || count++ === step) {
            dead = true;
            throw new Error('the process died here');
          }
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { io, died: () => dead };
}

describe('restarting a follower log at its leader log start, crash at every step', () => {
  it('given a power loss at any step of the reset, when the log reopens, then nothing below its end is readable, it ends at or below the old end or at the new start, and the reset then completes', async () => {
    const config = { ...DEFAULT_TOPIC_CONFIG, segmentBytes: 300 };
    const dir = '/sim/topic-0';
    let completedAt = -1;
    for (let step = 0; step < 200 && completedAt < 0; step++) {
      const disk = new SimulatedDisk(xorshift(step + 1));
      disk.autoCompleteSyncs = true;
      const restore = useStorageIo(disk);
      try {
        disk.makeDirectory('/sim');
        const log = PartitionLog.open({ dir, config, fsync: 'always' });
        let next = 0;
        for (let i = 0; i < 6; i++) {
          log.appendAsFollower(batchAt(next, 3, i < 3 ? 1 : 2, `b${i}`), 1);
          next += 3;
        }
        await log.flush();
        const oldEnd = log.logEndOffset;
        const dying = dyingAt(disk, step);
        const restoreDying = useStorageIo(dying.io);
        try {
          await log.resetLogStart(100);
        } catch {
          // The process died inside the reset (or the log stopped on the failed call).
        } finally {
          restoreDying();
        }
        if (!dying.died()) completedAt = step;
        log.retire();
        disk.powerLoss();
        const reopened = PartitionLog.open({ dir, config, fsync: 'always' });
        expect(reopened.recoveryProblems).toEqual([]);
        // Untouched (it died before the first change), or nothing readable: ending at or below the old
        // end (the follower is told again), or at the new start.
        const start = reopened.logStartOffset;
        const end = reopened.logEndOffset;
        const untouched = start === 0 && end === oldEnd && batchesOf(reopened).length === 6;
        expect(untouched || (start === end && (end === 100 || end <= oldEnd))).toBe(true);
        // The follower is told again and finishes the reset; replication goes on from there.
        expect(await reopened.resetLogStart(100)).toBe(100);
        expect(reopened.appendAsFollower(batchAt(100, 2, 3, 'new'), 1)).toBe(102);
        await reopened.flush();
        const last = PartitionLog.open({ dir, config, fsync: 'always' });
        expect(last.logStartOffset).toBe(100);
        expect(batchesOf(last)).toEqual([[100, 101, 3]]);
        expect(last.epochEntries()).toEqual([{ epoch: 3, startOffset: 100 }]);
      } finally {
        restore();
      }
    }
    // The reset took some steps, each of which was a crash point above.
    expect(completedAt).toBeGreaterThan(3);
  });
});
