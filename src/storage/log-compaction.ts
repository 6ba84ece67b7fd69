import type { TopicConfig } from '../common/broker-config.js';
import { errorMessage } from '../common/errors.js';
import { type FinalizeRequest, finalizeClean } from './clean-finalize.js';
import { prepareSwap } from './clean-prepare.js';
import type { CleanJob, CleanOutcome } from './log-cleaner.js';
import { OffsetIndex } from './offset-index.js';
import { Segment } from './segment.js';
import { CLEANED_SUFFIX, LOG_SUFFIX, removeCleanedFiles, segmentPath } from './segment-files.js';
import { storageIo } from './storage-io.js';
import { TimeIndex } from './time-index.js';

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
 * The swap, crash-safe at every step. Everything slow runs on the cleaner's
 * thread; the shard's part is one rename and a pointer swap per segment:
 *   1. cleaner (log-cleaner.ts, clean-prepare.ts): `<base>.log.cleaned` and its index files
 *      written and fsynced; the `compacted` marker created (once per
 *      partition: from then on recovery accepts offset gaps in batches); the
 *      segment's index files removed; one directory sync. A crash from here
 *      on finds the segment without index files and CRC-scans it, whichever
 *      log it holds;
 *   2. shard (`commitClean`): `<base>.log.cleaned` renamed over `<base>.log`,
 *      the commit point (rename is atomic; before it recovery removes the
 *      `.cleaned` files and keeps the original, after it the cleaned log),
 *      and, in the same turn of the shard's event loop, the segment replaced
 *      in the list by one built from the indexes the cleaner measured
 *      (no file read, no walk); the old descriptor is closed off the thread;
 *   3. cleaner (clean-finalize.ts): directory synced, then the cleaned index
 *      files renamed into place, directory synced;
 *   4. shard (`endClean`): the job is over.
 * Reads never see a half-swapped segment: before step 2 they use the old
 * segment (its descriptor, or its path, which still names the original),
 * after it the new one, and step 2 runs between requests. From step 1 to
 * step 4 the job stays open, so retention, truncation and DeleteRecords leave
 * the log's segment files alone (retention of `compact,delete` only during
 * step 1, which the swap checks for).
 */
export interface CompactionState {
  /** Offsets below this were cleaned by this process: the clean part of the log. */
  cleanedUpToOffset: number;
  /** The `compacted` marker exists: closed segments may have offset gaps. */
  offsetGapsAllowed: boolean;
  /** The job handed to the cleaner and not finished yet (through its finalize). */
  jobInFlight: CleanJob | null;
  /** The job's cleaned logs are renamed in and the cleaner is placing their index files (steps 2 to 4). */
  finalizing: boolean;
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
    offsetGapsAllowed: state.offsetGapsAllowed,
  };
  state.jobInFlight = job;
  return job;
}

export interface SwapResult {
  segmentsReplaced: number;
  recordsRemoved: number;
  /** Why a segment could not be swapped in (its original stays); empty when all went in. */
  problems: string[];
  /** What the cleaner's thread still has to do (clean-finalize.ts); null when nothing (the job is over). */
  finalize: FinalizeRequest | null;
}

/**
 * The shard's part of the swap (step 2 above): for each segment the cleaner
 * replaced and that is still there as planned, one rename and a pointer
 * swap; constant time per segment, no sync, no read, no unlink. With
 * `outcome` null (the job failed: the cleaner removed its files, or the next
 * open does) the job simply ends. A segment that changed since the job was
 * planned (removed by retention) keeps its original, and its cleaned files
 * are left to the finalize. Unless `finalize` comes back null, the job stays
 * open until `endClean`.
 */
