import type { FsyncPolicy, TopicConfig } from '../common/broker-config.js';
import { assert, errorMessage, PyralogError, StorageCorruptionError } from '../common/errors.js';
import { KafkaErrorCode } from '../common/kafka-error-code.js';
import { readInt64, writeInt64 } from '../common/offset.js';
import { checkBatch } from '../record/batch-check.js';
import { BatchAttributes, BatchHeader, batchSizeBytes } from '../record/batch-header.js';
import { nextBatchBytes } from '../record/batch-walk.js';
import { BufferViews } from '../record/buffer-views.js';
import { crc32c } from '../record/crc32c.js';
import { takeCleanMarker, writeCleanMarker } from './clean-marker.js';
import { GroupCommit, type SyncObserver, type SyncRounds, type SyncTarget } from './group-commit.js';
import { type EpochEndOffset, LeaderEpochCache } from './leader-epoch-cache.js';
import { readLeaderEpochCheckpoint } from './leader-epoch-checkpoint.js';
import { settleLeaderEpochs } from './leader-epoch-rebuild.js';
import type { CleanJob, CleanOutcome } from './log-cleaner.js';
import {
  type CompactionState,
  commitClean,
  compactionEnabled,
  endClean,
  finishClean,
  planClean,
  type SwapResult,
} from './log-compaction.js';
import { recoverSegments } from './log-recovery.js';
import { findBatchContaining, timestampLookup } from './log-search.js';
import { readLogStartOffset, writeLogStartOffset } from './log-start-offset.js';
import { OffsetIndex } from './offset-index.js';
import { Segment } from './segment.js';
import { type SegmentExtent, segmentExtents } from './segment-extents.js';
import { COMPACTED_MARKER_NAME, fsyncDirectory } from './segment-files.js';
import { scanSegment } from './segment-scan.js';
import { storageIo } from './storage-io.js';
import { TimeIndex } from './time-index.js';
import { writeAllAt, writeFileSynced, writeFullyAt } from './write-at.js';

/**
 * The log of one partition: an ordered list of segments, the last one
 * active. Owned by the partition's shard thread, which alone opens its files.
 *
 * Appends write the producer's batch bytes as they are (only baseOffset and
 * partitionLeaderEpoch are rewritten, plus the timestamp fields and CRC for
 * LogAppendTime topics) with positional writes: one per append, or one for a
 * whole burst of buffered appends (`appendBuffered`, `writeBuffered`), which
 * a shard uses for the batches of one ring drain. Durability follows the
 * fsync policy through group commit (group-commit.ts); `durableOffset` tells
 * how far a completed sync reaches, and `onDurable` fires when it advances.
 *
 * Reads return whole batches from one segment, from the batch containing
 * the asked-for offset, as a view into a scratch buffer reused by the next
 * read. A batch from disk whose CRC was never checked in this process is
 * checked before it is returned; one that fails is never returned.
 */
export interface PartitionLogOptions {
  dir: string;
  config: TopicConfig;
  fsync: FsyncPolicy;
  /** Clock for segment ages; Date.now by default. */
  nowMs?: () => number;
  /**
   * Under an interval fsync policy, start no timer: the caller calls
   * `syncIntervalElapsed` as its own clock passes each interval (the
   * simulation, which runs on simulated time).
   */
  manualSyncInterval?: boolean;
  /**
   * The rounds its syncs start in, shared with the other logs of its shard
   * (group-commit.ts); the log keeps its own rhythm when absent.
   */
  syncRounds?: SyncRounds;
  /** Told of each group-commit sync that completed, with its duration (the shard's metrics). */
  onSyncTimed?: SyncObserver;
}

export interface AppendResult {
  baseOffset: number;
  lastOffset: number;
  /** The append time written into the batch for LogAppendTime topics; -1 for CreateTime. */
  logAppendTimeMs: number;
}

const EMPTY = new Uint8Array(0);
const SCRATCH_BYTES_MIN = 1024 * 1024;
const SCRATCH_BYTES_INITIAL = 4 * 1024;
/** Headroom read past maxBytes so the batch holding the offset is usually in the same read. */
const SEARCH_SLACK_BYTES = 16 * 1024;
/**
 * Offsets are JavaScript numbers: exact integers end at 2^53-1, so that is
 * where this log stops taking batches (POLICY_VIOLATION, before any state
 * changes). Kafka's own limit, 2^63-1, is out of reach of a number.
 */
export const OFFSET_MAX = Number.MAX_SAFE_INTEGER;
/**
 * Largest batch offset relative to its segment's base that the indexes can
 * hold (u32 entries, offset-index.ts and time-index.ts). A batch that would
 * end past it starts a new segment first, as Kafka rolls when a relative
 * offset would not fit its index.
 */
export const RELATIVE_OFFSET_MAX = 0xffff_ffff;

export class PartitionLog implements SyncTarget {
  onDurable: (() => void) | null = null;
  /**
   * Called once, on the owning thread, when a write or sync fails and the log
   * stops taking appends (its partition should go offline). Deferred to a
   * microtask so it never runs inside the append or sync that failed.
   */
  onFailed: ((message: string) => void) | null = null;
  /**
   * Called on the owning thread when the active segment is about to close
   * (a roll), with its base offset and next offset, before the next segment
   * exists: the transaction index of that segment is written here
   * (txn-index-file.ts), so a crash before it leaves the segment active and
   * rescanned. Must not throw.
   */
  onRoll: ((closedBaseOffset: number, closedEndOffset: number) => void) | null = null;
  /** Problems recovery found and repaired (by truncation) when the log was opened. */
  readonly recoveryProblems: string[];
  /** The last stop was clean (its marker matched): the active segment was not rescanned. */
  openedClean = false;
  private readonly segments: Segment[];
  private active: Segment;
  private durable: number;
  private readonly groupCommit: GroupCommit;
  private readonly intervalTimer: NodeJS.Timeout | null = null;
  /** Syncs of just-rolled segments in flight (roll). */
  private readonly rollSyncs = new Set<Promise<void>>();
  /** Grown on demand (ensureScratch): a log that is never read costs no buffer (an idle partition holds none). */
  private scratch = new Uint8Array(0);
  private scratchView = new DataView(this.scratch.buffer);
  private readonly batchViews = new BufferViews();
  private readonly result: AppendResult = { baseOffset: 0, lastOffset: 0, logAppendTimeMs: -1 };
  private failure: Error | null = null;
  private closed = false;
  /** DeleteRecords' floor (log-start-offset.ts): offsets below it are gone for readers. */
  private recordsDeletedBelow = 0;
  private readonly compaction: CompactionState;
  /** Which leader epoch began where (leader-epoch-cache.ts); checked against every batch's epoch. */
  private readonly epochs: LeaderEpochCache;
  /** The epoch this log stamps on batches appended as leader: 0 on a single node, else the leader's. */
  private appendEpoch = 0;
  /**
   * What replication allows consumers to see, beyond what this log holds
   * durably: on a leader the lowest offset the in-sync followers hold, on a
   * follower the leader's high watermark. Infinity without replication.
   */
  private replicationBound = Number.POSITIVE_INFINITY;
  /** Batches appendBuffered took and writeBuffered has not written yet (views the caller owns). */
  private readonly buffered: Uint8Array[] = [];
  private bufferedBytes = 0;
  /** File position (in the active segment) of the first buffered batch. */
  private bufferedPosition = 0;

