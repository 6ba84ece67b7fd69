import { join } from 'node:path';
import { readInt64 } from '../common/offset.js';
import { batchCheckFailureName, checkBatch } from '../record/batch-check.js';
import { BatchHeader } from '../record/batch-header.js';
import { nextBatchBytes } from '../record/batch-walk.js';
import { readLeaderEpochCheckpoint } from './leader-epoch-checkpoint.js';
import { OffsetIndex } from './offset-index.js';
import { listPartitionDirs } from './partition-dirs.js';
import { INDEX_SUFFIX, parseSegmentName, segmentFileName, TIME_INDEX_SUFFIX } from './segment-files.js';
import { storageIo } from './storage-io.js';
import { TimeIndex } from './time-index.js';

/**
 * Offline check of a data directory (`pyralog verify --data DIR`), with the
 * broker stopped: every batch of every segment is walked and checked (length,
 * magic, CRC32C, leader epoch, and that offsets follow on within and across
 * segments), and every index file is checked against its log. Unlike
 * recovery, which stops at the first bad batch, it goes on past damage (it
 * resynchronises on the next position where a whole valid batch starts), so
 * it names every damaged batch, each with its file and byte range.
 *
 * It only reads. What recovery would do about each problem (cut an active
 * segment's tail, rebuild an index, refuse to serve a batch) is the broker's
 * business when it next opens the partition.
 */
export interface Damage {
  /** The damaged file. */
  path: string;
  /** Byte range [fromByte, toByte) that holds no valid batch, or -1 for a whole-file problem. */
  fromByte: number;
  toByte: number;
  problem: string;
}

export interface VerifyReport {
  partitions: number;
  segments: number;
  batches: number;
  damage: Damage[];
}

/** Checks every partition directory under `dataDir` (partition-dirs.ts). */
export function verifyDataDirectory(dataDir: string): VerifyReport {
  const io = storageIo();
  const report: VerifyReport = { partitions: 0, segments: 0, batches: 0, damage: [] };
  for (const dir of listPartitionDirs(dataDir)) {
    let entries: string[];
    try {
      entries = io.listDirectory(dir);
    } catch {
      continue; // a file, not a partition directory
    }
    const baseOffsets = entries
      .map(parseSegmentName)
      .filter((base) => base >= 0)
      .sort((a, b) => a - b);
    if (baseOffsets.length === 0) continue;
    report.partitions++;
    // Batches carry no epoch past the checkpoint's latest (0 without one: a single node's epoch).
    const checkpoint = readLeaderEpochCheckpointReadOnly(dir, entries);
    if (checkpoint.kind === 'damaged') {
      report.damage.push({
        path: join(dir, 'leader-epoch-checkpoint'),
        fromByte: -1,
        toByte: -1,
        problem: `leader-epoch checkpoint ${checkpoint.problem} (the broker rebuilds it on open)`,
      });
    }
    const maxLeaderEpoch =
      checkpoint.kind === 'entries'
        ? Math.max(0, checkpoint.entries.at(-1)?.epoch ?? 0)
        : checkpoint.kind === 'absent'
          ? 0
          : 0x7fff_ffff;
    verifyPartition(dir, baseOffsets, report, maxLeaderEpoch);
  }
  return report;
}

/** The checkpoint, without removing a leftover temporary file (verify only reads). */
function readLeaderEpochCheckpointReadOnly(dir: string, entries: readonly string[]) {
  return readLeaderEpochCheckpoint(
    dir,
    entries.filter((name) => !name.endsWith('.tmp')),
  );
}

function verifyPartition(
  dir: string,
  baseOffsets: readonly number[],
  report: VerifyReport,
  maxLeaderEpoch: number,
): void {
  let expectedOffset = -1;
  for (const baseOffset of baseOffsets) {
    report.segments++;
    const path = join(dir, segmentFileName(baseOffset, '.log'));
    const bytes = storageIo().readFile(path);
    if (expectedOffset > baseOffset) {
      report.damage.push({
        path,
        fromByte: -1,
        toByte: -1,
        problem: `segment starts at offset ${baseOffset}, inside the segment before it (which ends at ${expectedOffset})`,
      });
    }
    expectedOffset = verifySegment(path, bytes, baseOffset, report, maxLeaderEpoch);
    verifyIndexes(dir, baseOffset, bytes.length, report);
  }
}

