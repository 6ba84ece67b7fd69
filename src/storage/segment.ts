import { OffsetIndex } from './offset-index.js';
import {
  fsyncDirectory,
  INDEX_SUFFIX,
  LOG_SUFFIX,
  segmentPath,
  TIME_INDEX_SUFFIX,
  TXN_INDEX_SUFFIX,
} from './segment-files.js';
import { storageIo } from './storage-io.js';
import { TimeIndex } from './time-index.js';

/**
 * One segment of a partition log: a `.log` file of whole RecordBatch v2
 * batches starting at `baseOffset`, with its sparse offset and time indexes.
 * Owned by the partition's shard thread; the PartitionLog does all I/O
 * through `fd`.
 */
/**
 * The partitionLeaderEpoch every batch is written with on a single broker
 * (a replicated partition's leader writes its own epoch: leader-epoch-cache.ts).
 * Recovery and reads check the field, as they check baseOffset: the CRC covers neither.
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
  /** partitionLeaderEpoch of the last batch seen (scanned or appended); -1 when none was. */
  lastLeaderEpoch = -1;
  /** Appended since the last sync was started. */
  dirty = false;
  /** Part of a sync in flight: its fd must stay open. */
  syncing = false;
  /** Rolled, and its index files wait for its log's sync (partition-log.ts roll): not yet trusted, not removable. */
  indexesPending = false;
  closed = false;
  /** The open descriptor, or -1 while parked (or not yet created). */
  private openFd: number;
  /** False until the file exists (a deferred segment before its first use). */
  private created: boolean;
  /** Its log was abandoned or destroyed: the file is never opened or created again. */
  private retired = false;

  constructor(
    readonly dir: string,
    readonly baseOffset: number,
    fd: number,
    public offsetIndex: OffsetIndex,
    public timeIndex: TimeIndex,
  ) {
    this.nextOffset = baseOffset;
    this.openFd = fd;
    this.created = fd >= 0;
  }

  static create(dir: string, baseOffset: number): Segment {
    const fd = storageIo().open(segmentPath(dir, baseOffset, LOG_SUFFIX), 'w+');
    return new Segment(dir, baseOffset, fd, new OffsetIndex(), new TimeIndex());
  }

  /**
   * An empty segment whose directory and file are made on the first use of
   * `fd` (the directory entry synced then, as `PartitionLog.open` syncs a
   * new partition's directory).
   */
  static deferred(dir: string, baseOffset: number): Segment {
    return new Segment(dir, baseOffset, -1, new OffsetIndex(), new TimeIndex());
  }

  /** The file's descriptor, opening (or first creating) the file when it is not open. */
  get fd(): number {
    if (this.openFd >= 0) return this.openFd;
    if (this.closed || this.retired) throw new Error(`segment ${this.logPath} is closed`);
    const io = storageIo();
    if (!this.created) {
      io.makeDirectory(this.dir);
      this.openFd = io.open(this.logPath, 'w+');
      this.created = true;
      fsyncDirectory(this.dir);
    } else {
      this.openFd = io.open(this.logPath, 'r+');
    }
    return this.openFd;
  }

  /** Opens the descriptor if the segment is parked, so that it stays open until `close`. */
  holdOpen(): void {
    if (this.openFd < 0) this.openFd = this.fd;
  }

  /**
   * Its log is being given up (abandoned, destroyed): a descriptor still
   * open stays usable until `close` (a sync in flight holds it), but the file
   * is never opened or created again, so a log given up can never write over
   * the files of the one that replaces it.
   */
  retire(): void {
    this.retired = true;
  }

  /** True while the segment's file exists (a deferred segment's is made on first use). */
  get exists(): boolean {
    return this.created;
  }

  /** True while the descriptor is open. */
  get holdsFd(): boolean {
    return this.openFd >= 0;
  }

  /**
   * Closes the descriptor of an idle segment; the next use of `fd` reopens
   * the file. Refused (false) while it has writes not yet synced or a sync
   * in flight: a write-back error must reach the descriptor that syncs.
   */
  park(): boolean {
    if (this.openFd < 0) return true;
    if (this.dirty || this.syncing || this.closed) return false;
    const fd = this.openFd;
    this.openFd = -1;
    storageIo().close(fd);
    return true;
  }

  /**
   * The segment a cleaned file (just renamed over `original`'s) makes, from
   * what the log cleaner measured while writing it: its size and indexes.
   * Constant time, no I/O: its file opens on first use. It covers the
   * original's whole offset range (its last batches may be gone) and its
   * batches' CRCs are checked by the reads that first return them, as after a
   * restart.
   */
  static replacing(
    original: Segment,
    sizeBytes: number,
    offsetIndex: OffsetIndex,
    timeIndex: TimeIndex,
    lastLeaderEpoch: number,
  ): Segment {
    const replacement = new Segment(original.dir, original.baseOffset, -1, offsetIndex, timeIndex);
    replacement.created = true;
    replacement.sizeBytes = sizeBytes;
    replacement.nextOffset = original.nextOffset;
    replacement.createdMs = original.createdMs;
    replacement.lastLeaderEpoch = lastLeaderEpoch;
    return replacement;
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
    if (!this.created) return;
    this.offsetIndex.writeFile(this.indexPath);
    this.timeIndex.writeFile(this.timeIndexPath);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.openFd < 0) return;
    const fd = this.openFd;
    this.openFd = -1;
    storageIo().close(fd);
  }

  /**
   * Closes a segment whose file has just been replaced (renamed over) or removed: the last close frees
   * its blocks, milliseconds per segment, so it runs off the shard thread where the storage allows.
   */
  closeReplaced(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.openFd < 0) return;
    const fd = this.openFd;
    this.openFd = -1;
    const io = storageIo();
    if (io.closeInBackground !== undefined) io.closeInBackground(fd);
    else io.close(fd);
  }

  /** Removes the index files (their contents stay in memory). */
  removeIndexFiles(): void {
    const io = storageIo();
    io.removeFile(this.indexPath);
    io.removeFile(this.timeIndexPath);
  }

  /**
   * Removes the segment's files (its transaction index too), then closes it: its blocks are freed by
   * that last close, off the shard thread where the storage allows (retention removing a 1 GiB
   * segment would otherwise stall it).
   */
  remove(): void {
    if (!this.created) {
      this.close();
      return;
    }
    const io = storageIo();
    try {
      io.removeFile(this.logPath);
      io.removeFile(this.indexPath);
      io.removeFile(this.timeIndexPath);
      io.removeFile(segmentPath(this.dir, this.baseOffset, TXN_INDEX_SUFFIX));
    } finally {
      this.closeReplaced();
    }
  }
}