  private constructor(
    private readonly options: PartitionLogOptions,
    segments: Segment[],
    recoveryProblems: string[],
    offsetGapsAllowed: boolean,
    epochs: LeaderEpochCache,
  ) {
    this.segments = segments;
    this.epochs = epochs;
    this.compaction = {
      cleanedUpToOffset: segments[0]!.baseOffset,
      offsetGapsAllowed,
      jobInFlight: null,
      finalizing: false,
    };
    this.active = segments[segments.length - 1]!;
    this.recoveryProblems = recoveryProblems;
    this.durable = this.active.nextOffset;
    this.groupCommit = new GroupCommit(this, options.syncRounds, options.onSyncTimed);
    if (typeof options.fsync === 'object' && options.manualSyncInterval !== true) {
      this.intervalTimer = setInterval(() => this.syncIntervalElapsed(), options.fsync.intervalMs);
      this.intervalTimer.unref();
    }
  }

  /**
   * One interval of an interval fsync policy has passed: sync whatever was
   * appended since the last sync (group commit). So under `<ms>` a power loss
   * takes back at most what was appended after the last sync that completed:
   * about one interval, plus the time that sync takes.
   */
  syncIntervalElapsed(): void {
    if (!this.closed && this.failure === null && this.durable < this.logEndOffset) this.groupCommit.request();
  }

  /** New topic settings, applied from the next append, roll and retention check on. */
  setConfig(config: TopicConfig): void {
    this.options.config = config;
  }

  /** Opens the log in `dir` (creating it), recovering from whatever state the last run left. */
  static open(options: PartitionLogOptions): PartitionLog {
    const io = storageIo();
    const fileNames = listIfPresent(options.dir);
    if (fileNames === null) {
      // Never written: nothing to recover, and nothing is created until the first append needs it
      // (Segment.deferred), so opening a new or idle partition costs no file system work.
      return new PartitionLog(
        options,
        [Segment.deferred(options.dir, 0)],
        [],
        false,
        new LeaderEpochCache(options.dir, [], false),
      );
    }
    const marker = takeCleanMarker(options.dir);
    const checkpoint = readLeaderEpochCheckpoint(options.dir, fileNames);
    // Batches may carry no epoch past the checkpoint's latest (it is written before the first batch of
    // an epoch); none past 0 without a checkpoint (only a single node's epoch 0 is never written); any,
    // when the checkpoint is damaged and has to be rebuilt from them.
    const maxLeaderEpoch =
      checkpoint.kind === 'entries'
        ? Math.max(0, checkpoint.entries.at(-1)?.epoch ?? 0)
        : checkpoint.kind === 'absent'
          ? 0
          : 0x7fff_ffff;
    const { segments, problems, offsetGapsAllowed } = recoverSegments(
      options.dir,
      fileNames,
      marker,
      maxLeaderEpoch,
    );
    const active = segments[segments.length - 1];
    // After an unclean stop the active segment, and a closed one whose roll
    // sync had not completed (it has no index files), may hold bytes that
    // reached the page cache but never the disk (the process died, the
    // machine did not). They count as durable only once synced: do it now,
    // before anything is served or acknowledged from them, so a power loss
    // later cannot take them back. Other closed segments were synced when
    // they rolled.
    for (const segment of segments) {
      if (segment === active) {
        if (marker === null) io.fsync(segment.fd);
      } else if (segment.indexesPending) {
        io.fsync(segment.fd);
        segment.writeIndexes();
        segment.indexesPending = false;
      }
    }
    // A recovered active segment's age for segment.ms counts from this open.
    if (active !== undefined && active.sizeBytes > 0) active.createdMs = (options.nowMs ?? Date.now)();
    if (segments.length === 0) segments.push(Segment.deferred(options.dir, 0));
    const epochs = settleLeaderEpochs(options.dir, checkpoint, segments, problems);
    const log = new PartitionLog(options, segments, problems, offsetGapsAllowed, epochs);
    log.openedClean = marker !== null && marker.logEndOffset === log.logEndOffset;
    // A floor above the recovered end (records lost by a power loss under a weaker fsync policy) stops at the end.
    log.recordsDeletedBelow = Math.min(readLogStartOffset(options.dir, fileNames), log.logEndOffset);
    return log;
  }

  get logStartOffset(): number {
    return Math.max(this.segments[0]!.baseOffset, this.recordsDeletedBelow);
  }

  /**
   * DeleteRecords: moves the log start offset up to `offset` (at most the
   * high watermark). The new offset is recorded durably (log-start-offset.ts)
   * before it takes effect; then closed segments lying wholly below it are
   * removed (unless the cleaner is working on the log: retention removes them
   * later). Returns the log start offset after the call; an offset at or below
   * it changes nothing. Throws PyralogError OFFSET_OUT_OF_RANGE for an offset
   * past the high watermark, KAFKA_STORAGE_ERROR when the log has failed; an
   * I/O error while recording leaves the old log start offset in force.
   * The record is written with a synchronous fsync on the shard thread: a rare
   * admin call's small file, not on the produce or fetch path.
   */
  deleteRecordsBefore(offset: number): number {
    this.assertWritable();
    this.writeBuffered();
    if (!Number.isSafeInteger(offset) || offset < 0 || offset > this.highWatermark) {
      throw new PyralogError(
        KafkaErrorCode.OFFSET_OUT_OF_RANGE,
        `offset ${offset} is outside ${this.logStartOffset}..${this.highWatermark} (the high watermark)`,
      );
    }
    if (offset <= this.logStartOffset) return this.logStartOffset;
    writeLogStartOffset(this.options.dir, offset);
    this.recordsDeletedBelow = offset;
    if (!this.cleaning) this.removeSegmentsBelowFloor();
    return this.logStartOffset;
  }

  /** Removes closed segments wholly below the DeleteRecords floor; never the active one. */
  private removeSegmentsBelowFloor(): void {
    let removed = false;
    while (this.segments.length > 1 && this.segments[1]!.baseOffset <= this.recordsDeletedBelow) {
      const oldest = this.segments[0]!;
      if (oldest.syncing || oldest.dirty || oldest.indexesPending) break;
      this.segments.shift();
      oldest.remove();
      removed = true;
    }
    if (removed) fsyncDirectory(this.options.dir);
  }

  get logEndOffset(): number {
    return this.active.nextOffset;
  }

  /** The partition directory (files beside the segments, such as their transaction indexes). */
  get dir(): string {
    return this.options.dir;
  }

  /** Base and next offset of every segment, oldest first (the last one active). */
  segmentRanges(): { baseOffset: number; nextOffset: number }[] {
    return this.segments.map((segment) => ({
      baseOffset: segment.baseOffset,
      nextOffset: segment.nextOffset,
    }));
  }

  /**
   * What consumers may read. Under `fsync always` it is the durable offset,
   * so no consumer ever reads a record that a power loss could take back;
   * under `never` and an interval (which promise nothing across a power loss)
   * it is the log end, on a single broker where every append is committed.
   */
  get highWatermark(): number {
    const local = this.options.fsync === 'always' ? this.durable : this.active.nextOffset;
    return local < this.replicationBound ? local : this.replicationBound;
  }

  /**
   * Sets what replication allows consumers to see (see `replicationBound`):
   * the high watermark is then the lower of it and what this log alone would
   * allow. Infinity turns replication's part off.
   */
  setReplicationBound(offset: number): void {
    this.replicationBound = offset;
  }

  /** The latest leader epoch in this log; -1 when it holds none yet. */
  get latestEpoch(): number {
    return this.epochs.latestEpoch;
  }

  /** Epochs and where each began, oldest first (tests, describe). */
  epochEntries(): { epoch: number; startOffset: number }[] {
    return this.epochs.entries();
  }

  /** OffsetForLeaderEpoch: where `epoch` ends in this log, with the largest epoch at or below it. */
  endOffsetForEpoch(epoch: number): EpochEndOffset {
    return this.epochs.endOffsetFor(epoch, this.logEndOffset);
  }

