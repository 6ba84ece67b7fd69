import { doubled } from './grow.js';
import { countBelow } from './sorted-search.js';
import { storageIo } from './storage-io.js';
import { writeFileSynced } from './write-at.js';

/**
 * Sparse time index of one segment: one entry per ~4 KiB of log, mapping the
 * largest timestamp seen so far to the base offset of the batch that follows.
 * Looking up a timestamp finds a batch at or before the first one that may
 * hold it; a short scan of batch headers finishes the search.
 *
 * File layout (`.timeindex`), entries back to back, big-endian:
 *   0  i64  maxTimestampMs   largest batch maxTimestamp before this entry's batch
 *   8  u32  relativeOffset   that batch's base offset - segment base offset
 *
 * Kept in memory and written when the segment closes, like the offset index.
 */
export const TIME_INDEX_ENTRY_BYTES = 12;
const INTERVAL_BYTES = 4096;

/** A finished time index as plain arrays (see OffsetIndexEntries). */
export interface TimeIndexEntries {
  readonly timestampsMs: Float64Array<ArrayBuffer>;
  readonly relativeOffsets: Uint32Array<ArrayBuffer>;
  readonly count: number;
  readonly maxTimestampMs: number;
}

export class TimeIndex {
  private timestampsMs = new Float64Array(4);
  private relativeOffsets = new Uint32Array(4);
  private count = 0;
  private bytesSinceEntry = Number.POSITIVE_INFINITY;
  /** Largest timestamp of any batch in the segment; -1 when empty. */
  maxTimestampMs = -1;

  get entries(): number {
    return this.count;
  }

  /** The index's own arrays (not copies): hand them over only when the index is finished. */
  entryArrays(): TimeIndexEntries {
    return {
      timestampsMs: this.timestampsMs,
      relativeOffsets: this.relativeOffsets,
      count: this.count,
      maxTimestampMs: this.maxTimestampMs,
    };
  }

  /** An index over `entries`' arrays, which it takes over (constant time). */
  static adopt(entries: TimeIndexEntries): TimeIndex {
    const { timestampsMs, relativeOffsets, count } = entries;
    if (
      !Number.isInteger(count) ||
      count < 0 ||
      count > timestampsMs.length ||
      count > relativeOffsets.length
    ) {
      throw new RangeError(
        `time index of ${count} entries over arrays of ${timestampsMs.length} and ${relativeOffsets.length}`,
      );
    }
    const index = new TimeIndex();
    index.timestampsMs = timestampsMs;
    index.relativeOffsets = relativeOffsets;
    index.count = count;
    index.maxTimestampMs = entries.maxTimestampMs;
    return index;
  }

  /** Notes a batch appended with `batchMaxTimestampMs`. */
  onAppend(relativeOffset: number, batchMaxTimestampMs: number, batchBytes: number): void {
    if (this.bytesSinceEntry >= INTERVAL_BYTES) {
      this.add(this.maxTimestampMs, relativeOffset);
      this.bytesSinceEntry = 0;
    }
    this.bytesSinceEntry += batchBytes;
    if (batchMaxTimestampMs > this.maxTimestampMs) this.maxTimestampMs = batchMaxTimestampMs;
  }

  add(timestampMs: number, relativeOffset: number): void {
    if (this.count === this.relativeOffsets.length) {
      this.timestampsMs = doubled(this.timestampsMs);
      this.relativeOffsets = doubled(this.relativeOffsets);
    }
    this.timestampsMs[this.count] = timestampMs;
    this.relativeOffsets[this.count] = relativeOffset;
    this.count++;
  }

  /**
   * The relative offset to start scanning from for `timestampMs`: the last
   * entry whose preceding batches all have smaller timestamps (0 when none).
   */
  startOffsetFor(timestampMs: number): number {
    // Entries hold a running maximum, so they ascend and a binary search finds the last one below.
    const below = countBelow(this.timestampsMs, this.count, timestampMs, false);
    return below === 0 ? 0 : this.relativeOffsets[below - 1]!;
  }

  /**
   * Forgets entries at or past `relativeOffset`. The first entry removed
   * holds the largest timestamp before its batch, which becomes the running
   * maximum again, so re-walking the batches from there rebuilds the rest.
   */
  truncateToOffset(relativeOffset: number): void {
    while (this.count > 0 && this.relativeOffsets[this.count - 1]! >= relativeOffset) {
      this.count--;
      this.maxTimestampMs = this.timestampsMs[this.count]!;
    }
    this.bytesSinceEntry = Number.POSITIVE_INFINITY;
  }

  /** Relative offset of the last entry; -1 when there is none. */
  lastRelativeOffset(): number {
    return this.count === 0 ? -1 : this.relativeOffsets[this.count - 1]!;
  }

  writeFile(path: string): void {
    const bytes = new Uint8Array(this.count * TIME_INDEX_ENTRY_BYTES);
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < this.count; i++) {
      view.setBigInt64(i * TIME_INDEX_ENTRY_BYTES, BigInt(this.timestampsMs[i]!));
      view.setUint32(i * TIME_INDEX_ENTRY_BYTES + 8, this.relativeOffsets[i]!);
    }
    writeFileSynced(path, bytes);
  }

  /** Loads a time index file, or null when it is missing or malformed. */
  static readFile(path: string): TimeIndex | null {
    let bytes: Uint8Array;
    try {
      bytes = storageIo().readFile(path);
    } catch {
      return null;
    }
    if (bytes.length % TIME_INDEX_ENTRY_BYTES !== 0) return null;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const index = new TimeIndex();
    let lastOffset = -1;
    let lastTimestampMs = Number.NEGATIVE_INFINITY;
    for (let at = 0; at < bytes.length; at += TIME_INDEX_ENTRY_BYTES) {
      const relativeOffset = view.getUint32(at + 8);
      const timestampMs = Number(view.getBigInt64(at));
      // Offsets ascend strictly and timestamps (a running maximum) never fall: anything else is damage.
      if ((relativeOffset <= lastOffset && at > 0) || timestampMs < lastTimestampMs) return null;
      index.add(timestampMs, relativeOffset);
      lastOffset = relativeOffset;
      lastTimestampMs = timestampMs;
    }
    return index;
  }
}
