import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_TOPIC_CONFIG } from '../../src/common/broker-config.js';
import type { PyralogError } from '../../src/common/errors.js';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import { readInt64 } from '../../src/common/offset.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { BatchHeader } from '../../src/record/batch-header.js';
import { nextBatchBytes } from '../../src/record/batch-walk.js';
import { LeaderEpochCache, UNDEFINED_EPOCH } from '../../src/storage/leader-epoch-cache.js';
import {
  formatLeaderEpochCheckpoint,
  LEADER_EPOCH_CHECKPOINT_NAME,
  parseLeaderEpochCheckpoint,
} from '../../src/storage/leader-epoch-checkpoint.js';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { makeTempDir } from '../support/temp-dir.js';

/** The Kafka error code `run` throws, or 'none'. */
function thrownCode(run: () => unknown): number | 'none' {
  try {
    run();
  } catch (error) {
    return (error as PyralogError).kafkaCode;
  }
  return 'none';
}

const batchOf = (records: number): Uint8Array =>
  buildRecordBatch(
    Array.from({ length: records }, (_, i) => ({ key: null, value: new Uint8Array([i & 0xff]) })),
  );

/** (baseOffset, epoch) of every batch in the log. */
function batchEpochs(log: PartitionLog): [number, number][] {
  const found: [number, number][] = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const chunk = log.read(offset, 1 << 20);
    const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let at = 0;
    while (at < chunk.length) {
      const size = nextBatchBytes(view, at, chunk.length);
      found.push([
        readInt64(view, at + BatchHeader.BASE_OFFSET),
        view.getInt32(at + BatchHeader.PARTITION_LEADER_EPOCH),
      ]);
      offset =
        readInt64(view, at + BatchHeader.BASE_OFFSET) + view.getInt32(at + BatchHeader.LAST_OFFSET_DELTA) + 1;
      at += size;
    }
  }
  return found;
}

function allBytes(log: PartitionLog): Uint8Array {
  const parts: Uint8Array[] = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const chunk = log.read(offset, 1 << 20).slice();
    const view = new DataView(chunk.buffer);
    let at = 0;
    while (at < chunk.length) {
      const size = nextBatchBytes(view, at, chunk.length);
      offset =
        readInt64(view, at + BatchHeader.BASE_OFFSET) + view.getInt32(at + BatchHeader.LAST_OFFSET_DELTA) + 1;
      at += size;
    }
    parts.push(chunk);
  }
  return Buffer.concat(parts);
}

describe('leader epoch cache', () => {
  it('given epochs 0@0, 2@10, 5@30, when end offsets are asked, then each follows KIP-279 (largest epoch at or below)', () => {
    const cache = new LeaderEpochCache(
      '/nowhere',
      [
        { epoch: 0, startOffset: 0 },
        { epoch: 2, startOffset: 10 },
        { epoch: 5, startOffset: 30 },
      ],
      true,
    );
    expect(cache.endOffsetFor(5, 42)).toEqual({ leaderEpoch: 5, endOffset: 42 });
    expect(cache.endOffsetFor(2, 42)).toEqual({ leaderEpoch: 2, endOffset: 30 });
    // Epochs this log never had answer with the largest below and the next one's start.
    expect(cache.endOffsetFor(3, 42)).toEqual({ leaderEpoch: 2, endOffset: 30 });
    expect(cache.endOffsetFor(1, 42)).toEqual({ leaderEpoch: 0, endOffset: 10 });
    expect(cache.endOffsetFor(6, 42)).toEqual({ leaderEpoch: UNDEFINED_EPOCH, endOffset: -1 });
    expect(cache.endOffsetFor(-1, 42)).toEqual({ leaderEpoch: UNDEFINED_EPOCH, endOffset: -1 });
    expect(cache.epochFor(9)).toBe(0);
    expect(cache.epochFor(10)).toBe(2);
    expect(cache.epochFor(100)).toBe(5);
  });

  it('given an epoch below the first one known, when its end is asked, then the first epoch start is answered with the epoch asked', () => {
    const cache = new LeaderEpochCache(
      '/nowhere',
      [
        { epoch: 4, startOffset: 7 },
        { epoch: 6, startOffset: 9 },
      ],
      true,
    );
    expect(cache.endOffsetFor(1, 20)).toEqual({ leaderEpoch: 1, endOffset: 7 });
  });

  it('given random checkpoints, when formatted and parsed, then they round-trip; a changed line is refused', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.nat(1000), { maxLength: 20 }),
        fc.uniqueArray(fc.nat(1_000_000), { maxLength: 20 }),
        (e, o) => {
          const n = Math.min(e.length, o.length);
          const epochs = e.slice(0, n).sort((a, b) => a - b);
          const offsets = o.slice(0, n).sort((a, b) => a - b);
          const entries = epochs.map((epoch, i) => ({ epoch, startOffset: offsets[i]! }));
          const text = formatLeaderEpochCheckpoint(entries);
          expect(parseLeaderEpochCheckpoint(text)).toEqual({ kind: 'entries', entries });
          expect(parseLeaderEpochCheckpoint(text.replace(/\n$/, '\n1 x\n')).kind).toBe('damaged');
        },
      ),
    );
    expect(parseLeaderEpochCheckpoint('0\n2\n3 10\n2 20\n').kind).toBe('damaged');
    expect(parseLeaderEpochCheckpoint('1\n0\n').kind).toBe('damaged');
    expect(parseLeaderEpochCheckpoint('0\n1\n').kind).toBe('damaged');
  });
});

