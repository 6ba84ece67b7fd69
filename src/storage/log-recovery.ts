import { join } from 'node:path';
import type { CleanMarker } from './clean-marker.js';
import { OffsetIndex } from './offset-index.js';
import { Segment } from './segment.js';
import { CLEANED_SUFFIX, COMPACTED_MARKER_NAME, parseSegmentName } from './segment-files.js';
import { type ScanResult, scanSegment } from './segment-scan.js';
import { storageIo } from './storage-io.js';
import { TimeIndex } from './time-index.js';

/**
 * Recovery of a partition directory (DESIGN.md §3):
 *
 * - A closed segment whose index files are present and consistent is
 *   trusted to hold whole batches (a rolled segment's index files are
 *   written only once its log is synced: partition-log.ts roll): the
 *   indexes are loaded and a header walk from the last entry finds its next
 *   offset; its CRCs are checked lazily, when a read first returns each
 *   batch. One without them (stopped before that sync, or damaged) is
 *   CRC-scanned batch by batch and cut at its first bad batch, as an active
 *   segment is, and its indexes rebuilt.
 * - The active segment, after an unclean stop, is scanned batch by batch
 *   with full CRC checks and truncated at the first torn or corrupt batch;
 *   its indexes are rebuilt as it goes.
 * - After a clean stop (the marker is present and the active segment has
 *   exactly the size it records), the active segment is treated like a
 *   closed one: no full scan, so a clean restart is fast.
 *
 * Whatever is cut off is reported in `problems`; nothing that failed a check
 * is ever served.
 */
export interface RecoveredLog {
  segments: Segment[];
  problems: string[];
  /** The log cleaner has replaced segments here: batches may skip offsets (log-compaction.ts). */
  offsetGapsAllowed: boolean;
}

export function recoverSegments(
  dir: string,
  fileNames: readonly string[],
  marker: CleanMarker | null,
  /** The largest leader epoch a batch may carry (segment-scan.ts). */
  maxLeaderEpoch = 0x7fff_ffff,
): RecoveredLog {
  const baseOffsets = fileNames
    .map(parseSegmentName)
    .filter((base) => base >= 0)
    .sort((a, b) => a - b);
  const segments: Segment[] = [];
  const problems: string[] = [];
  const offsetGapsAllowed = fileNames.includes(COMPACTED_MARKER_NAME);
  // A cleaned segment not swapped in before the stop is dropped: the original is still in place (the
  // rename that swaps it is the commit point, log-compaction.ts).
  for (const name of fileNames) {
    if (name.endsWith(CLEANED_SUFFIX)) storageIo().removeFile(join(dir, name));
  }
  for (let i = 0; i < baseOffsets.length; i++) {
    const baseOffset = baseOffsets[i]!;
    const isActive = i === baseOffsets.length - 1;
    const segment = Segment.openExisting(dir, baseOffset);
    const fileBytes = storageIo().sizeOf(segment.fd);
    const cleanActive =
      isActive &&
      marker !== null &&
      marker.activeBaseOffset === baseOffset &&
      marker.activeSizeBytes === fileBytes;
    let result: ScanResult;
    if (isActive && !cleanActive) {
      result = scanSegment(segment, fileBytes, 0, baseOffset, true, offsetGapsAllowed, maxLeaderEpoch);
      segment.verifiedBytes = result.validBytes;
    } else {
      result = walkFromIndexes(segment, fileBytes, offsetGapsAllowed, maxLeaderEpoch);
      if (cleanActive && segment.nextOffset !== marker.logEndOffset) {
        // The marker and the files disagree: trust neither, scan everything.
        resetIndexes(segment);
        result = scanSegment(segment, fileBytes, 0, baseOffset, true, offsetGapsAllowed, maxLeaderEpoch);
        segment.verifiedBytes = result.validBytes;
      }
    }
    if (result.validBytes < fileBytes) {
      problems.push(`truncated ${fileBytes - result.validBytes} bytes: ${result.problem}`);
      storageIo().truncate(segment.fd, result.validBytes);
      storageIo().fsync(segment.fd);
    }
    if (!isActive && segment.sizeBytes === 0) {
      // A closed segment with nothing valid in it holds no offsets: drop it.
      segment.remove();
      continue;
    }
    const previous = segments[segments.length - 1];
    if (previous !== undefined && previous.nextOffset > segment.baseOffset) {
      problems.push(`segment ${segment.logPath} overlaps the one before it`);
    }
    segments.push(segment);
  }
  return { segments, problems, offsetGapsAllowed };
}

function resetIndexes(segment: Segment): void {
  segment.offsetIndex = new OffsetIndex();
  segment.timeIndex = new TimeIndex();
  segment.sizeBytes = 0;
  segment.nextOffset = segment.baseOffset;
}

/** Loads the index files when consistent and walks batch headers from the last entry; else walks from 0. */
export function walkFromIndexes(
  segment: Segment,
  fileBytes: number,
  offsetGapsAllowed: boolean,
  maxLeaderEpoch = 0x7fff_ffff,
): ScanResult {
  const offsetIndex = OffsetIndex.readFile(segment.indexPath, fileBytes);
  const timeIndex = TimeIndex.readFile(segment.timeIndexPath);
  const last = offsetIndex?.lastEntry() ?? null;
  if (
    offsetIndex !== null &&
    timeIndex !== null &&
    last !== null &&
    timeIndex.lastRelativeOffset() === last.relativeOffset
  ) {
    offsetIndex.truncateToPosition(last.position);
    timeIndex.truncateToOffset(last.relativeOffset);
    segment.offsetIndex = offsetIndex;
    segment.timeIndex = timeIndex;
    return scanSegment(
      segment,
      fileBytes,
      last.position,
      segment.baseOffset + last.relativeOffset,
      false,
      offsetGapsAllowed,
      maxLeaderEpoch,
    );
  }
  // No trustworthy index files: the segment was rolled but its log may not have reached the disk before
  // the stop (its indexes are written only after that sync), so check every batch and cut at the first bad.
  resetIndexes(segment);
  const result = scanSegment(
    segment,
    fileBytes,
    0,
    segment.baseOffset,
    true,
    offsetGapsAllowed,
    maxLeaderEpoch,
  );
  segment.verifiedBytes = result.validBytes;
  // Its log may not be durable yet, and its index files are missing: the opener syncs it, then writes them.
  segment.indexesPending = true;
  return result;
}
