import type { AbortedEntry, OpenTransaction } from '../storage/txn-index-file.js';

/**
 * Transaction bookkeeping for one partition, owned by its shard (the
 * partition side of KIP-98):
 *
 * - **open transactions**: producer id → offset of its first transactional
 *   batch here since its last marker. A Map keeps insertion order, and a
 *   transaction is inserted at its first batch, so the first entry always has
 *   the smallest first offset: the first unstable offset costs one lookup.
 * - **the last stable offset (LSO)**: min(first unstable offset, high
 *   watermark), at least the log start offset. read_committed consumers
 *   read only below it.
 * - **the aborted-transaction index**: (producerId, firstOffset, lastOffset)
 *   of every ABORT marker, lastOffset being the marker's offset, kept in
 *   marker order in parallel number arrays (no object per entry). Kept on
 *   disk per segment (storage/txn-index-file.ts) and rebuilt by recovery
 *   (txn-state-rebuild.ts).
 * - **the last marker per producer** (epoch, outcome, offset), so that a
 *   marker the coordinator sends again is answered without a second append.
 *
 * Nothing here does I/O.
 */

interface MarkerSeen {
  epoch: number;
  commit: boolean;
  offset: number;
}

/** Most producers whose last marker is remembered for idempotence; the oldest is forgotten past it. */
const MARKERS_REMEMBERED_MAX = 10_000;

export class PartitionTxns {
  /** producerId → first offset of its open transaction, in order of first offsets. */
  readonly open = new Map<number, number>();
  private readonly abortedProducerIds: number[] = [];
  private readonly abortedFirstOffsets: number[] = [];
  private readonly abortedLastOffsets: number[] = [];
  /** Entries before this index were pruned (below the log start offset); compacted now and then. */
  private head = 0;
  /** Largest lastOffset - firstOffset of any entry: bounds how far past a range an overlapping entry can be. */
  private maxSpan = 0;
  private readonly markers = new Map<number, MarkerSeen>();
  /** The transactions open where the active segment starts (written into its `.txnindex` when it rolls). */
  openAtActiveStart: OpenTransaction[] = [];

  /** A transactional data batch from `producerId` was appended at `baseOffset`. */
  onTransactionalAppend(producerId: number, baseOffset: number): void {
    if (!this.open.has(producerId)) this.open.set(producerId, baseOffset);
  }

  /**
   * A marker from `producerId` was appended at `markerOffset`: its open
   * transaction ends; an abort enters the index (a marker with no open
   * transaction here aborts nothing but itself, as in Kafka).
   */
  onMarker(producerId: number, epoch: number, commit: boolean, markerOffset: number): void {
    const firstOffset = this.open.get(producerId) ?? markerOffset;
    this.open.delete(producerId);
    if (!commit) this.addAborted(producerId, firstOffset, markerOffset);
    this.markers.delete(producerId);
    if (this.markers.size >= MARKERS_REMEMBERED_MAX) {
      const oldest = this.markers.keys().next();
      if (oldest.done !== true) this.markers.delete(oldest.value);
    }
    this.markers.set(producerId, { epoch, commit, offset: markerOffset });
  }

  /**
   * The offset of the marker already written for this outcome when the
   * producer has no open transaction here and its last marker had the same
   * epoch and outcome (a resent marker); -1 otherwise.
   */
  writtenMarkerOffset(producerId: number, epoch: number, commit: boolean): number {
    if (this.open.has(producerId)) return -1;
    const seen = this.markers.get(producerId);
    return seen !== undefined && seen.epoch === epoch && seen.commit === commit ? seen.offset : -1;
  }

  /** Whether the producer has a transaction open on this partition. */
  hasOpen(producerId: number): boolean {
    return this.open.size > 0 && this.open.has(producerId);
  }

  /** The smallest first offset of an open transaction; Infinity when none is open. */
  firstUnstableOffset(): number {
    if (this.open.size === 0) return Number.POSITIVE_INFINITY;
    for (const firstOffset of this.open.values()) return firstOffset;
    return Number.POSITIVE_INFINITY;
  }

