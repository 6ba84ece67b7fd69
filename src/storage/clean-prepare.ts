import { type CleanJob, type CleanOutcome, cleanSegments } from './log-cleaner.js';
import {
  COMPACTED_MARKER_NAME,
  fsyncDirectory,
  INDEX_SUFFIX,
  removeCleanedFiles,
  segmentPath,
  TIME_INDEX_SUFFIX,
} from './segment-files.js';
import { storageIo } from './storage-io.js';
import { writeFileSynced } from './write-at.js';

/**
 * The log cleaner thread's part of a swap before the shard's (step 1 in
 * log-compaction.ts): after the cleaned files are written, the marker and the
 * removal of the old index files, made durable; and the transfer list that
 * hands the cleaned segments' indexes to the shard without a copy.
 */

/**
 * The cleaner thread's whole part before the shard's: cleans the job's
 * segments into `.cleaned` files, then prepares their swap. On a failure the
 * `.cleaned` files it wrote are removed before the error is passed on.
 */
export async function cleanAndPrepare(job: CleanJob): Promise<CleanOutcome> {
  const outcome = await cleanSegments(job);
  try {
    prepareSwap(outcome, job.offsetGapsAllowed);
  } catch (error) {
    for (const segment of outcome.segments)
      if (segment.replaced) removeCleanedFiles(job.dir, segment.baseOffset);
    throw error;
  }
  return { ...outcome, swapPrepared: true };
}

/**
 * Makes the directory ready for the shard to rename cleaned logs over the
 * originals, each rename then being that segment's commit point: the
 * `compacted` marker exists (recovery accepts offset gaps from then on), and
 * the replaced segments' index files are gone, so whichever log a crash
 * leaves under a name, recovery finds no index file of the other one and
 * scans it. One directory sync makes both durable before any rename. Without
 * replaced segments it does nothing.
 */
export function prepareSwap(outcome: CleanOutcome, offsetGapsAllowed: boolean): void {
  const replaced = outcome.segments.filter((segment) => segment.replaced);
  if (replaced.length === 0) return;
  const io = storageIo();
  if (!offsetGapsAllowed) writeFileSynced(`${outcome.dir}/${COMPACTED_MARKER_NAME}`, new Uint8Array(0));
  for (const segment of replaced) {
    io.removeFile(segmentPath(outcome.dir, segment.baseOffset, INDEX_SUFFIX));
    io.removeFile(segmentPath(outcome.dir, segment.baseOffset, TIME_INDEX_SUFFIX));
  }
  fsyncDirectory(outcome.dir);
}

/** The buffers of every cleaned segment's indexes, to transfer (not copy) with the outcome. */
export function indexBuffers(outcome: CleanOutcome): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const segment of outcome.segments) {
    if (segment.indexes === null) continue;
    const { offsetIndex, timeIndex } = segment.indexes;
    for (const array of [
      offsetIndex.relativeOffsets,
      offsetIndex.positions,
      timeIndex.timestampsMs,
      timeIndex.relativeOffsets,
    ]) {
      if (array.buffer instanceof ArrayBuffer) buffers.add(array.buffer);
    }
  }
  return [...buffers];
}
