import { join } from 'node:path';
import { storageIo } from './storage-io.js';

/**
 * File names in a partition directory `<topic>-<partition>/`:
 *
 *   00000000000000000000.log        RecordBatch v2 batches, exactly as on the wire
 *   00000000000000000000.index      sparse offset index (offset-index.ts)
 *   00000000000000000000.timeindex  sparse time index (time-index.ts)
 *   00000000000000000000.txnindex   aborted and open transactions (txn-index-file.ts)
 *   clean-shutdown                  marker written by a clean close (clean-marker.ts)
 *   00000000000000000000.log.cleaned (and .index.cleaned, .timeindex.cleaned)
 *                                   a cleaned replacement not yet swapped in (log-compaction.ts)
 *   compacted                       empty; closed segments may have offset gaps (compaction)
 *
 * A segment is named by its base offset, zero-padded to 20 digits so that a
 * plain sort of the names is a sort by offset.
 */
export const OFFSET_DIGITS = 20;
export const LOG_SUFFIX = '.log';
export const INDEX_SUFFIX = '.index';
export const TIME_INDEX_SUFFIX = '.timeindex';
export const TXN_INDEX_SUFFIX = '.txnindex';
export const CLEAN_MARKER_NAME = 'clean-shutdown';
/** Appended to a segment's file names by the log cleaner for a replacement not yet swapped in. */
export const CLEANED_SUFFIX = '.cleaned';
/** Present once the cleaner has replaced a segment: closed segments may then have gaps in offsets. */
export const COMPACTED_MARKER_NAME = 'compacted';

const segmentNamePattern = /^(\d{20})\.log$/;

export function segmentFileName(baseOffset: number, suffix: string): string {
  return `${String(baseOffset).padStart(OFFSET_DIGITS, '0')}${suffix}`;
}

export function segmentPath(dir: string, baseOffset: number, suffix: string): string {
  return join(dir, segmentFileName(baseOffset, suffix));
}

/** The base offset a `.log` file name encodes, or -1 when the name is not a segment's. */
export function parseSegmentName(name: string): number {
  const match = segmentNamePattern.exec(name);
  if (match === null) return -1;
  const baseOffset = Number(match[1]);
  return Number.isSafeInteger(baseOffset) ? baseOffset : -1;
}

/** Makes a directory's entries (created, renamed or deleted files) durable. */
export function fsyncDirectory(dir: string): void {
  storageIo().syncDirectory(dir);
}

/** Removes a segment's `.cleaned` files, those that exist; never throws (recovery removes any left). */
export function removeCleanedFiles(dir: string, baseOffset: number): void {
  const io = storageIo();
  for (const suffix of [LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX]) {
    try {
      io.removeFile(segmentPath(dir, baseOffset, suffix + CLEANED_SUFFIX));
    } catch {
      // Recovery removes any left over at the next open.
    }
  }
}