  /**
   * The last stable offset: the first unstable offset, at most the high watermark, and at least the log
   * start offset (as Kafka: an open transaction whose first batches retention or DeleteRecords removed
   * holds the LSO where the log now starts).
   */
  lastStableOffset(highWatermark: number, logStartOffset = 0): number {
    return Math.min(Math.max(this.firstUnstableOffset(), logStartOffset), highWatermark);
  }

  addAborted(producerId: number, firstOffset: number, lastOffset: number): void {
    this.abortedProducerIds.push(producerId);
    this.abortedFirstOffsets.push(firstOffset);
    this.abortedLastOffsets.push(lastOffset);
    if (lastOffset - firstOffset > this.maxSpan) this.maxSpan = lastOffset - firstOffset;
  }

  get abortedCount(): number {
    return this.abortedLastOffsets.length - this.head;
  }

  /**
   * Calls `into(producerId, firstOffset)` for every aborted transaction that
   * may have data in [fromOffset, toOffset): its marker at or after
   * fromOffset and its first offset before toOffset. Returns how many.
   * Entries are in marker order; the walk starts by binary search and stops
   * once no later entry can start before toOffset (maxSpan), so a consumer
   * at the tail looks at a handful of entries.
   */
  collectAborted(
    fromOffset: number,
    toOffset: number,
    into: (producerId: number, firstOffset: number) => void,
  ): number {
    const lasts = this.abortedLastOffsets;
    let low = this.head;
    let high = lasts.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (lasts[middle]! < fromOffset) low = middle + 1;
      else high = middle;
    }
    let count = 0;
    const stopAt = toOffset + this.maxSpan;
    for (let i = low; i < lasts.length; i++) {
      if (lasts[i]! >= stopAt) break;
      const firstOffset = this.abortedFirstOffsets[i]!;
      if (firstOffset < toOffset) {
        into(this.abortedProducerIds[i]!, firstOffset);
        count++;
      }
    }
    return count;
  }

  /** The aborted entries whose marker lies in [fromOffset, toOffset), for a segment's index file. */
  abortedInRange(fromOffset: number, toOffset: number): AbortedEntry[] {
    const out: AbortedEntry[] = [];
    for (let i = this.head; i < this.abortedLastOffsets.length; i++) {
      const lastOffset = this.abortedLastOffsets[i]!;
      if (lastOffset < fromOffset) continue;
      if (lastOffset >= toOffset) break;
      out.push({
        producerId: this.abortedProducerIds[i]!,
        firstOffset: this.abortedFirstOffsets[i]!,
        lastOffset,
      });
    }
    return out;
  }

  /** The open transactions now, oldest first (for a segment's index file). */
  openTransactions(): OpenTransaction[] {
    const out: OpenTransaction[] = [];
    for (const [producerId, firstOffset] of this.open) out.push({ producerId, firstOffset });
    return out;
  }

  /** Forgets everything (before a rebuild from the log: a follower's truncation). */
  clear(): void {
    this.open.clear();
    this.abortedProducerIds.length = 0;
    this.abortedFirstOffsets.length = 0;
    this.abortedLastOffsets.length = 0;
    this.head = 0;
    this.maxSpan = 0;
    this.markers.clear();
    this.openAtActiveStart = [];
  }

  /** Forgets aborted entries whose marker lies below `logStartOffset` (their segments are gone). */
  prune(logStartOffset: number): void {
    const lasts = this.abortedLastOffsets;
    while (this.head < lasts.length && lasts[this.head]! < logStartOffset) this.head++;
    if (this.head > 1024 && this.head * 2 > lasts.length) {
      this.abortedProducerIds.splice(0, this.head);
      this.abortedFirstOffsets.splice(0, this.head);
      lasts.splice(0, this.head);
      this.head = 0;
    }
  }
}