export function commitClean(
  segments: Segment[],
  state: CompactionState,
  outcome: CleanOutcome | null,
): SwapResult {
  const result: SwapResult = { segmentsReplaced: 0, recordsRemoved: 0, problems: [], finalize: null };
  const job = state.jobInFlight;
  if (job === null || outcome === null) {
    endClean(state);
    return result;
  }
  const io = storageIo();
  const committedBases: number[] = [];
  const discardedBases: number[] = [];
  for (const cleaned of outcome.segments) {
    if (!cleaned.replaced) continue;
    const base = cleaned.baseOffset;
    const index = indexOfBase(segments, base);
    const segment = index < 0 ? undefined : segments[index];
    if (
      segment === undefined ||
      index === segments.length - 1 ||
      segment.sizeBytes !== cleaned.sourceSizeBytes ||
      cleaned.indexes === null
    ) {
      discardedBases.push(base);
      continue;
    }
    try {
      // The original is held open across the rename, so the rename does not free its blocks here on the
      // shard: its last close does, off this thread (closeReplaced). A parked segment reopens (one open).
      segment.holdOpen();
      io.rename(
        segmentPath(job.dir, base, LOG_SUFFIX + CLEANED_SUFFIX),
        segmentPath(job.dir, base, LOG_SUFFIX),
      );
    } catch (error) {
      // Not committed: the original stays (without index files: the next open scans it).
      result.problems.push(`segment ${segment.logPath} not replaced: ${errorMessage(error)}`);
      discardedBases.push(base);
      continue;
    }
    const { offsetIndex, timeIndex, lastLeaderEpoch } = cleaned.indexes;
    segments[index] = Segment.replacing(
      segment,
      cleaned.cleanedSizeBytes,
      OffsetIndex.adopt(offsetIndex),
      TimeIndex.adopt(timeIndex),
      lastLeaderEpoch,
    );
    segment.closeReplaced();
    committedBases.push(base);
    result.segmentsReplaced++;
    result.recordsRemoved += cleaned.recordsRemoved;
  }
  if (committedBases.length > 0) state.offsetGapsAllowed = true;
  // The job may have cleaned only its oldest segments (a full key map): the clean part ends after those.
  const last = outcome.segments[outcome.segments.length - 1];
  if (last !== undefined && result.problems.length === 0) {
    const lastIndex = indexOfBase(segments, last.baseOffset);
    if (lastIndex >= 0) {
      state.cleanedUpToOffset = Math.max(state.cleanedUpToOffset, segments[lastIndex]!.nextOffset);
    }
  }
  if (committedBases.length === 0 && discardedBases.length === 0) {
    endClean(state);
    return result;
  }
  state.finalizing = true;
  result.finalize = { dir: job.dir, committedBases, discardedBases };
  return result;
}

/** The job is over (its finalize done or failed): the next one may be planned. */
export function endClean(state: CompactionState): void {
  state.jobInFlight = null;
  state.finalizing = false;
}

/**
 * The whole swap on the calling thread, for callers without a cleaner
 * thread (tests, tools): prepares it if the cleaner did not, commits, and
 * finalizes. Returns what the commit did, with the finalize's problems added.
 */
export function finishClean(
  dir: string,
  segments: Segment[],
  state: CompactionState,
  outcome: CleanOutcome | null,
): SwapResult {
  if (outcome !== null && !outcome.swapPrepared) {
    try {
      prepareSwap(outcome, state.offsetGapsAllowed);
    } catch (error) {
      for (const segment of outcome.segments)
        if (segment.replaced) removeCleanedFiles(dir, segment.baseOffset);
      endClean(state);
      return {
        segmentsReplaced: 0,
        recordsRemoved: 0,
        problems: [`swap not prepared: ${errorMessage(error)}`],
        finalize: null,
      };
    }
  }
  const result = commitClean(segments, state, outcome);
  if (result.finalize !== null) {
    try {
      result.problems.push(...finalizeClean(result.finalize).problems);
    } finally {
      endClean(state);
    }
  }
  return result;
}

/** Index of the segment whose base offset is `baseOffset` (segments ascend by it); -1 when none. */
function indexOfBase(segments: readonly Segment[], baseOffset: number): number {
  let low = 0;
  let high = segments.length - 1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    const middleBase = segments[middle]!.baseOffset;
    if (middleBase === baseOffset) return middle;
    if (middleBase < baseOffset) low = middle + 1;
    else high = middle - 1;
  }
  return -1;
}