  /**
   * The epoch later leader appends carry (a role change). It may not go
   * below the latest epoch in the log: a stale leader is refused
   * (FENCED_LEADER_EPOCH) rather than writing an epoch older than its data.
   */
  setLeaderEpoch(epoch: number): void {
    if (!Number.isInteger(epoch) || epoch < 0 || epoch > 0x7fff_ffff || epoch < this.epochs.latestEpoch) {
      throw new PyralogError(
        KafkaErrorCode.FENCED_LEADER_EPOCH,
        `leader epoch ${epoch} is older than the log's latest, ${this.epochs.latestEpoch}`,
      );
    }
    this.appendEpoch = epoch;
    // A new leader records its epoch at once, at its log end (as Kafka's makeLeader does), so a follower
    // asking where an epoch the leader never wrote in ends gets this epoch's start as the answer.
    if (epoch > this.epochs.latestEpoch) {
      this.writeBuffered();
      this.beginEpoch(epoch, this.logEndOffset);
    }
  }

  /** Every offset below this is covered by a completed fdatasync (or by the `never` policy). */
  get durableOffset(): number {
    return this.options.fsync === 'never' ? this.active.nextOffset : this.durable;
  }

  /** Syncs completed so far (statistics for tests and benchmarks). */
  get syncCount(): number {
    return this.groupCommit.syncCount;
  }

  segmentCount(): number {
    return this.segments.length;
  }

  /**
   * Appends one validated RecordBatch v2. `batch` may be a view into a ring:
   * its bytes are rewritten in place (offset, epoch, and for LogAppendTime the
   * timestamps and CRC), written to the file, and not kept. A failed write
   * leaves the log as it was (the part written is cut off) and throws
   * KAFKA_STORAGE_ERROR.
   */
  append(batch: Uint8Array, nowMs: number): AppendResult {
    this.writeBuffered();
    const position = this.placeBatch(batch, nowMs);
    try {
      writeFullyAt(this.active.fd, batch, position);
    } catch (error) {
      // Cut off whatever part of the batch reached the file, so the log stays whole batches.
      try {
        storageIo().truncate(this.active.fd, position);
      } catch {
        this.stop(`write failed, partition log stopped: ${errorMessage(error)}`);
      }
      throw new PyralogError(KafkaErrorCode.KAFKA_STORAGE_ERROR, `write failed: ${errorMessage(error)}`);
    }
    return this.recordAppend(batch, position, nowMs);
  }

  /**
   * Appends like `append`, except that the bytes are written later, by
   * `writeBuffered`, together with the other batches buffered since: one
   * system call for a burst of appends to this log instead of one each, which
   * on Linux costs far less per byte. Offsets, indexes and durability requests
   * advance at once. `batch` must stay unchanged until `writeBuffered` (or any
   * call that reads or syncs the log, which writes it first), and nothing
   * appended this way may be acknowledged before that write succeeds.
   */
  appendBuffered(batch: Uint8Array, nowMs: number): AppendResult {
    const position = this.placeBatch(batch, nowMs);
    if (this.buffered.length === 0) this.bufferedPosition = position;
    this.buffered.push(batch);
    this.bufferedBytes += batch.length;
    return this.recordAppend(batch, position, nowMs);
  }

  /**
   * Writes the batches `appendBuffered` took, back to back in one system call
   * where the kernel allows, and returns how many bytes that was (0 when
   * nothing was buffered). If that fails, the log stops taking writes (its
   * offsets already count the lost batches) and this throws
   * KAFKA_STORAGE_ERROR; reopening the log recovers what reached the file.
   */
  writeBuffered(): number {
    if (this.buffered.length === 0) return 0;
    const writtenBytes = this.bufferedBytes;
    try {
      writeAllAt(this.active.fd, this.buffered, this.bufferedBytes, this.bufferedPosition);
      return writtenBytes;
    } catch (error) {
      this.stop(`write failed, partition log stopped: ${errorMessage(error)}`);
      try {
        storageIo().truncate(this.active.fd, this.bufferedPosition);
      } catch {
        // The log is stopped either way; recovery cuts any torn batch when it is reopened.
      }
      throw new PyralogError(KafkaErrorCode.KAFKA_STORAGE_ERROR, this.failureMessage ?? 'write failed');
    } finally {
      this.buffered.length = 0;
      this.bufferedBytes = 0;
    }
  }

  /** Stops the log for good (first failure wins) and tells the owner, after the current call returns. */
  private stop(message: string): void {
    if (this.failure !== null) return;
    this.failure = new Error(message);
    queueMicrotask(() => this.onFailed?.(message));
  }

  /** Why the log stopped taking appends (a failed write or sync); null while it takes them. */
  get failureMessage(): string | null {
    return this.failure?.message ?? null;
  }

  /** Throws KAFKA_STORAGE_ERROR once a write or sync has failed: the log takes no more appends. */
  assertWritable(): void {
    if (this.failure !== null)
      throw new PyralogError(KafkaErrorCode.KAFKA_STORAGE_ERROR, this.failure.message);
  }

  /** Records that `epoch` begins at `startOffset` (written durably first when it must be: leader-epoch-cache.ts). */
  private beginEpoch(epoch: number, startOffset: number): void {
    if (epoch < this.epochs.latestEpoch) {
      throw new PyralogError(
        KafkaErrorCode.FENCED_LEADER_EPOCH,
        `leader epoch ${epoch} is older than the log's latest, ${this.epochs.latestEpoch}`,
      );
    }
    // The checkpoint lives in the partition directory, which a deferred segment creates on first use.
    if (epoch > 0) void this.active.fd;
    this.epochs.assign(epoch, startOffset);
  }

  /** A stored batch's epoch is plausible: not negative and not past the latest this log knows. */
  private epochInRange(epoch: number): boolean {
    return epoch >= 0 && epoch <= Math.max(0, this.epochs.latestEpoch);
  }

  /**
   * Appends batches a leader sent (a follower's fetch), keeping their offsets
   * and leader epochs as they are. Each must pass its CRC, start at or past
   * the log end, and carry an epoch no older than the latest here; a new
   * epoch is recorded (durably) before its first batch is written.
   *
   * A batch may start past the log end: the leader's log has a gap there
   * (compaction removed whole batches, as in Kafka). The first such gap marks
   * the log as one with offset gaps, durably, before the batch is written
   * (the `compacted` marker, segment-files.ts), so recovery accepts it.
   * A batch may start below the log end only when this log holds nothing and
   * the batch holds the log end: a follower restarted at its leader's log
   * start (`resetLogStart`) fetches the batch holding that offset, which may
   * begin below it (DeleteRecords need not cut at a batch boundary); the
   * empty segment is then moved down to the batch's base offset while the log
   * start offset stays where it was.
   *
   * The batches are written together before this returns; durability follows
   * the fsync policy as for any append (`durableOffset`). Throws PyralogError
   * before writing anything of the first bad batch (batches before it are
   * kept): CORRUPT_MESSAGE, OFFSET_OUT_OF_RANGE or FENCED_LEADER_EPOCH.
   * Returns the log end after the append.
   */
  appendAsFollower(chunk: Uint8Array, nowMs: number): number {
    this.assertWritable();
    const { bytes, view } = this.batchViews.of(chunk);
    const end = chunk.byteOffset + chunk.length;
    let at = chunk.byteOffset;
    try {
      while (at < end) {
        const sizeBytes = checkBatch(bytes, view, at, end);
        if (sizeBytes < 0) {
          throw new PyralogError(
            KafkaErrorCode.CORRUPT_MESSAGE,
            `replicated batch fails its check (${sizeBytes})`,
          );
        }
        const baseOffset = readInt64(view, at + BatchHeader.BASE_OFFSET);
        const lastOffset = baseOffset + view.getInt32(at + BatchHeader.LAST_OFFSET_DELTA);
        const logEnd = this.logEndOffset;
        if (baseOffset < logEnd && !(lastOffset >= logEnd && this.holdsNothing())) {
          throw new PyralogError(
            KafkaErrorCode.OFFSET_OUT_OF_RANGE,
            `replicated batch starts at ${baseOffset}, below the log end ${logEnd}`,
          );
        }
        const epoch = view.getInt32(at + BatchHeader.PARTITION_LEADER_EPOCH);
        if (epoch < 0) {
          throw new PyralogError(
            KafkaErrorCode.CORRUPT_MESSAGE,
            `replicated batch has leader epoch ${epoch}`,
          );
        }
        if (lastOffset >= OFFSET_MAX) {
          throw new PyralogError(
            KafkaErrorCode.POLICY_VIOLATION,
            `replicated batch passes offset ${OFFSET_MAX}`,
          );
        }
        const batch = chunk.subarray(at - chunk.byteOffset, at - chunk.byteOffset + sizeBytes);
        const position = this.placeReplicated(batch, baseOffset, lastOffset, epoch, nowMs);
        if (this.buffered.length === 0) this.bufferedPosition = position;
        this.buffered.push(batch);
        this.bufferedBytes += sizeBytes;
        this.recordAppend(batch, position, nowMs, baseOffset);
        at += sizeBytes;
      }
    } finally {
      this.writeBuffered();
    }
    return this.logEndOffset;
  }

