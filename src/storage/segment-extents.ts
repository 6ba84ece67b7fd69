import type { Segment } from './segment.js';
import type { StorageIo } from './storage-io.js';

/**
 * Where a range of a partition's offsets lies in its segment files, for a
 * reader outside the owning shard (SQL's loader, src/sql/segment-file-loader.ts):
 * per segment, the file and the byte range of whole batches to read, and what
 * the reader must check itself. Computed by the owning shard (PartitionLog),
 * which is the only thread that knows the segments; the reader then reads the
 * files read-only, so a heavy scan never holds the shard for its bytes.
 *
 * Why this is safe to read from another thread or process:
 * - bytes below `endPosition` were written to the file (the shard writes its
 *   buffered appends first), lie below the high watermark, and are never
 *   rewritten in place: retention unlinks the file (an open descriptor keeps
 *   its bytes), compaction renames a new file over it (another inode), and
 *   truncation (a failed write, a follower's) cuts only above the high
 *   watermark; a reader that still meets a file shorter than `endPosition`
 *   fails its query rather than guess;
 * - the reader checks the file it opened is `device`/`inode` and otherwise
 *   reads that range through the shard, so a segment swapped by the log
 *   cleaner between this answer and the open is never read at old positions;
 * - batches from `verifiedBytes` up to `appendedFrom` were never checked by
 *   this broker (a segment a restart trusted): the reader checks their CRC32C,
 *   offsets and leader epoch (0 to `leaderEpochMax`), as the shard does on its
 *   first read of them;
 * - the reader stops at the first batch at or past the offset it was asked to
 *   end at (at most the high watermark), so bytes appended later, or not yet
 *   durable, are never loaded.
 */
export interface SegmentExtent {
  /** The segment's first offset (its file name) and one past its last. */
  baseOffset: number;
  nextOffset: number;
  /** File position of a batch at or before the first offset wanted (from the sparse offset index). */
  startPosition: number;
  /**
   * End of the batches holding offsets below the range's end (at most the high
   * watermark): the file's whole batches, or for the segment holding the end,
   * where the batch after them starts. Bytes past it may still change (a
   * follower's truncation, appends not yet durable) and are never read.
   */
  endPosition: number;
  /** Batches starting at or past this and below `appendedFrom` need their CRC checked by the reader. */
  verifiedBytes: number;
  /** Infinity when no such suffix (see Segment.appendedFrom). */
  appendedFrom: number;
  device: number;
  inode: number;
  /** Batches carry leader epochs from 0 up to this (the log's latest); the reader checks unverified ones. */
  leaderEpochMax: number;
}

/**
 * The extents of segments holding offsets in [fromOffset, endOffset), at most
 * `countMax` of them (the caller asks again from the last one's nextOffset);
 * null when `io` cannot say which file a descriptor is (no direct reads).
 */
export function segmentExtents(
  segments: readonly Segment[],
  fromOffset: number,
  endOffset: number,
  countMax: number,
  leaderEpochMax: number,
  /** Where the batches holding offsets below `endOffset` end in the segment that holds `endOffset`. */
  endPositionOf: (segment: Segment) => number,
  io: StorageIo,
): SegmentExtent[] | null {
  const identify = io.fileIdentity;
  if (identify === undefined) return null;
  const extents: SegmentExtent[] = [];
  for (const segment of segments) {
    if (extents.length >= countMax) break;
    if (segment.nextOffset <= fromOffset || segment.sizeBytes === 0 || !segment.exists) continue;
    if (segment.baseOffset >= endOffset) break;
    const identity = identify.call(io, segment.fd);
    extents.push({
      baseOffset: segment.baseOffset,
      nextOffset: segment.nextOffset,
      startPosition:
        fromOffset > segment.baseOffset
          ? segment.offsetIndex.positionFor(fromOffset - segment.baseOffset)
          : 0,
      endPosition: segment.nextOffset > endOffset ? endPositionOf(segment) : segment.sizeBytes,
      verifiedBytes: segment.verifiedBytes,
      appendedFrom: segment.appendedFrom,
      device: identity.device,
      inode: identity.inode,
      leaderEpochMax,
    });
  }
  return extents;
}
