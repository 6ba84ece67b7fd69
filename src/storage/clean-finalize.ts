import { errorMessage } from '../common/errors.js';
import {
  CLEANED_SUFFIX,
  fsyncDirectory,
  INDEX_SUFFIX,
  removeCleanedFiles,
  segmentPath,
  TIME_INDEX_SUFFIX,
} from './segment-files.js';
import { storageIo } from './storage-io.js';

/**
 * The last part of a clean's swap, run by the log cleaner's thread after the
 * shard has renamed the cleaned logs into place (log-compaction.ts,
 * `commitClean`), so that nothing slow runs on the shard:
 *
 *   1. `.cleaned` files the shard did not take (a segment retention removed
 *      meanwhile, a failed rename) are removed: their unlinks free blocks;
 *   2. the directory is synced: the renames of the committed logs are durable;
 *   3. only then each committed segment's cleaned index files are renamed into
 *      place (an index file must never reach the disk under a name whose log
 *      may still be the original after a power loss), and the directory is
 *      synced again.
 *
 * Until the shard hears back it keeps the partition's job open: no retention,
 * truncation or second job touches those segments' names meanwhile.
 * Whatever fails here only costs the next open a scan of the segments left
 * without index files (recovery removes any `.cleaned` file left): the logs
 * themselves are already in place.
 */
export interface FinalizeRequest {
  readonly dir: string;
  /** Segments whose cleaned log the shard renamed into place. */
  readonly committedBases: readonly number[];
  /** Segments whose `.cleaned` files the shard did not take. */
  readonly discardedBases: readonly number[];
}

export interface FinalizeOutcome {
  /** Committed segments whose index files are in place (and durable, unless a problem says otherwise). */
  readonly indexesPlaced: number;
  readonly problems: string[];
}

export function finalizeClean(request: FinalizeRequest): FinalizeOutcome {
  const { dir } = request;
  const io = storageIo();
  const problems: string[] = [];
  for (const baseOffset of request.discardedBases) removeCleanedFiles(dir, baseOffset);
  if (request.committedBases.length === 0) return { indexesPlaced: 0, problems };
  let renamesDurable = true;
  try {
    fsyncDirectory(dir);
  } catch (error) {
    renamesDurable = false;
    problems.push(`directory sync after the swap failed: ${errorMessage(error)}`);
  }
  let indexesPlaced = 0;
  for (const baseOffset of request.committedBases) {
    if (!renamesDurable) {
      // The log's rename may not survive a power loss: its cleaned indexes must not get its name.
      removeCleanedFiles(dir, baseOffset);
      continue;
    }
    try {
      io.rename(
        segmentPath(dir, baseOffset, INDEX_SUFFIX + CLEANED_SUFFIX),
        segmentPath(dir, baseOffset, INDEX_SUFFIX),
      );
      io.rename(
        segmentPath(dir, baseOffset, TIME_INDEX_SUFFIX + CLEANED_SUFFIX),
        segmentPath(dir, baseOffset, TIME_INDEX_SUFFIX),
      );
      indexesPlaced++;
    } catch (error) {
      // One index file without the other does not load (recovery checks they agree): a scan rebuilds both.
      removeCleanedFiles(dir, baseOffset);
      problems.push(`index files of segment ${baseOffset} not placed: ${errorMessage(error)}`);
    }
  }
  if (indexesPlaced > 0) {
    try {
      fsyncDirectory(dir);
    } catch (error) {
      problems.push(`directory sync after the index renames failed: ${errorMessage(error)}`);
    }
  }
  return { indexesPlaced, problems };
}