  /** Nothing is in this log: one empty segment, nothing buffered (a new log, or one just restarted). */
  private holdsNothing(): boolean {
    return this.segments.length === 1 && this.active.sizeBytes === 0 && this.buffered.length === 0;
  }

  /**
   * Places a replicated batch: moves an empty active segment to the batch's
   * base offset where it must (see appendAsFollower; and when the batch lies
   * further past the segment's base than its indexes reach), marks offset
   * gaps allowed before the first gap, rolls if the batch does not fit (the
   * new segment starting at the batch's base offset), records a new epoch,
   * and returns the batch's file position.
   */
  private placeReplicated(
    batch: Uint8Array,
    baseOffset: number,
    lastOffset: number,
    epoch: number,
    nowMs: number,
  ): number {
    assert(!this.closed, 'append to a closed log');
    if (
      this.active.sizeBytes === 0 &&
      this.buffered.length === 0 &&
      (baseOffset < this.active.baseOffset || lastOffset - this.active.baseOffset > RELATIVE_OFFSET_MAX)
    ) {
      this.moveEmptyActiveTo(baseOffset);
    } else if (
      this.active.sizeBytes > 0 &&
      (this.shouldRoll(batch.length, nowMs) || lastOffset - this.active.baseOffset > RELATIVE_OFFSET_MAX)
    ) {
      this.roll(baseOffset);
    }
    if (baseOffset > this.active.nextOffset) this.allowOffsetGaps();
    if (epoch !== this.epochs.latestEpoch) this.beginEpoch(epoch, baseOffset);
    return this.active.sizeBytes;
  }

  /**
   * From now on this log may hold offset gaps (a follower of a compacted
   * leader): the marker that tells recovery so is written and synced first.
   */
  private allowOffsetGaps(): void {
    if (this.compaction.offsetGapsAllowed) return;
    void this.active.fd; // the partition directory exists (a deferred segment makes it here)
    writeFileSynced(`${this.options.dir}/${COMPACTED_MARKER_NAME}`, new Uint8Array(0));
    fsyncDirectory(this.options.dir);
    this.compaction.offsetGapsAllowed = true;
  }

  /**
   * Replaces the empty active segment by an empty one based at `baseOffset`: the new file is
   * created (and the directory synced) before the old one goes, so a crash leaves one of them or
   * both, all empty, which recovery takes as an empty log ending at the higher base.
   */
  private moveEmptyActiveTo(baseOffset: number): void {
    const old = this.active;
    void old.fd; // the directory exists
    const fresh = Segment.create(this.options.dir, baseOffset);
    fsyncDirectory(this.options.dir);
    this.segments[this.segments.length - 1] = fresh;
    this.active = fresh;
    old.remove();
    fsyncDirectory(this.options.dir);
    if (this.durable > baseOffset || this.segments.length === 1) this.durable = baseOffset;
  }

  /**
   * Empties the log and starts it again, empty, at `offset` (Kafka's
   * truncateFullyAndStartAt): a follower whose log ends below its leader's
   * log start (retention or DeleteRecords on the leader) can never fetch
   * what it lacks, so it drops everything and goes on from the leader's log
   * start. Crash-safe by its order: the log start offset is recorded first
   * (log-start-offset.ts), so after a crash at any later step the log reopens
   * with nothing readable below its end and the follower is told again; then
   * the segments go, newest first; then an empty segment at `offset` is
   * created and the directory synced; last the epoch checkpoint is emptied
   * (the epochs it named describe batches that are gone; the next replicated
   * batch records its own). Waits for syncs in flight first, as truncateTo.
   * Resolves with the new log end, `offset`.
   */
  async resetLogStart(offset: number): Promise<number> {
    await this.settleForCut();
    if (!Number.isSafeInteger(offset) || offset < 0 || offset >= OFFSET_MAX) {
      throw new PyralogError(KafkaErrorCode.OFFSET_OUT_OF_RANGE, `cannot start the log at ${offset}`);
    }
    try {
      this.restartAt(offset);
    } catch (error) {
      this.stop(`log reset failed, partition log stopped: ${errorMessage(error)}`);
      throw new PyralogError(KafkaErrorCode.KAFKA_STORAGE_ERROR, `log reset failed: ${errorMessage(error)}`);
    }
    return this.logEndOffset;
  }

  private restartAt(offset: number): void {
    void this.active.fd; // the directory exists (a deferred segment makes it here)
    writeLogStartOffset(this.options.dir, offset);
    this.recordsDeletedBelow = offset;
    while (this.segments.length > 0) this.segments.pop()!.remove();
    const fresh = Segment.create(this.options.dir, offset);
    this.segments.push(fresh);
    this.active = fresh;
    fsyncDirectory(this.options.dir);
    this.durable = offset;
    this.compaction.cleanedUpToOffset = offset;
    this.epochs.replaceAll([]);
  }

  /** Before a cut: writes what is buffered and waits for syncs in flight; refuses while the cleaner works. */
  private async settleForCut(): Promise<void> {
    this.assertWritable();
    this.writeBuffered();
    for (let round = 0; this.syncsInFlight() && round < 1000; round++) {
      await this.groupCommit.idle();
      await this.rollSyncsDone();
    }
    this.assertWritable();
    this.writeBuffered();
    if (this.cleaning) {
      throw new PyralogError(
        KafkaErrorCode.REQUEST_TIMED_OUT,
        'the log cleaner is working on the log; retry',
      );
    }
  }

  /**
   * Cuts the log so that it ends at or below `offset` (a follower
   * truncating to where it agrees with its leader): every batch whose last
   * offset is at or past `offset` goes, so the new end is the base offset of
   * the batch holding `offset`. Whole segments past it are removed; the one
   * it falls in is cut at a batch boundary, synced, and its indexes rebuilt
   * from its headers. Epochs that began at or past the new end are
   * forgotten. Waits for syncs in flight first (they hold descriptors and
   * would report a durable offset past the cut). Resolves with the new log
   * end; an offset at or past the end changes nothing.
   */
  async truncateTo(offset: number): Promise<number> {
    await this.settleForCut();
    if (!Number.isSafeInteger(offset) || offset < 0) {
      throw new PyralogError(KafkaErrorCode.OFFSET_OUT_OF_RANGE, `cannot truncate to ${offset}`);
    }
    if (offset >= this.logEndOffset) return this.logEndOffset;
    try {
      // Below the log start nothing here can be kept: start again, empty, at the cut (as Kafka does),
      // with the recorded log start moved down with it.
      if (offset < this.logStartOffset) {
        this.restartAt(offset);
        return this.logEndOffset;
      }
      this.cutAt(offset);
    } catch (error) {
      this.stop(`truncation failed, partition log stopped: ${errorMessage(error)}`);
      throw new PyralogError(KafkaErrorCode.KAFKA_STORAGE_ERROR, `truncation failed: ${errorMessage(error)}`);
    }
    const end = this.logEndOffset;
    if (this.durable > end) this.durable = end;
    // A DeleteRecords floor past the cut stops at the new end (as the open clamps a recorded one).
    if (this.recordsDeletedBelow > end) this.recordsDeletedBelow = end;
    this.epochs.truncateFromEnd(end);
    return end;
  }

