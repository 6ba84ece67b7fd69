import type { TopicConfig } from '../common/broker-config.js';
import { errorMessage } from '../common/errors.js';
import type { CleanJob, CleanOutcome } from './log-cleaner.js';
import { walkFromIndexes } from './log-recovery.js';
import { Segment } from './segment.js';
import {
  CLEANED_SUFFIX,
  COMPACTED_MARKER_NAME,
  fsyncDirectory,
  INDEX_SUFFIX,
  LOG_SUFFIX,
  segmentPath,
  TIME_INDEX_SUFFIX,
} from './segment-files.js';
import { storageIo } from './storage-io.js';
import { writeFileSynced } from './write-at.js';

/**
 * The shard's side of log compaction (cleanup.policy=compact): choosing what
 * the cleaner may clean, and swapping its output in. The cleaning itself runs
 * on the cleaner thread (log-cleaner.ts); only the owning shard changes the
 * partition's segment list and its files' names.
 *
 * What may be cleaned: closed segments from the oldest on, durable (no sync or
 * index write pending), up to the first one holding a record younger than
 * min.compaction.lag.ms. It is cleaned when the bytes not cleaned since this
 * process started are at least min.cleanable.dirty.ratio of them, or when such
 * a dirty segment is older than max.compaction.lag.ms.
 *
 * The swap of one segment, crash-safe at every step (the `.cleaned` files were
 * fsynced by the cleaner):
 *   1. the `compacted` marker is created (once per partition) and synced with
 *      its directory: from now on recovery accepts offset gaps in batches;
 *   2. the segment's index files are removed, directory synced: a crash from
 *      here on finds the segment without index files and CRC-scans it;
 *   3. `<base>.log.cleaned` is renamed over `<base>.log`, directory synced:
 *      the commit point (rename is atomic; before it recovery removes the
 *      `.cleaned` files and keeps the original, after it the cleaned log);
 *   4. the cleaned index files are renamed into place, directory synced;
 *   5. the new file is opened (indexes loaded, headers walked from the last
 *      entry) and replaces the segment in memory; the old descriptor closes.
 * Reads in between are served from the old descriptor, whose file stays
 * readable after the rename, so a reader never sees a half-swapped segment.
 */
export interface CompactionState {
  /** Offsets below this were cleaned by this process: the clean part of the log. */
  cleanedUpToOffset: number;
  /** The `compacted` marker exists: closed segments may have offset gaps. */
  offsetGapsAllowed: boolean;
  /** The job handed to the cleaner and not finished yet. */
  jobInFlight: CleanJob | null;
}

export function compactionEnabled(config: TopicConfig): boolean {
  return config.cleanupPolicy === 'compact' || config.cleanupPolicy === 'compact,delete';
}

/** The closed segments to clean now, or null when the policy, the lag or the dirty ratio say not yet. */
export function planClean(
  dir: string,
  segments: readonly Segment[],
  config: TopicConfig,
  state: CompactionState,
  nowMs: number,
  ioBytesPerSecond: number,
): CleanJob | null {
  if (!compactionEnabled(config) || state.jobInFlight !== null) return null;
  const cleanable: Segment[] = [];
  for (let i = 0; i < segments.length - 1; i++) {
    const segment = segments[i]!;
    if (segment.syncing || segment.dirty || segment.indexesPending) break;
    if (segment.timeIndex.maxTimestampMs > nowMs - config.minCompactionLagMs) break;
    cleanable.push(segment);
  }
  let totalBytes = 0;
  let dirtyBytes = 0;
  let overdue = false;
  for (const segment of cleanable) {
    totalBytes += segment.sizeBytes;
    if (segment.baseOffset < state.cleanedUpToOffset) continue;
    dirtyBytes += segment.sizeBytes;
    if (segment.timeIndex.maxTimestampMs < nowMs - config.maxCompactionLagMs) overdue = true;
  }
  if (dirtyBytes === 0) return null;
  if (!overdue && dirtyBytes < config.minCleanableDirtyRatio * totalBytes) return null;
  const job: CleanJob = {
    dir,
    segments: cleanable.map((segment) => ({ baseOffset: segment.baseOffset, sizeBytes: segment.sizeBytes })),
    nowMs,
    deleteRetentionMs: config.deleteRetentionMs,
    ioBytesPerSecond,
    firstDirtyOffset: state.cleanedUpToOffset,
  };
  state.jobInFlight = job;
  return job;
}

export interface SwapResult {
  segmentsReplaced: number;
  recordsRemoved: number;
  /** Why a segment could not be swapped in (its original stays); empty when all went in. */
  problems: string[];
}

/**
 * Swaps the cleaner's output in (see above), or, with `outcome` null (the job
 * failed), removes whatever `.cleaned` files it left. A segment that changed
 * since the job was planned (deleted by retention) keeps no cleaned files.
 */
export function finishClean(
  dir: string,
  segments: Segment[],
  state: CompactionState,
  outcome: CleanOutcome | null,
): SwapResult {
  const job = state.jobInFlight;
  state.jobInFlight = null;
  const result: SwapResult = { segmentsReplaced: 0, recordsRemoved: 0, problems: [] };
  if (job === null) return result;
  if (outcome === null) {
    for (const planned of job.segments) removeCleanedFiles(dir, planned.baseOffset);
    return result;
  }
  const swaps: { index: number; segment: Segment; recordsRemoved: number }[] = [];
  for (const cleaned of outcome.segments) {
    if (!cleaned.replaced) continue;
    const index = segments.findIndex((segment) => segment.baseOffset === cleaned.baseOffset);
    const segment = segments[index];
    if (
      segment === undefined ||
      index === segments.length - 1 ||
      segment.sizeBytes !== cleaned.sourceSizeBytes
    ) {
      removeCleanedFiles(dir, cleaned.baseOffset);
      continue;
    }
    swaps.push({ index, segment, recordsRemoved: cleaned.recordsRemoved });
  }
  if (swaps.length > 0) swapSegments(dir, segments, swaps, state, result);
  // The job may have cleaned only its oldest segments (a full key map): the clean part ends after those.
  const last = outcome.segments[outcome.segments.length - 1];
  if (last !== undefined && result.problems.length === 0) {
    const lastSegment = segments.find((segment) => segment.baseOffset === last.baseOffset);
    if (lastSegment !== undefined) {
      state.cleanedUpToOffset = Math.max(state.cleanedUpToOffset, lastSegment.nextOffset);
    }
  }
  return result;
}

