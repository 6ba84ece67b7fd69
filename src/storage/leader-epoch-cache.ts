import { type EpochEntry, writeLeaderEpochCheckpoint } from './leader-epoch-checkpoint.js';

/**
 * Which leader epoch began at which offset, for one partition (Kafka's
 * LeaderEpochFileCache). Owned by the partition's shard thread. Answers
 * OffsetForLeaderEpoch (`endOffsetFor`) and drives a returning replica's
 * truncation (KIP-101, KIP-279).
 *
 * Single-node logs hold only epoch 0: an entry for epoch 0 alone is kept in
 * memory and never written, so a broker without replication writes no
 * checkpoint file (a log without one holds epoch 0 throughout). As soon as a
 * later epoch is assigned, the whole list is written, before the first batch
 * of that epoch (leader-epoch-checkpoint.ts); every later change is written
 * too.
 */
export const UNDEFINED_EPOCH = -1;
export const UNDEFINED_EPOCH_OFFSET = -1;

export interface EpochEndOffset {
  /** The largest epoch at or below the one asked for that this log knows; UNDEFINED_EPOCH when none. */
  leaderEpoch: number;
  /** Where that epoch ends in this log (the next epoch's start, or the log end for the latest). */
  endOffset: number;
}

export class LeaderEpochCache {
  private readonly epochs: number[] = [];
  private readonly startOffsets: number[] = [];
  /** A checkpoint file exists (or must, once anything but epoch 0 was assigned). */
  private persisted: boolean;

  constructor(
    private readonly dir: string,
    entries: readonly EpochEntry[],
    fileExists: boolean,
  ) {
    for (const entry of entries) {
      this.epochs.push(entry.epoch);
      this.startOffsets.push(entry.startOffset);
    }
    this.persisted = fileExists;
  }

  /** The latest epoch; UNDEFINED_EPOCH when the log has none yet. */
  get latestEpoch(): number {
    return this.epochs.length === 0 ? UNDEFINED_EPOCH : this.epochs[this.epochs.length - 1]!;
  }

  /** Where the latest epoch began; UNDEFINED_EPOCH_OFFSET when there is none. */
  get latestStartOffset(): number {
    return this.startOffsets.length === 0
      ? UNDEFINED_EPOCH_OFFSET
      : this.startOffsets[this.startOffsets.length - 1]!;
  }

  entries(): EpochEntry[] {
    return this.epochs.map((epoch, i) => ({ epoch, startOffset: this.startOffsets[i]! }));
  }

  /** The epoch the batch at `offset` was written in; UNDEFINED_EPOCH below the first entry. */
  epochFor(offset: number): number {
    const i = this.lastAtOrBelow(this.startOffsets, offset);
    return i < 0 ? UNDEFINED_EPOCH : this.epochs[i]!;
  }

  /**
   * Records that `epoch` begins at `startOffset`, written durably before it
   * returns (when it must be: see above). An epoch not above the latest
   * changes nothing. Entries at or past `startOffset` are dropped first (they
   * describe offsets that are about to be written again).
   */
  assign(epoch: number, startOffset: number): void {
    if (epoch <= this.latestEpoch) return;
    while (this.startOffsets.length > 0 && this.startOffsets[this.startOffsets.length - 1]! >= startOffset) {
      this.epochs.pop();
      this.startOffsets.pop();
    }
    this.epochs.push(epoch);
    this.startOffsets.push(startOffset);
    this.persistIfNeeded();
  }

  /**
   * Kafka's endOffsetFor: for the latest epoch, the log end; for an earlier
   * one, the start of the first epoch after it, together with the largest
   * epoch at or below the one asked for (KIP-279: the leader may not know the
   * follower's epoch); UNDEFINED for an epoch past the latest or an empty cache.
   */
  endOffsetFor(requestedEpoch: number, logEndOffset: number): EpochEndOffset {
    if (requestedEpoch === UNDEFINED_EPOCH || this.epochs.length === 0) {
      return { leaderEpoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET };
    }
    if (requestedEpoch === this.latestEpoch) return { leaderEpoch: requestedEpoch, endOffset: logEndOffset };
    const higher = this.lastAtOrBelow(this.epochs, requestedEpoch) + 1;
    if (higher >= this.epochs.length) {
      return { leaderEpoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET };
    }
    const floor = higher - 1;
    return {
      leaderEpoch: floor < 0 ? requestedEpoch : this.epochs[floor]!,
      endOffset: this.startOffsets[higher]!,
    };
  }

  /** Forgets epochs that begin at or past `endOffset` (the log was cut there); written when it changed. */
  truncateFromEnd(endOffset: number): void {
    let changed = false;
    while (this.startOffsets.length > 0 && this.startOffsets[this.startOffsets.length - 1]! >= endOffset) {
      this.epochs.pop();
      this.startOffsets.pop();
      changed = true;
    }
    if (changed && this.persisted) writeLeaderEpochCheckpoint(this.dir, this.entries());
  }

  /** Replaces every entry (rebuilt from the batches themselves) and writes them when they must be. */
  replaceAll(entries: readonly EpochEntry[]): void {
    this.epochs.length = 0;
    this.startOffsets.length = 0;
    for (const entry of entries) {
      this.epochs.push(entry.epoch);
      this.startOffsets.push(entry.startOffset);
    }
    this.persistIfNeeded();
  }

  private persistIfNeeded(): void {
    if (!this.persisted && this.epochs.length === 1 && this.epochs[0] === 0) return;
    if (this.epochs.length === 0 && !this.persisted) return;
    writeLeaderEpochCheckpoint(this.dir, this.entries());
    this.persisted = true;
  }

  /** Index of the last element of the increasing `values` at or below `value`; -1 when none is. */
  private lastAtOrBelow(values: readonly number[], value: number): number {
    let low = 0;
    let high = values.length - 1;
    let found = -1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      if (values[middle]! <= value) {
        found = middle;
        low = middle + 1;
      } else {
        high = middle - 1;
      }
    }
    return found;
  }
}
