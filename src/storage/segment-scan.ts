import { readInt64 } from '../common/offset.js';
import { batchCheckFailureName, checkBatch } from '../record/batch-check.js';
import { BatchHeader, batchSizeBytes } from '../record/batch-header.js';
import type { Segment } from './segment.js';
import { storageIo } from './storage-io.js';

/**
 * Walks a segment's batches from `fromPosition` to the end of its file,
 * checking each (length and magic always; the CRC32C too when `verifyCrc`),
 * and that offsets follow on without overlap (with gaps only where the
 * partition is compacted). It stops at the first batch
 * that is torn, corrupt or out of sequence: everything before that point is
 * good, everything from it on is not. The segment's indexes, size and next
 * offset are brought up to date as it goes.
 *
 * This is recovery's workhorse: the full CRC scan of an active segment after
 * an unclean stop, and the short header walk that finds a closed segment's
 * end from its last index entry.
 */
export interface ScanResult {
  /** Position just past the last good batch. */
  validBytes: number;
  /** Why the scan stopped before the end of the file; '' when it reached the end cleanly. */
  problem: string;
}

const CHUNK_BYTES = 1024 * 1024;

export function scanSegment(
  segment: Segment,
  fileBytes: number,
  fromPosition: number,
  fromOffset: number,
  verifyCrc: boolean,
  /** Compacted partitions: a batch may start past where the one before ended (removed records). */
  allowOffsetGaps = false,
  /**
   * The largest partitionLeaderEpoch a batch may carry (the latest epoch of
   * the partition's checkpoint, leader-epoch-checkpoint.ts): the CRC does not
   * cover the field, so a batch past it, below 0, or below the batch before
   * it is damaged. No bound when the checkpoint itself is damaged.
   */
  maxLeaderEpoch = 0x7fff_ffff,
): ScanResult {
  // No bigger than what is left to scan: recovery opens many small segments.
  let buffer = new Uint8Array(
    Math.max(BatchHeader.SIZE_BYTES, Math.min(CHUNK_BYTES, fileBytes - fromPosition)),
  );
  let view = new DataView(buffer.buffer);
  let position = fromPosition;
  let expectedOffset = fromOffset;
  let previousEpoch = 0;
  while (position < fileBytes) {
    if (fileBytes - position < BatchHeader.SIZE_BYTES) return stop(segment, position, 'torn batch header');
    const got = storageIo().read(
      segment.fd,
      buffer,
      0,
      Math.min(buffer.length, fileBytes - position),
      position,
    );
    let at = 0;
    while (got - at >= BatchHeader.SIZE_BYTES) {
      // The raw declared size, checked here before use: it decides whether the buffer must grow.
      const sizeBytes = batchSizeBytes(view, at);
      if (sizeBytes < BatchHeader.SIZE_BYTES)
        return stop(segment, position + at, 'batch length out of range');
      if (sizeBytes > fileBytes - position - at)
        return stop(segment, position + at, 'batch runs past the end of the file');
      if (sizeBytes > got - at) {
        if (at === 0) {
          // A batch larger than the buffer: grow it, then re-read from this batch.
          buffer = new Uint8Array(sizeBytes);
          view = new DataView(buffer.buffer);
        }
        break;
      }
      const checked = checkBatch(buffer, view, at, got, 0x7fff_ffff, verifyCrc);
      if (checked < 0) return stop(segment, position + at, batchCheckFailureName(checked));
      const baseOffset = readInt64(view, at + BatchHeader.BASE_OFFSET);
      const nextOffset = baseOffset + view.getInt32(at + BatchHeader.LAST_OFFSET_DELTA) + 1;
      const epoch = view.getInt32(at + BatchHeader.PARTITION_LEADER_EPOCH);
      if (epoch < previousEpoch || epoch > maxLeaderEpoch) {
        return stop(
          segment,
          position + at,
          `batch leader epoch ${epoch} outside ${previousEpoch}..${maxLeaderEpoch} (the checkpoint's)`,
        );
      }
      previousEpoch = epoch;
      segment.lastLeaderEpoch = epoch;
      const follows = allowOffsetGaps ? baseOffset >= expectedOffset : baseOffset === expectedOffset;
      if (!follows || nextOffset <= baseOffset) {
        return stop(
          segment,
          position + at,
          `batch offset ${baseOffset} where ${expectedOffset} was expected`,
        );
      }
      segment.onAppend(
        position + at,
        baseOffset,
        nextOffset,
        readInt64(view, at + BatchHeader.MAX_TIMESTAMP),
        checked,
      );
      expectedOffset = nextOffset;
      at += checked;
    }
    position += at;
  }
  return { validBytes: position, problem: '' };
}

function stop(segment: Segment, position: number, problem: string): ScanResult {
  segment.sizeBytes = position;
  return { validBytes: position, problem: `${problem} at byte ${position} of ${segment.logPath}` };
}
