import type { ShardPartition } from './shard-partition.js';

/**
 * The produces a shard took during one ring drain whose batches are still
 * buffered in their partition logs (PartitionLog.appendBuffered): each log
 * then writes its part of the burst in one system call, and only after that
 * write are these produces answered, so no acknowledgement ever precedes it.
 * Owned by the shard thread.
 *
 * Kept in parallel arrays that grow once to the largest burst and are reused:
 * a produce allocates nothing here.
 */
export class BufferedProduces {
  count = 0;
  readonly correlationIds: number[] = [];
  readonly partitions: (ShardPartition | null)[] = [];
  readonly acks: number[] = [];
  readonly baseOffsets: number[] = [];
  readonly lastOffsets: number[] = [];
  /** LogAppendTime written into the batch, or -1. */
  readonly appendTimesMs: number[] = [];
  /** When the shard started handling each produce (for the append-stage histogram). */
  readonly startedMs: number[] = [];

  add(
    correlationId: number,
    partition: ShardPartition,
    acks: number,
    baseOffset: number,
    lastOffset: number,
    appendTimeMs: number,
    startedMs: number,
  ): void {
    const i = this.count++;
    this.correlationIds[i] = correlationId;
    this.partitions[i] = partition;
    this.acks[i] = acks;
    this.baseOffsets[i] = baseOffset;
    this.lastOffsets[i] = lastOffset;
    this.appendTimesMs[i] = appendTimeMs;
    this.startedMs[i] = startedMs;
  }

  /** Forgets the burst (and its partitions, which may be deleted next). */
  clear(): void {
    for (let i = 0; i < this.count; i++) this.partitions[i] = null;
    this.count = 0;
  }
}
