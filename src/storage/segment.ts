import { OffsetIndex } from './offset-index.js';
import { INDEX_SUFFIX, LOG_SUFFIX, segmentPath, TIME_INDEX_SUFFIX } from './segment-files.js';
import { storageIo } from './storage-io.js';
import { TimeIndex } from './time-index.js';

/**
 * One segment of a partition log: a `.log` file of whole RecordBatch v2
 * batches starting at `baseOffset`, with its sparse offset and time indexes.
 * Owned by the partition's shard thread; the PartitionLog does all I/O
 * through `fd`.
 */
/**
 * The partitionLeaderEpoch every batch is written with on a single broker.
 * Recovery and reads check it, as they check baseOffset: the CRC covers neither.
 */
export const WRITTEN_LEADER_EPOCH = 0;

export class Segment {
  /** Bytes of whole batches in the file. */
  sizeBytes = 0;
  /** One past the last offset in the segment (= baseOffset when empty). */
  nextOffset: number;
  /** Wall-clock time of the first append (or the file's mtime when recovered); -1 while empty. */
  createdMs = -1;
  /**
   * Bytes from the start whose CRCs are known good: everything appended by
   * this process, and what recovery or earlier reads checked. Reads check
   * batches past this before returning them.
   */
  verifiedBytes = 0;
  /**
   * Position from which this process wrote every batch, while the bytes
   * before it are not all verified (appends to an active segment a clean
   * restart did not scan). Batches from here on need no check; infinity when
   * there is no such suffix. Appends must not simply extend `verifiedBytes`
   * over an unchecked prefix.
   */
  appendedFrom = Number.POSITIVE_INFINITY;
  /** Appended since the last sync was started. */
  dirty = false;
  /** Part of a sync in flight: its fd must stay open. */
  syncing = false;
  /** Rolled, and its index files wait for its log's sync (partition-log.ts roll): not yet trusted, not removable. */
  indexesPending = false;
  closed = false;

  constructor(
    readonly dir: string,
    readonly baseOffset: number,
    readonly fd: number,
    public offsetIndex: OffsetIndex,
    public timeIndex: TimeIndex,
  ) {
    this.nextOffset = baseOffset;
  }

  static create(dir: string, baseOffset: number): Segment {
    const fd = storageIo().open(segmentPath(dir, baseOffset, LOG_SUFFIX), 'w+');
    return new Segment(dir, baseOffset, fd, new OffsetIndex(), new TimeIndex());
  }

  static openExisting(dir: string, baseOffset: number): Segment {
    const fd = storageIo().open(segmentPath(dir, baseOffset, LOG_SUFFIX), 'r+');
    return new Segment(dir, baseOffset, fd, new OffsetIndex(), new TimeIndex());
  }

  get logPath(): string {
    return segmentPath(this.dir, this.baseOffset, LOG_SUFFIX);
  }

  get indexPath(): string {
    return segmentPath(this.dir, this.baseOffset, INDEX_SUFFIX);
  }

  get timeIndexPath(): string {
    return segmentPath(this.dir, this.baseOffset, TIME_INDEX_SUFFIX);
  }

  /** Records a batch just written at `position`. */
  onAppend(
    position: number,
    baseOffset: number,
    nextOffset: number,
    maxTimestampMs: number,
    batchBytes: number,
  ): void {
    const relativeOffset = baseOffset - this.baseOffset;
    this.offsetIndex.onAppend(relativeOffset, position, batchBytes);
    this.timeIndex.onAppend(relativeOffset, maxTimestampMs, batchBytes);
    this.sizeBytes = position + batchBytes;
    this.nextOffset = nextOffset;
  }

  /** Writes both index files (synced); called when the segment closes. */
  writeIndexes(): void {
    this.offsetIndex.writeFile(this.indexPath);
    this.timeIndex.writeFile(this.timeIndexPath);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    storageIo().close(this.fd);
  }

  /** Removes the index files (their contents stay in memory). */
  removeIndexFiles(): void {
    const io = storageIo();
    io.removeFile(this.indexPath);
    io.removeFile(this.timeIndexPath);
  }

  /** Closes and removes the segment's files. */
  remove(): void {
    this.close();
    const io = storageIo();
    io.removeFile(this.logPath);
    io.removeFile(this.indexPath);
    io.removeFile(this.timeIndexPath);
  }
}