/** Walks one segment, recording damage and resynchronising past it; returns its next offset. */
function verifySegment(
  path: string,
  bytes: Uint8Array,
  baseOffset: number,
  report: VerifyReport,
  maxLeaderEpoch: number,
): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let position = 0;
  let expectedOffset = baseOffset;
  while (position < bytes.length) {
    const problem = batchProblem(bytes, view, position, expectedOffset, maxLeaderEpoch);
    if (problem === '') {
      const sizeBytes = nextBatchBytes(view, position, bytes.length);
      report.batches++;
      expectedOffset =
        readInt64(view, position + BatchHeader.BASE_OFFSET) +
        view.getInt32(position + BatchHeader.LAST_OFFSET_DELTA) +
        1;
      position += sizeBytes;
      continue;
    }
    const resume = nextValidBatch(bytes, view, position + 1);
    report.damage.push({
      path,
      fromByte: position,
      toByte: resume,
      problem: `${problem} at byte ${position}`,
    });
    if (resume < bytes.length) {
      // Offsets resume from the batch found; a gap is part of the damage already reported.
      expectedOffset = readInt64(view, resume + BatchHeader.BASE_OFFSET);
    }
    position = resume;
  }
  return expectedOffset;
}

/** '' when a whole, valid batch at the expected offset starts at `position`; else what is wrong. */
function batchProblem(
  bytes: Uint8Array,
  view: DataView,
  position: number,
  expectedOffset: number,
  maxLeaderEpoch: number,
): string {
  const checked = checkBatch(bytes, view, position, bytes.length);
  if (checked < 0) return batchCheckFailureName(checked);
  const epoch = view.getInt32(position + BatchHeader.PARTITION_LEADER_EPOCH);
  if (epoch < 0 || epoch > maxLeaderEpoch) {
    return `leader epoch ${epoch} outside 0..${maxLeaderEpoch} (the checkpoint's)`;
  }
  const batchBaseOffset = readInt64(view, position + BatchHeader.BASE_OFFSET);
  if (batchBaseOffset !== expectedOffset)
    return `batch offset ${batchBaseOffset} where ${expectedOffset} was expected`;
  return '';
}

/** The first position at or after `from` where a whole batch passes its checks; the file's end if none. */
function nextValidBatch(bytes: Uint8Array, view: DataView, from: number): number {
  for (let position = from; position + BatchHeader.SIZE_BYTES <= bytes.length; position++) {
    if (view.getInt8(position + BatchHeader.MAGIC) !== BatchHeader.MAGIC_V2) continue;
    if (checkBatch(bytes, view, position, bytes.length) > 0) return position;
  }
  return bytes.length;
}

function verifyIndexes(dir: string, baseOffset: number, logBytes: number, report: VerifyReport): void {
  const indexPath = join(dir, segmentFileName(baseOffset, INDEX_SUFFIX));
  const timeIndexPath = join(dir, segmentFileName(baseOffset, TIME_INDEX_SUFFIX));
  // A missing index is normal for an active segment (written when it closes); a present one must load.
  if (exists(indexPath) && OffsetIndex.readFile(indexPath, logBytes) === null) {
    report.damage.push({
      path: indexPath,
      fromByte: -1,
      toByte: -1,
      problem: 'offset index does not match its log (the broker rebuilds it on open)',
    });
  }
  if (exists(timeIndexPath) && TimeIndex.readFile(timeIndexPath) === null) {
    report.damage.push({
      path: timeIndexPath,
      fromByte: -1,
      toByte: -1,
      problem: 'time index is malformed (the broker rebuilds it on open)',
    });
  }
}

function exists(path: string): boolean {
  try {
    storageIo().readFile(path);
    return true;
  } catch {
    return false;
  }
}