/**
 * The swap of the steps above, each step done for every segment of the job
 * before one directory sync covers it: a job costs the shard three or four
 * directory syncs, not three per segment. Each segment's rename stays its own
 * commit point.
 */
function swapSegments(
  dir: string,
  segments: Segment[],
  swaps: readonly { index: number; segment: Segment; recordsRemoved: number }[],
  state: CompactionState,
  result: SwapResult,
): void {
  const io = storageIo();
  const fail = (segment: Segment, error: unknown) => {
    result.problems.push(`segment ${segment.logPath} not replaced: ${errorMessage(error)}`);
    removeCleanedFiles(dir, segment.baseOffset);
  };
  const giveBackIndexes = (segment: Segment) => {
    try {
      segment.writeIndexes();
    } catch {
      // Without them the next open CRC-scans the segment: slower, never wrong.
    }
  };
  // Steps 1 and 2: the marker, then no index files on the segments to be replaced.
  try {
    if (!state.offsetGapsAllowed) {
      writeFileSynced(`${dir}/${COMPACTED_MARKER_NAME}`, new Uint8Array(0));
      fsyncDirectory(dir);
      state.offsetGapsAllowed = true;
    }
    for (const { segment } of swaps) segment.removeIndexFiles();
    fsyncDirectory(dir);
  } catch (error) {
    for (const { segment } of swaps) {
      giveBackIndexes(segment);
      fail(segment, error);
    }
    return;
  }
  // Step 3, the commit point of each segment: its cleaned log renamed over the original.
  const committed: { index: number; segment: Segment; recordsRemoved: number }[] = [];
  for (const swap of swaps) {
    const base = swap.segment.baseOffset;
    try {
      io.rename(segmentPath(dir, base, LOG_SUFFIX + CLEANED_SUFFIX), segmentPath(dir, base, LOG_SUFFIX));
      committed.push(swap);
    } catch (error) {
      // Not committed: the original log stays; give it back its index files (else recovery rescans it).
      giveBackIndexes(swap.segment);
      fail(swap.segment, error);
    }
  }
  if (committed.length === 0) return;
  try {
    fsyncDirectory(dir);
  } catch (error) {
    // The renames may not be durable: keep serving the originals (still open), and let the next open
    // find whichever log each name holds, without index files, and scan it.
    for (const { segment } of committed) fail(segment, error);
    return;
  }
  // Step 4: the cleaned index files; any that do not arrive only cost the next open a scan of that segment.
  for (const { segment } of committed) {
    const base = segment.baseOffset;
    try {
      io.rename(segmentPath(dir, base, INDEX_SUFFIX + CLEANED_SUFFIX), segmentPath(dir, base, INDEX_SUFFIX));
      io.rename(
        segmentPath(dir, base, TIME_INDEX_SUFFIX + CLEANED_SUFFIX),
        segmentPath(dir, base, TIME_INDEX_SUFFIX),
      );
    } catch {
      removeCleanedFiles(dir, base);
    }
  }
  try {
    fsyncDirectory(dir);
  } catch {
    // As above: index files that are not durable cost a scan at the next open, never a wrong answer.
  }
  // Step 5: open each cleaned log in place of the original.
  for (const { index, segment, recordsRemoved } of committed) {
    try {
      segments[index] = reopenCleaned(dir, segment);
      result.segmentsReplaced++;
      result.recordsRemoved += recordsRemoved;
    } catch (error) {
      result.problems.push(`segment ${segment.logPath} not reopened: ${errorMessage(error)}`);
    }
  }
}

function reopenCleaned(dir: string, segment: Segment): Segment {
  const io = storageIo();
  const base = segment.baseOffset;
  const replacement = Segment.openExisting(dir, base);
  const fileBytes = io.sizeOf(replacement.fd);
  const scan = walkFromIndexes(replacement, fileBytes, true);
  if (scan.validBytes !== fileBytes || replacement.nextOffset > segment.nextOffset) {
    replacement.close();
    throw new Error(
      `cleaned segment does not walk (${scan.problem || `next offset ${replacement.nextOffset}`}); ` +
        'the original is kept open and the file is checked at the next start',
    );
  }
  // Its last batches may be gone: the segment still covers its whole offset range.
  replacement.nextOffset = segment.nextOffset;
  if (replacement.indexesPending) {
    // Its index files did not load: the cleaned log was fsynced by the cleaner, so write them now.
    replacement.writeIndexes();
    replacement.indexesPending = false;
  }
  replacement.createdMs = segment.createdMs;
  segment.closeReplaced();
  return replacement;
}

function removeCleanedFiles(dir: string, baseOffset: number): void {
  const io = storageIo();
  for (const suffix of [LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX]) {
    try {
      io.removeFile(segmentPath(dir, baseOffset, suffix + CLEANED_SUFFIX));
    } catch {
      // Recovery removes any left over at the next open.
    }
  }
}