  private syncsInFlight(): boolean {
    if (this.rollSyncs.size > 0) return true;
    for (const segment of this.segments) if (segment.syncing) return true;
    return false;
  }

  private cutAt(offset: number): void {
    let removed = false;
    while (this.segments.length > 1 && this.segments[this.segments.length - 1]!.baseOffset >= offset) {
      this.segments.pop()!.remove();
      removed = true;
    }
    const last = this.segments[this.segments.length - 1]!;
    if (last.baseOffset >= offset) {
      // Everything goes: start again, empty, where the cut is.
      this.segments.pop();
      last.remove();
      const fresh = Segment.create(this.options.dir, offset);
      this.segments.push(fresh);
      this.active = fresh;
      fsyncDirectory(this.options.dir);
      return;
    }
    if (last !== this.active) {
      // A closed segment becomes the active one again: its index files would vouch for bytes about to change.
      last.removeIndexFiles();
      removed = true;
    }
    this.active = last;
    const cutPosition = this.batchStartHolding(last, offset);
    storageIo().truncate(last.fd, cutPosition);
    storageIo().fsync(last.fd);
    last.offsetIndex = new OffsetIndex();
    last.timeIndex = new TimeIndex();
    last.sizeBytes = 0;
    last.nextOffset = last.baseOffset;
    const scan = scanSegment(last, cutPosition, 0, last.baseOffset, false, this.compaction.offsetGapsAllowed);
    assert(scan.validBytes === cutPosition, `re-walk after truncation stopped early: ${scan.problem}`);
    last.verifiedBytes = Math.min(last.verifiedBytes, cutPosition);
    if (last.appendedFrom >= cutPosition) last.appendedFrom = Number.POSITIVE_INFINITY;
    last.dirty = false;
    last.indexesPending = false;
    if (removed) fsyncDirectory(this.options.dir);
  }

  /** File position of the first batch in `segment` whose last offset is at or past `offset`; its size if none. */
  private batchStartHolding(segment: Segment, offset: number): number {
    const header = new Uint8Array(BatchHeader.SIZE_BYTES);
    const view = new DataView(header.buffer);
    let position = segment.offsetIndex.positionFor(offset - segment.baseOffset);
    while (position < segment.sizeBytes) {
      const got = storageIo().read(segment.fd, header, 0, header.length, position);
      const sizeBytes = nextBatchBytes(view, 0, BatchHeader.SIZE_BYTES);
      if (got < BatchHeader.SIZE_BYTES || (sizeBytes < 0 && sizeBytes !== -1)) {
        throw new StorageCorruptionError(`unreadable batch header at byte ${position} of ${segment.logPath}`);
      }
      const lastOffset =
        readInt64(view, BatchHeader.BASE_OFFSET) + view.getInt32(BatchHeader.LAST_OFFSET_DELTA);
      if (lastOffset >= offset) return position;
      position += view.getInt32(BatchHeader.BATCH_LENGTH) + BatchHeader.LOG_OVERHEAD_BYTES;
    }
    return segment.sizeBytes;
  }

  /** Rolls if the batch does not fit, rewrites its header for this log, and returns its file position. */
  private placeBatch(batch: Uint8Array, nowMs: number): number {
    this.assertWritable();
    assert(!this.closed, 'append to a closed log');
    const sizeBytes = batch.length;
    assert(sizeBytes >= BatchHeader.SIZE_BYTES, 'append of a batch shorter than its header');
    const view = this.batchViews.of(batch).view;
    const at = batch.byteOffset;
    const lastOffset = this.active.nextOffset + view.getInt32(at + BatchHeader.LAST_OFFSET_DELTA);
    if (lastOffset >= OFFSET_MAX) {
      throw new PyralogError(
        KafkaErrorCode.POLICY_VIOLATION,
        `the batch's last offset ${lastOffset} would pass ${OFFSET_MAX}, the largest offset this broker ` +
          'holds (offsets are JavaScript numbers, exact to 2^53-1)',
      );
    }
    if (
      this.active.sizeBytes > 0 &&
      (this.shouldRoll(sizeBytes, nowMs) || lastOffset - this.active.baseOffset > RELATIVE_OFFSET_MAX)
    ) {
      this.roll();
    }
    // A leader's first batch in a new epoch records where the epoch begins, durably, before it is written.
    if (this.appendEpoch !== this.epochs.latestEpoch)
      this.beginEpoch(this.appendEpoch, this.active.nextOffset);
    writeInt64(view, at + BatchHeader.BASE_OFFSET, this.active.nextOffset);
    view.setInt32(at + BatchHeader.PARTITION_LEADER_EPOCH, this.appendEpoch);
    if (this.options.config.timestampType === 'LogAppendTime') {
      view.setInt16(
        at + BatchHeader.ATTRIBUTES,
        view.getInt16(at + BatchHeader.ATTRIBUTES) | BatchAttributes.TIMESTAMP_TYPE_LOG_APPEND,
      );
      writeInt64(view, at + BatchHeader.MAX_TIMESTAMP, nowMs);
      view.setUint32(at + BatchHeader.CRC, crc32c(batch, BatchHeader.CRC_START));
    }
    return this.active.sizeBytes;
  }

  /** Advances the active segment past a batch placed at `position` and asks for its sync. */
  private recordAppend(
    batch: Uint8Array,
    position: number,
    nowMs: number,
    /** The batch's own base offset (a replicated batch past an offset gap); the log end by default. */
    baseOffset = this.active.nextOffset,
  ): AppendResult {
    const view = this.batchViews.of(batch).view;
    const at = batch.byteOffset;
    const lastOffset = baseOffset + view.getInt32(at + BatchHeader.LAST_OFFSET_DELTA);
    if (this.active.createdMs < 0) this.active.createdMs = nowMs;
    this.active.lastLeaderEpoch = view.getInt32(at + BatchHeader.PARTITION_LEADER_EPOCH);
    this.active.onAppend(
      position,
      baseOffset,
      lastOffset + 1,
      readInt64(view, at + BatchHeader.MAX_TIMESTAMP),
      batch.length,
    );
    if (this.active.verifiedBytes >= position) this.active.verifiedBytes = this.active.sizeBytes;
    else this.active.appendedFrom = Math.min(this.active.appendedFrom, position);
    this.active.dirty = true;
    if (this.options.fsync === 'always') this.groupCommit.request();
    const result = this.result;
    result.baseOffset = baseOffset;
    result.lastOffset = lastOffset;
    result.logAppendTimeMs = this.options.config.timestampType === 'LogAppendTime' ? nowMs : -1;
    return result;
  }

