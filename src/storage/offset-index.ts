import { doubled } from './grow.js';
import { countBelow } from './sorted-search.js';
import { storageIo } from './storage-io.js';
import { writeFileSynced } from './write-at.js';

/**
 * Sparse offset index of one segment: one entry per ~4 KiB of log, mapping
 * an offset to the file position of the batch that starts there.
 *
 * File layout (`.index`), entries back to back, big-endian:
 *   0  u32  relativeOffset   batch base offset - segment base offset
 *   4  u32  position         byte position of that batch in the `.log` file
 *
 * Entries are kept in memory (two growing typed arrays) and written to the
 * file when the segment closes; the active segment's index is rebuilt from
 * its log on an unclean start, so it never needs to be synced on the hot path.
 */
export const INDEX_ENTRY_BYTES = 8;
export const INDEX_INTERVAL_BYTES = 4096;

/**
 * A finished index as plain arrays (entries [0, count)), so the log cleaner's
 * thread can hand the index it built to the shard (postMessage, buffers
 * transferred) and the shard adopts it without a copy or a file read.
 */
export interface OffsetIndexEntries {
  readonly relativeOffsets: Uint32Array<ArrayBuffer>;
  readonly positions: Uint32Array<ArrayBuffer>;
  readonly count: number;
}

export class OffsetIndex {
  private relativeOffsets = new Uint32Array(4);
  private positions = new Uint32Array(4);
  private count = 0;
  /** Log bytes appended since the last entry; an entry is due past INDEX_INTERVAL_BYTES. */
  private bytesSinceEntry = Number.POSITIVE_INFINITY;

  get entries(): number {
    return this.count;
  }

  /** The index's own arrays (not copies): hand them over only when the index is finished. */
  entryArrays(): OffsetIndexEntries {
    return { relativeOffsets: this.relativeOffsets, positions: this.positions, count: this.count };
  }

  /** An index over `entries`' arrays, which it takes over (constant time: nothing is copied or checked but the count). */
  static adopt(entries: OffsetIndexEntries): OffsetIndex {
    const { relativeOffsets, positions, count } = entries;
    if (!Number.isInteger(count) || count < 0 || count > relativeOffsets.length || count > positions.length) {
      throw new RangeError(
        `offset index of ${count} entries over arrays of ${relativeOffsets.length} and ${positions.length}`,
      );
    }
    const index = new OffsetIndex();
    index.relativeOffsets = relativeOffsets;
    index.positions = positions;
    index.count = count;
    return index;
  }

  /** Notes a batch appended at `position`; adds an entry when the interval has passed. */
  onAppend(relativeOffset: number, position: number, batchBytes: number): void {
    if (this.bytesSinceEntry >= INDEX_INTERVAL_BYTES) {
      this.add(relativeOffset, position);
      this.bytesSinceEntry = 0;
    }
    this.bytesSinceEntry += batchBytes;
  }

  add(relativeOffset: number, position: number): void {
    if (this.count === this.positions.length) {
      this.relativeOffsets = doubled(this.relativeOffsets);
      this.positions = doubled(this.positions);
    }
    this.relativeOffsets[this.count] = relativeOffset;
    this.positions[this.count] = position;
    this.count++;
  }

  /** File position of the last indexed batch starting at or below `relativeOffset` (0 when none). */
  positionFor(relativeOffset: number): number {
    const below = countBelow(this.relativeOffsets, this.count, relativeOffset, true);
    return below === 0 ? 0 : this.positions[below - 1]!;
  }

  /** The last entry, or null when there is none. */
  lastEntry(): { relativeOffset: number; position: number } | null {
    if (this.count === 0) return null;
    return {
      relativeOffset: this.relativeOffsets[this.count - 1]!,
      position: this.positions[this.count - 1]!,
    };
  }

  /** Forgets entries at or past `position` (after a truncation). */
  truncateToPosition(position: number): void {
    while (this.count > 0 && this.positions[this.count - 1]! >= position) this.count--;
    this.bytesSinceEntry = Number.POSITIVE_INFINITY;
  }

  /** Writes the whole index to `path` and syncs it. */
  writeFile(path: string): void {
    const bytes = new Uint8Array(this.count * INDEX_ENTRY_BYTES);
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < this.count; i++) {
      view.setUint32(i * INDEX_ENTRY_BYTES, this.relativeOffsets[i]!);
      view.setUint32(i * INDEX_ENTRY_BYTES + 4, this.positions[i]!);
    }
    writeFileSynced(path, bytes);
  }

  /**
   * Loads an index file, or returns null when it is missing or disagrees with
   * its log: entries must be strictly increasing and point inside the log.
   */
  static readFile(path: string, logSizeBytes: number): OffsetIndex | null {
    let bytes: Uint8Array;
    try {
      bytes = storageIo().readFile(path);
    } catch {
      return null;
    }
    if (bytes.length % INDEX_ENTRY_BYTES !== 0) return null;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const index = new OffsetIndex();
    let lastOffset = -1;
    let lastPosition = -1;
    for (let at = 0; at < bytes.length; at += INDEX_ENTRY_BYTES) {
      const relativeOffset = view.getUint32(at);
      const position = view.getUint32(at + 4);
      if (relativeOffset <= lastOffset || position <= lastPosition || position >= logSizeBytes) return null;
      index.add(relativeOffset, position);
      lastOffset = relativeOffset;
      lastPosition = position;
    }
    return index;
  }
}