describe('partition log leader epochs', () => {
  let cleanup = (): void => {};
  afterEach(() => cleanup());
  const tempDir = (): string => {
    const temp = makeTempDir('epochs');
    cleanup = temp.cleanup;
    return temp.dir;
  };
  const open = (dir: string, fsync: 'never' | 'always' = 'never'): PartitionLog =>
    PartitionLog.open({ dir, config: DEFAULT_TOPIC_CONFIG, fsync });

  it('given a single node, when batches are appended and the log reopened, then they carry epoch 0 and no checkpoint is written', async () => {
    const dir = tempDir();
    const log = open(dir);
    log.append(batchOf(3), 1);
    log.append(batchOf(2), 1);
    expect(batchEpochs(log)).toEqual([
      [0, 0],
      [3, 0],
    ]);
    await log.close();
    expect(existsSync(join(dir, LEADER_EPOCH_CHECKPOINT_NAME))).toBe(false);
    const again = open(dir);
    expect(again.epochEntries()).toEqual([{ epoch: 0, startOffset: 0 }]);
    expect(again.endOffsetForEpoch(0)).toEqual({ leaderEpoch: 0, endOffset: 5 });
    await again.close();
  });

  it('given a leader epoch change, when batches are appended, then they carry the new epoch and the checkpoint records where it began before any of them', async () => {
    const dir = tempDir();
    const log = open(dir);
    log.append(batchOf(3), 1);
    log.setLeaderEpoch(4);
    log.append(batchOf(2), 1);
    expect(readFileSync(join(dir, LEADER_EPOCH_CHECKPOINT_NAME), 'utf8')).toBe('0\n2\n0 0\n4 3\n');
    log.append(batchOf(1), 1);
    expect(batchEpochs(log)).toEqual([
      [0, 0],
      [3, 4],
      [5, 4],
    ]);
    expect(log.endOffsetForEpoch(0)).toEqual({ leaderEpoch: 0, endOffset: 3 });
    expect(log.endOffsetForEpoch(2)).toEqual({ leaderEpoch: 0, endOffset: 3 });
    expect(log.endOffsetForEpoch(4)).toEqual({ leaderEpoch: 4, endOffset: 6 });
    // A stale leader cannot write an older epoch than the log holds.
    expect(thrownCode(() => log.setLeaderEpoch(3))).toBe(KafkaErrorCode.FENCED_LEADER_EPOCH);
    // Recovery after an unclean stop (no close: the active segment is CRC-scanned) keeps every epoch.
    const again = open(dir);
    expect(batchEpochs(again)).toEqual([
      [0, 0],
      [3, 4],
      [5, 4],
    ]);
    expect(again.epochEntries()).toEqual([
      { epoch: 0, startOffset: 0 },
      { epoch: 4, startOffset: 3 },
    ]);
    await again.close();
    await log.close();
  });

  it('given a damaged checkpoint, when the log is opened, then the epochs are rebuilt from the batches and nothing is cut', async () => {
    const dir = tempDir();
    const log = open(dir);
    log.append(batchOf(2), 1);
    log.setLeaderEpoch(2);
    log.append(batchOf(2), 1);
    log.setLeaderEpoch(7);
    log.append(batchOf(2), 1);
    await log.close();
    writeFileSync(join(dir, LEADER_EPOCH_CHECKPOINT_NAME), '0\n3\n0 0\n2 2\n');
    const again = open(dir);
    expect(again.logEndOffset).toBe(6);
    expect(again.recoveryProblems.join()).toContain('leader-epoch checkpoint');
    expect(again.epochEntries()).toEqual([
      { epoch: 0, startOffset: 0 },
      { epoch: 2, startOffset: 2 },
      { epoch: 7, startOffset: 4 },
    ]);
    expect(readFileSync(join(dir, LEADER_EPOCH_CHECKPOINT_NAME), 'utf8')).toBe('0\n3\n0 0\n2 2\n7 4\n');
    await again.close();
  });

  it('given a batch whose epoch was flipped past the checkpoint, when the log recovers, then it is cut there', async () => {
    const dir = tempDir();
    const log = open(dir);
    log.append(batchOf(2), 1);
    log.append(batchOf(2), 1);
    const path = join(dir, '00000000000000000000.log');
    const bytes = readFileSync(path);
    const second =
      new DataView(bytes.buffer, bytes.byteOffset).getInt32(BatchHeader.BATCH_LENGTH) +
      BatchHeader.LOG_OVERHEAD_BYTES;
    new DataView(bytes.buffer, bytes.byteOffset).setInt32(second + BatchHeader.PARTITION_LEADER_EPOCH, 9);
    writeFileSync(path, bytes);
    const again = open(dir);
    expect(again.logEndOffset).toBe(2);
    expect(again.recoveryProblems.join()).toContain('leader epoch 9');
    await again.close();
    await log.close();
  });

  it('given a leader log, when a follower appends its chunks, then offsets, epochs and bytes are kept; a gap, an older epoch or a bad CRC is refused', async () => {
    const leader = open(tempDir());
    const followerTemp = makeTempDir('follower');
    try {
      const follower = PartitionLog.open({
        dir: followerTemp.dir,
        config: DEFAULT_TOPIC_CONFIG,
        fsync: 'never',
      });
      leader.append(batchOf(2), 1);
      leader.setLeaderEpoch(3);
      leader.append(batchOf(3), 1);
      leader.append(batchOf(1), 1);
      const chunk = leader.read(0, 1 << 20).slice();
      expect(follower.appendAsFollower(chunk, 1)).toBe(6);
      expect(Buffer.from(allBytes(follower))).toEqual(Buffer.from(allBytes(leader)));
      expect(follower.epochEntries()).toEqual(leader.epochEntries());
      leader.append(batchOf(1), 1);
      const next = leader.read(6, 1 << 20).slice();
      const gap = leader.read(2, 1 << 20).slice();
      expect(thrownCode(() => follower.appendAsFollower(gap, 1))).toBe(KafkaErrorCode.OFFSET_OUT_OF_RANGE);
      const older = next.slice();
      new DataView(older.buffer).setInt32(BatchHeader.PARTITION_LEADER_EPOCH, 1);
      expect(thrownCode(() => follower.appendAsFollower(older, 1))).toBe(KafkaErrorCode.FENCED_LEADER_EPOCH);
      const corrupt = next.slice();
      corrupt[corrupt.length - 1]! ^= 0xff;
      expect(thrownCode(() => follower.appendAsFollower(corrupt, 1))).toBe(KafkaErrorCode.CORRUPT_MESSAGE);
      expect(follower.logEndOffset).toBe(6);
      expect(follower.appendAsFollower(next, 1)).toBe(7);
      await follower.close();
    } finally {
      followerTemp.cleanup();
      await leader.close();
    }
  });

  it('given batches over several segments, when the log is truncated mid-batch and across segments, then it ends at a batch boundary, epochs past it are forgotten, and a reopen agrees', async () => {
    const dir = tempDir();
    const config = { ...DEFAULT_TOPIC_CONFIG, segmentBytes: 300 };
    const log = PartitionLog.open({ dir, config, fsync: 'always' });
    for (let i = 0; i < 6; i++) log.append(batchOf(3), 1);
    log.setLeaderEpoch(2);
    for (let i = 0; i < 6; i++) log.append(batchOf(3), 1);
    await log.flush();
    expect(log.segmentCount()).toBeGreaterThan(3);
    expect(await log.truncateTo(31)).toBe(30);
    expect(log.logEndOffset).toBe(30);
    expect(log.durableOffset).toBe(30);
    expect(log.epochEntries()).toEqual([
      { epoch: 0, startOffset: 0 },
      { epoch: 2, startOffset: 18 },
    ]);
    expect(await log.truncateTo(17)).toBe(15);
    expect(log.epochEntries()).toEqual([{ epoch: 0, startOffset: 0 }]);
    expect(readFileSync(join(dir, LEADER_EPOCH_CHECKPOINT_NAME), 'utf8')).toBe('0\n1\n0 0\n');
    const before = batchEpochs(log);
    // Appends go on from the cut, in the leader's (new) epoch.
    log.setLeaderEpoch(5);
    log.append(batchOf(2), 1);
    await log.flush();
    expect(log.logEndOffset).toBe(17);
    const again = open(dir);
    expect(batchEpochs(again)).toEqual([...before, [15, 5]]);
    expect(again.epochEntries()).toEqual([
      { epoch: 0, startOffset: 0 },
      { epoch: 5, startOffset: 15 },
    ]);
    await again.close();
    await log.close();
    const closed = open(dir);
    expect(batchEpochs(closed)).toEqual([...before, [15, 5]]);
    expect(await closed.truncateTo(0)).toBe(0);
    expect(closed.logEndOffset).toBe(0);
    closed.append(batchOf(1), 1);
    expect(batchEpochs(closed)).toEqual([[0, 0]]);
    await closed.close();
  });
});