  /**
   * Whole batches from the one containing `offset`, up to `maxBytes` (at least
   * one batch, even a larger one). Empty at the log end; OFFSET_OUT_OF_RANGE
   * outside [logStartOffset, logEndOffset]. The view is valid until the next read.
   * A compacted log skips a chunk of nothing but empty batches for a consumer;
   * `keepEmptyBatches` (a follower replicating this log) returns them, so the
   * follower's log ends where this one does.
   */
  read(offset: number, maxBytes: number, keepEmptyBatches = false): Uint8Array {
    this.writeBuffered();
    if (offset < this.logStartOffset || offset > this.logEndOffset) {
      throw new PyralogError(
        KafkaErrorCode.OFFSET_OUT_OF_RANGE,
        `offset ${offset} is outside ${this.logStartOffset}..${this.logEndOffset}`,
      );
    }
    if (offset === this.logEndOffset) return EMPTY;
    for (let i = this.segmentIndexFor(offset); i < this.segments.length; i++) {
      const segment = this.segments[i]!;
      if (offset >= segment.nextOffset) continue; // a gap left by a repaired or compacted segment
      const chunk = this.readFromSegment(segment, Math.max(offset, segment.baseOffset), maxBytes);
      if (chunk.length === 0) continue;
      if (!this.compaction.offsetGapsAllowed || keepEmptyBatches) return chunk;
      // Compacted: a chunk of nothing but empty batches (kept for offsets or producer state) would give a
      // consumer no record to move past (kafkajs asks again at the same offset): read on past it.
      const after = this.endOfEmptyBatches(chunk);
      if (after < 0) return chunk;
      offset = after;
      if (offset >= this.logEndOffset) return EMPTY;
      i = this.segmentIndexFor(offset) - 1;
    }
    return EMPTY;
  }

  /** The offset after `chunk` when every batch in it holds no record; -1 when one holds some. */
  private endOfEmptyBatches(chunk: Uint8Array): number {
    const at = chunk.byteOffset - this.scratch.byteOffset;
    let position = at;
    let next = -1;
    for (;;) {
      const sizeBytes = nextBatchBytes(this.scratchView, position, at + chunk.length);
      if (sizeBytes < 0) break;
      if (this.scratchView.getInt32(position + BatchHeader.RECORD_COUNT) !== 0) return -1;
      next =
        readInt64(this.scratchView, position + BatchHeader.BASE_OFFSET) +
        this.scratchView.getInt32(position + BatchHeader.LAST_OFFSET_DELTA) +
        1;
      position += sizeBytes;
    }
    return next;
  }

  /**
   * `read`, limited to what consumers may see: whole batches below the high
   * watermark (which is always a batch boundary). Empty from the high
   * watermark up to the log end.
   */
  readCommitted(offset: number, maxBytes: number): Uint8Array {
    return this.readBelow(offset, maxBytes, this.highWatermark);
  }

  /**
   * `read`, limited to whole batches below `limitOffset` (at most the high
   * watermark; a batch boundary, as the last stable offset always is). Empty
   * from `limitOffset` up to the log end.
   */
  readBelow(offset: number, maxBytes: number, limitOffset: number): Uint8Array {
    if (offset >= limitOffset && offset <= this.logEndOffset) return EMPTY;
    const chunk = this.read(offset, maxBytes);
    if (limitOffset >= this.logEndOffset || chunk.length === 0) return chunk;
    // Cut before the first batch at or past the limit (chunk is a view into scratch).
    const at = chunk.byteOffset - this.scratch.byteOffset;
    let end = 0;
    for (;;) {
      const sizeBytes = nextBatchBytes(this.scratchView, at + end, at + chunk.length);
      if (sizeBytes < 0) break;
      if (readInt64(this.scratchView, at + end + BatchHeader.BASE_OFFSET) >= limitOffset) break;
      end += sizeBytes;
    }
    return end >= chunk.length ? chunk : chunk.subarray(0, end);
  }

  /**
   * Where offsets [fromOffset, endOffset) lie in the segment files, for a
   * reader outside this shard (segment-extents.ts says why that is safe);
   * null when the storage cannot name its files. Buffered appends are written
   * first, so every byte an extent covers is in its file. OFFSET_OUT_OF_RANGE
   * outside [logStartOffset, logEndOffset], as `read`.
   */
  readableExtents(fromOffset: number, endOffset: number, countMax: number): SegmentExtent[] | null {
    this.writeBuffered();
    if (fromOffset < this.logStartOffset || fromOffset > this.logEndOffset) {
      throw new PyralogError(
        KafkaErrorCode.OFFSET_OUT_OF_RANGE,
        `offset ${fromOffset} is outside ${this.logStartOffset}..${this.logEndOffset}`,
      );
    }
    // Never past the high watermark: bytes above it may still be truncated (a follower) or never become durable.
    const end = Math.min(endOffset, this.highWatermark);
    return segmentExtents(
      this.segments,
      fromOffset,
      end,
      countMax,
      Math.max(0, this.epochs.latestEpoch),
      (segment) => this.positionAfterOffsetsBelow(segment, end),
      storageIo(),
    );
  }

  /** File position just past the batches of `segment` holding offsets below `offset` (a batch boundary). */
  private positionAfterOffsetsBelow(segment: Segment, offset: number): number {
    const position = this.batchStartHolding(segment, offset);
    if (position >= segment.sizeBytes) return segment.sizeBytes;
    const header = new Uint8Array(BatchHeader.SIZE_BYTES);
    const view = new DataView(header.buffer);
    const got = storageIo().read(segment.fd, header, 0, header.length, position);
    const sizeBytes = nextBatchBytes(view, 0, BatchHeader.SIZE_BYTES);
    if (got < BatchHeader.SIZE_BYTES || (sizeBytes < 0 && sizeBytes !== -1))
      throw new StorageCorruptionError(`unreadable batch header at byte ${position} of ${segment.logPath}`);
    // The batch holding `offset` may start below it: then its records below `offset` are wanted too.
    if (readInt64(view, BatchHeader.BASE_OFFSET) >= offset) return position;
    return position + view.getInt32(BatchHeader.BATCH_LENGTH) + BatchHeader.LOG_OVERHEAD_BYTES;
  }

  /** The first offset whose record timestamp is at or after `timestampMs`; null when there is none. */
  offsetForTimestamp(timestampMs: number): { offset: number; timestampMs: number } | null {
    for (const segment of this.segments) {
      if (segment.timeIndex.maxTimestampMs < timestampMs) continue;
      const startOffset = segment.baseOffset + segment.timeIndex.startOffsetFor(timestampMs);
      const found = timestampLookup(
        (offset) => this.read(offset, SCRATCH_BYTES_MIN),
        startOffset,
        segment.nextOffset,
        timestampMs,
      );
      if (found !== null) return found;
    }
    return null;
  }

  /**
   * Closed segments the log cleaner should clean now (log-compaction.ts), or
   * null: not a compacted topic, a job already out, or not dirty enough. Until
   * the job ends (`endClean` after `commitClean`'s finalize, or `finishClean`), no other job is handed out.
   */
  planClean(nowMs: number, ioBytesPerSecond: number): CleanJob | null {
    if (this.closed || this.failure !== null || !compactionEnabled(this.options.config)) return null;
    this.writeBuffered();
    return planClean(
      this.options.dir,
      this.segments,
      this.options.config,
      this.compaction,
      nowMs,
      ioBytesPerSecond,
    );
  }

  /**
   * The shard's part of swapping in what the cleaner made of the planned job
   * (log-compaction.ts): a rename and a pointer swap per segment. Null: the
   * job failed, and is over. When the result's `finalize` is not null, the
   * cleaner's thread runs it (clean-finalize.ts) and `endClean` is called
   * after; until then the job stays open.
   */
  commitClean(outcome: CleanOutcome | null): SwapResult {
    return commitClean(this.segments, this.compaction, this.closed ? null : outcome);
  }

  /** The cleaner finished (or failed) the finalize `commitClean` asked for: the job is over. */
  endClean(): void {
    endClean(this.compaction);
  }

