import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { readInt64 } from '../common/offset.js';
import type { SegmentFileExtent } from '../engine/engine-api.js';
import { BatchCheckFailure, batchCheckFailureName, checkBatch } from '../record/batch-check.js';
import { BatchHeader } from '../record/batch-header.js';
import { BatchWalkFailure, nextBatchBytes } from '../record/batch-walk.js';
import { SqlError } from './sql-errors.js';

/**
 * Reads part of a segment file in the SQL worker (thread or process), so a
 * scan's bytes never pass through the shard or the acceptor: the shard only
 * said where they are (storage/segment-extents.ts, which says why reading
 * them here is safe). Whole batches are handed on a window at a time, from
 * one reused buffer; the caller decodes each window before the next read.
 *
 * What the shard would check on a first read is checked here: batches the
 * broker never verified (a segment a restart trusted) must pass their CRC32C,
 * lie inside the segment's offsets and carry a leader epoch the log knows, or
 * the query fails (SQL_FAILED): a bad batch is never loaded.
 */
export interface SegmentReadRequest {
  extent: SegmentFileExtent;
  /** File position to start at: a batch boundary (the extent's start, or a previous read's nextPosition). */
  position: number;
  /** Offsets wanted: batches wholly below are skipped by the decoder, the first at or past `endOffset` stops the read. */
  fromOffset: number;
  endOffset: number;
  /** Stop after the window that reaches this many bytes (pacing, the scan budget). */
  bytesMax: number;
}

export interface SegmentReadResult {
  /** The file at the path is not the one the shard named (swapped by the log cleaner, or removed): nothing read. */
  stale: boolean;
  /** Bytes of whole batches read. */
  bytes: number;
  /** Where the next read of this extent starts. */
  nextPosition: number;
  /** Nothing more of the extent is wanted: its end, or a batch at or past endOffset was reached. */
  done: boolean;
}

/** Bytes read per system call: large enough that the calls cost nothing, small enough to stay in cache. */
const WINDOW_BYTES = 2 * 1024 * 1024;

export class SegmentFileLoader {
  private buffer: Uint8Array;
  private view: DataView;

  constructor(private readonly windowBytes = WINDOW_BYTES) {
    this.buffer = new Uint8Array(windowBytes);
    this.view = new DataView(this.buffer.buffer);
  }

  /** Reads the request's part of its extent, handing each window of whole batches to `decode`. */
  read(request: SegmentReadRequest, decode: (records: Uint8Array) => void): SegmentReadResult {
    const { extent } = request;
    let fd: number;
    try {
      fd = openSync(extent.path, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return staleAt(request.position);
      throw new SqlError('SQL_FAILED', `cannot open ${extent.path}: ${(error as Error).message}`);
    }
    try {
      const stat = fstatSync(fd);
      if (stat.dev !== extent.device || stat.ino !== extent.inode) return staleAt(request.position);
      return this.readOpen(fd, request, decode);
    } finally {
      closeSync(fd);
    }
  }

  private readOpen(
    fd: number,
    request: SegmentReadRequest,
    decode: (records: Uint8Array) => void,
  ): SegmentReadResult {
    const { extent } = request;
    let position = request.position;
    let bytes = 0;
    let done = false;
    while (!done && position < extent.endPosition && bytes < request.bytesMax) {
      const want = Math.min(extent.endPosition - position, Math.max(this.windowBytes, this.buffer.length));
      const got = readSync(fd, this.buffer, 0, want, position);
      if (got < want) throw changed(extent, position + got);
      let at = 0;
      let firstSize = 0;
      for (;;) {
        // The offset first: a batch at or past the end is never looked at further.
        if (got - at >= BatchHeader.LOG_OVERHEAD_BYTES) {
          if (readInt64(this.view, at + BatchHeader.BASE_OFFSET) >= request.endOffset) {
            done = true;
            break;
          }
        }
        const sizeBytes = nextBatchBytes(this.view, at, got);
        if (sizeBytes === BatchWalkFailure.TRUNCATED) {
          if (at === 0) firstSize = this.declaredSize(at, got);
          break;
        }
        if (sizeBytes < 0) throw damaged(extent, position + at, 'its header');
        this.check(extent, position + at, at, sizeBytes);
        at += sizeBytes;
      }
      if (at === 0 && !done) {
        // One batch larger than the window: grow it and read again from the same place.
        if (firstSize <= this.buffer.length || position + firstSize > extent.endPosition)
          throw changed(extent, position);
        this.buffer = new Uint8Array(firstSize);
        this.view = new DataView(this.buffer.buffer);
        continue;
      }
      if (at > 0) decode(this.buffer.subarray(0, at));
      bytes += at;
      position += at;
    }
    return { stale: false, bytes, nextPosition: position, done: done || position >= extent.endPosition };
  }

  /** A batch's declared size from its header, or 0 when not even the length field is in the window. */
  private declaredSize(at: number, got: number): number {
    if (got - at < BatchHeader.LOG_OVERHEAD_BYTES) return 0;
    return this.view.getInt32(at + BatchHeader.BATCH_LENGTH) + BatchHeader.LOG_OVERHEAD_BYTES;
  }

  /** The shard's first-read checks, for a batch the broker has not verified. */
  private check(extent: SegmentFileExtent, filePosition: number, at: number, sizeBytes: number): void {
    if (filePosition + sizeBytes <= extent.verifiedBytes || filePosition >= extent.appendedFrom) return;
    const baseOffset = readInt64(this.view, at + BatchHeader.BASE_OFFSET);
    const epoch = this.view.getInt32(at + BatchHeader.PARTITION_LEADER_EPOCH);
    if (
      baseOffset < extent.baseOffset ||
      baseOffset >= extent.nextOffset ||
      epoch < 0 ||
      epoch > extent.leaderEpochMax
    )
      throw damaged(extent, filePosition, 'its offset or epoch check');
    const checked = checkBatch(this.buffer, this.view, at, at + sizeBytes);
    if (checked !== sizeBytes)
      throw damaged(
        extent,
        filePosition,
        checked === BatchCheckFailure.BAD_CRC ? 'its CRC32C' : batchCheckFailureName(checked),
      );
  }
}

function staleAt(position: number): SegmentReadResult {
  return { stale: true, bytes: 0, nextPosition: position, done: false };
}

function changed(extent: SegmentFileExtent, position: number): SqlError {
  return new SqlError('SQL_FAILED', `${extent.path} ends early at byte ${position}: it changed while read`);
}

function damaged(extent: SegmentFileExtent, position: number, what: string): SqlError {
  return new SqlError('SQL_FAILED', `the batch at byte ${position} of ${extent.path} fails ${what}`);
}