  /** prepare (if the cleaner did not), commit and finalize on this thread: for tests and tools. */
  finishClean(outcome: CleanOutcome | null): SwapResult {
    return finishClean(this.options.dir, this.segments, this.compaction, this.closed ? null : outcome);
  }

  /** A cleaner job is out for this log. */
  get cleaning(): boolean {
    return this.compaction.jobInFlight !== null;
  }

  /**
   * The batch holding the greatest timestamp (ListOffsets' -3, KIP-734): its base offset and that
   * timestamp, from the segments' time indexes; null when no batch has a timestamp.
   */
  offsetOfMaxTimestamp(): { offset: number; timestampMs: number } | null {
    let maxTimestampMs = -1;
    for (const segment of this.segments) {
      if (segment.timeIndex.maxTimestampMs > maxTimestampMs)
        maxTimestampMs = segment.timeIndex.maxTimestampMs;
    }
    return maxTimestampMs < 0 ? null : this.offsetForTimestamp(maxTimestampMs);
  }

  /**
   * Deletes whole closed segments past retention.ms or beyond retention.bytes; never the active one.
   * A topic with cleanup.policy=compact alone keeps every segment (the cleaner bounds it instead).
   */
  enforceRetention(nowMs: number): void {
    // A swap being finalized: the cleaner is renaming index files of its segments into place (next tick).
    if (this.compaction.finalizing) return;
    // Segments a DeleteRecords left wholly below the log start offset go whatever the policy.
    if (!this.cleaning) this.removeSegmentsBelowFloor();
    if (this.options.config.cleanupPolicy === 'compact') return;
    const { retentionMs, retentionBytes } = this.options.config;
    let totalBytes = this.sizeBytes();
    let removed = false;
    while (this.segments.length > 1) {
      const oldest = this.segments[0]!;
      if (oldest.syncing || oldest.dirty || oldest.indexesPending) break;
      const expired = retentionMs >= 0 && oldest.timeIndex.maxTimestampMs < nowMs - retentionMs;
      const oversize = retentionBytes >= 0 && totalBytes - oldest.sizeBytes >= retentionBytes;
      if (!expired && !oversize) break;
      this.segments.shift();
      totalBytes -= oldest.sizeBytes;
      oldest.remove();
      removed = true;
    }
    if (removed) fsyncDirectory(this.options.dir);
  }

  sizeBytes(): number {
    let total = 0;
    for (const segment of this.segments) total += segment.sizeBytes;
    return total;
  }

  /** Syncs everything appended so far; resolves once durableOffset covers it. */
  async flush(): Promise<void> {
    if (this.closed) return;
    this.groupCommit.request();
    await this.groupCommit.idle();
    this.assertWritable();
  }

  /** Final sync, index files, clean-shutdown marker; closes every file. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.intervalTimer !== null) clearInterval(this.intervalTimer);
    await this.flush();
    await this.rollSyncsDone();
    this.assertWritable();
    this.closed = true;
    // A partition never written has no directory: nothing to mark.
    if (!this.active.exists) return;
    this.active.writeIndexes();
    writeCleanMarker(this.options.dir, {
      activeBaseOffset: this.active.baseOffset,
      activeSizeBytes: this.active.sizeBytes,
      logEndOffset: this.active.nextOffset,
    });
    for (const segment of this.segments) segment.close();
  }

  /**
   * Closes the file descriptors of an idle log; its next read, append or
   * sync opens what it needs again (Segment.fd). Refused (false, nothing
   * closed that matters) while it has appends not yet written or synced, or a
   * sync or roll in flight: a write-back error must reach the descriptor that
   * syncs, and an ack waits on that sync. `requestSync` makes such a log
   * parkable once its sync completes.
   */
  parkFiles(): boolean {
    if (this.closed || this.failure !== null || this.buffered.length > 0 || this.rollSyncs.size > 0) {
      return false;
    }
    let parked = true;
    for (const segment of this.segments) if (!segment.park()) parked = false;
    return parked;
  }

  /** False for a log never written (nothing on disk yet: Segment.deferred). */
  hasFiles(): boolean {
    return this.segments.length > 1 || this.active.exists;
  }

  /** Descriptors this log holds open now. */
  openFileCount(): number {
    let count = 0;
    for (const segment of this.segments) if (segment.holdsFd) count++;
    return count;
  }

  /** Starts a sync of whatever is not yet durable (group commit), without waiting for it. */
  requestSync(): void {
    if (!this.closed && this.failure === null) this.groupCommit.request();
  }

  /**
   * From now on this log never opens or creates a file again (a descriptor
   * still open stays usable: a sync in flight holds it). `abandon` and
   * `destroy` start with it; a simulated crash applies it alone to the log of
   * the process that died, so a late sync cannot create a deferred segment's
   * file under the log that replaced it.
   */
  retire(): void {
    for (const segment of this.segments) segment.retire();
  }

  /**
   * Closes every file of a stopped log without a sync or a clean marker
   * (partition gone offline): the next open recovers from what is on disk.
   * Waits for a sync in flight first, which still holds a file descriptor.
   */
  async abandon(): Promise<void> {
    if (this.closed) return;
    if (this.intervalTimer !== null) clearInterval(this.intervalTimer);
    this.closed = true;
    this.retire();
    this.buffered.length = 0;
    this.bufferedBytes = 0;
    await this.groupCommit.idle();
    await this.rollSyncsDone();
    for (const segment of this.segments) segment.close();
  }

  /** Closes the log without a final sync and removes its directory (topic deleted). */
  async destroy(): Promise<void> {
    if (this.intervalTimer !== null) clearInterval(this.intervalTimer);
    this.retire();
    await this.groupCommit.idle();
    await this.rollSyncsDone();
    this.closed = true;
    this.buffered.length = 0;
    for (const segment of this.segments) segment.close();
    storageIo().removeDirectory(this.options.dir);
  }

  // ---- SyncTarget (group-commit.ts) ----------------------------------------

  takeDirtySegments(): Segment[] {
    // A sync covers logEndOffset, buffered appends included: write them first (a failure fails the sync).
    this.writeBuffered();
    const dirty: Segment[] = [];
    for (const segment of this.segments) {
      if (segment.dirty) {
        segment.dirty = false;
        dirty.push(segment);
      }
    }
    return dirty;
  }

  onSynced(coveredOffset: number): void {
    if (coveredOffset > this.durable) {
      this.durable = coveredOffset;
      this.onDurable?.();
    }
  }

  onSyncFailed(error: Error): void {
    // After a failed fdatasync the kernel may have dropped the dirty pages: no
    // later sync can prove they reached the disk, so the log stops taking writes.
    this.stop(`fdatasync failed, partition log stopped: ${error.message}`);
  }

  // ---- internals --------------------------------------------------------------

  private shouldRoll(incomingBytes: number, nowMs: number): boolean {
    const { segmentBytes, segmentMs } = this.options.config;
    if (this.active.sizeBytes + incomingBytes > segmentBytes) return true;
    return this.active.createdMs >= 0 && nowMs - this.active.createdMs >= segmentMs;
  }

  /**
   * Closes the active segment and starts another. The closing segment's log
   * is synced on libuv's pool, in every fsync mode, and its index files are
   * written only once that sync has completed: recovery trusts a closed
   * segment that has index files (it walks its headers without checking
   * CRCs), which is sound because they exist only once its log is durable;
   * one without them (a crash or power loss before that) is CRC-scanned and
   * cut at its first bad batch, like an active segment. A failed sync stops
   * the log like any failed sync. Under `always` the closed segment also
   * stays in the dirty set: durableOffset advances past its appends with the
   * next group commit, as for any append.
   */
  private roll(
    /** Where the next segment begins: the log end, or past it (a replicated batch after an offset gap). */
    nextBaseOffset = this.active.nextOffset,
  ): void {
    this.writeBuffered();
    const closing = this.active;
    this.onRoll?.(closing.baseOffset, closing.nextOffset);
    // Index files a clean close wrote while it was active would vouch for a log not yet synced: remove
    // them, durably together with the new segment's creation (one directory sync).
    closing.removeIndexFiles();
    const next = Segment.create(this.options.dir, nextBaseOffset);
    fsyncDirectory(this.options.dir);
    this.segments.push(next);
    this.active = next;
    closing.indexesPending = true;
    const synced = new Promise<void>((resolve) => {
      storageIo().fdatasync(closing.fd, (error) => {
        if (error !== null) {
          this.stop(`fdatasync failed while rolling, partition log stopped: ${error.message}`);
        } else {
          // Under `never` nothing else ever syncs this segment, and nothing else would clear its flag:
          // retention and the cleaner pass over dirty segments, so the log would grow without bound.
          // Under `always` and intervals the group commit's next sync clears it, advancing durableOffset.
          if (this.options.fsync === 'never') closing.dirty = false;
          try {
            closing.writeIndexes();
          } catch (indexError) {
            this.stop(`index write failed, partition log stopped: ${errorMessage(indexError)}`);
          }
        }
        closing.indexesPending = false;
        resolve();
      });
    });
    this.rollSyncs.add(synced);
    void synced.then(() => this.rollSyncs.delete(synced));
  }

  /** Resolves once the syncs of rolled segments in flight have completed (tests; see roll). */
  async rolledSegmentsSynced(): Promise<void> {
    await this.rollSyncsDone();
  }

  /** Waits for the syncs of rolled segments in flight: they hold file descriptors. */
  private async rollSyncsDone(): Promise<void> {
    while (this.rollSyncs.size > 0) await Promise.all(this.rollSyncs);
  }

  /** Index of the last segment whose base offset is at or below `offset`. */
  private segmentIndexFor(offset: number): number {
    let low = 0;
    let high = this.segments.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >>> 1;
      if (this.segments[middle]!.baseOffset <= offset) low = middle;
      else high = middle - 1;
    }
    return low;
  }

  private ensureScratch(bytes: number): void {
    if (this.scratch.length >= bytes) return;
    this.scratch = new Uint8Array(Math.max(bytes, this.scratch.length * 2, SCRATCH_BYTES_INITIAL));
    this.scratchView = new DataView(this.scratch.buffer);
  }

  private readFromSegment(segment: Segment, offset: number, maxBytes: number): Uint8Array {
    let position = segment.offsetIndex.positionFor(offset - segment.baseOffset);
    // Find the batch that contains `offset`, reading from the indexed position.
    let start = -1;
    let got = 0;
    let at = 0;
    while (start < 0) {
      const want = Math.min(
        segment.sizeBytes - position,
        Math.max(maxBytes, SCRATCH_BYTES_MIN) + SEARCH_SLACK_BYTES,
      );
      if (want <= 0) return EMPTY;
      this.ensureScratch(want);
      got = storageIo().read(segment.fd, this.scratch, 0, want, position);
      const found = findBatchContaining(this.scratchView, got, offset);
      if (found.position >= 0) {
        at = found.position;
        start = position + at;
      } else if (found.scannedBytes > 0) {
        position += found.scannedBytes;
      } else {
        throw new StorageCorruptionError(`unreadable batch header at byte ${position} of ${segment.logPath}`);
      }
    }
    // Take whole batches up to maxBytes (at least one), re-reading when the first read fell short.
    const wanted = Math.min(maxBytes, segment.sizeBytes - start);
    if (got - at < wanted || got - at < BatchHeader.LOG_OVERHEAD_BYTES) {
      const firstBatchBytes = this.batchSizeAt(segment, start, at, got);
      const readBytes = Math.min(Math.max(wanted, firstBatchBytes), segment.sizeBytes - start);
      this.ensureScratch(readBytes);
      got = storageIo().read(segment.fd, this.scratch, 0, readBytes, start);
      at = 0;
    }
    let end = at;
    for (;;) {
      const sizeBytes = nextBatchBytes(this.scratchView, end, got);
      if (sizeBytes < 0 || (end > at && end + sizeBytes - at > maxBytes)) break;
      end += sizeBytes;
    }
    // The first batch was read whole (above), so if it does not walk its header is damaged: say so
    // rather than return nothing, which would leave a consumer asking for this offset forever.
    if (end === at) {
      throw new StorageCorruptionError(`damaged batch header at byte ${start} of ${segment.logPath}`);
    }
    end = this.verifiedEnd(segment, start, at, end);
    return this.scratch.subarray(at, end);
  }

  /** Size of the batch at file position `start` (already in scratch at `at` when its header was read). */
  private batchSizeAt(segment: Segment, start: number, at: number, got: number): number {
    // Only sizes the next read (bounded by the segment's end by the caller); the walk then validates it.
    if (got - at >= BatchHeader.LOG_OVERHEAD_BYTES) return batchSizeBytes(this.scratchView, at);
    const header = new Uint8Array(BatchHeader.LOG_OVERHEAD_BYTES);
    storageIo().read(segment.fd, header, 0, header.length, start);
    return batchSizeBytes(new DataView(header.buffer), 0);
  }

  /**
   * Checks the CRC of every batch in scratch[at, end) that lies past the
   * segment's verified prefix; cuts the result before the first bad one.
   */
  private verifiedEnd(segment: Segment, start: number, at: number, end: number): number {
    if (start + (end - at) <= segment.verifiedBytes || start >= segment.appendedFrom) return end;
    let cursor = at;
    let expectedOffset = -1;
    while (cursor < end) {
      const sizeBytes = nextBatchBytes(this.scratchView, cursor, end);
      if (sizeBytes < 0) return cursor; // cannot happen: [at, end) was walked batch by batch
      const filePosition = start + (cursor - at);
      const baseOffset = readInt64(this.scratchView, cursor + BatchHeader.BASE_OFFSET);
      if (filePosition + sizeBytes > segment.verifiedBytes && filePosition < segment.appendedFrom) {
        // The CRC does not cover baseOffset or the leader epoch: check that the offset follows on
        // from the batch before and lies inside the segment, and the epoch is the one written, or
        // a flipped bit there would serve records at wrong offsets or with a wrong epoch.
        const offsetsFollow =
          baseOffset >= segment.baseOffset &&
          baseOffset < segment.nextOffset &&
          (cursor === at ||
            baseOffset === expectedOffset ||
            (this.compaction.offsetGapsAllowed && baseOffset > expectedOffset)) &&
          this.epochInRange(this.scratchView.getInt32(cursor + BatchHeader.PARTITION_LEADER_EPOCH));
        if (!offsetsFollow || checkBatch(this.scratch, this.scratchView, cursor, end) !== sizeBytes) {
          if (cursor === at) {
            throw new StorageCorruptionError(
              `batch at byte ${filePosition} of ${segment.logPath} fails its ${offsetsFollow ? 'CRC32C' : 'offset or epoch check'}`,
            );
          }
          return cursor;
        }
      }
      expectedOffset = baseOffset + this.scratchView.getInt32(cursor + BatchHeader.LAST_OFFSET_DELTA) + 1;
      cursor += sizeBytes;
    }
    if (start <= segment.verifiedBytes) {
      segment.verifiedBytes = Math.max(segment.verifiedBytes, start + (end - at));
      if (segment.verifiedBytes >= segment.appendedFrom) {
        // The checked prefix now reaches what this process appended: all of it is known good.
        segment.verifiedBytes = segment.sizeBytes;
        segment.appendedFrom = Number.POSITIVE_INFINITY;
      }
    }
    return end;
  }
}

/** The names in `dir`, or null when the directory does not exist (a partition never written). */
function listIfPresent(dir: string): string[] | null {
  try {
    return storageIo().listDirectory(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}
