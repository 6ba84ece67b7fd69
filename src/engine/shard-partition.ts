import type { TopicConfig } from '../common/broker-config.js';
import type { PartitionLog } from '../storage/partition-log.js';
import { PartitionTxns } from './partition-txns.js';
import { type ProducerLimits, ProducerStateTable } from './producer-state.js';
import type { ReplicaRole } from './replica-role.js';

/**
 * One partition as its shard holds it. Owned by the shard thread.
 *
 * Durable acknowledgements wait in a queue of parallel number arrays rather
 * than an array of objects, so a produce with acks=-1 allocates nothing: the
 * queue grows once to the high-water mark of pending acks and is reused.
 */
export interface FetchWaiter {
  /** Called on the shard thread when an append lands in a watched partition. */
  onAppend(): void;
}

export class ShardPartition {
  readonly waiters = new Set<FetchWaiter>();
  /** Idempotent producers' last sequence ranges on this partition. */
  readonly producers: ProducerStateTable;
  /** Open transactions, the last stable offset and the aborted-transaction index (partition-txns.ts). */
  readonly txns = new PartitionTxns();
  /** Pending acks=-1 replies, oldest first: correlation id, last offset, base offset, append time, enqueue time. */
  private ackCorrelation: number[] = [];
  private ackLastOffset: number[] = [];
  private ackBaseOffset: number[] = [];
  private ackAppendTimeMs: number[] = [];
  private ackEnqueuedMs: number[] = [];
  private ackHead = 0;
  /** Fetch bookkeeping: the fetch stamp of the last read, to detect a partition read twice in one fetch. */
  lastReadStamp = -1;
  /** When the shard last served it (open-partition-files.ts), in that module's ticks. */
  lastUsedTick = 0;
  /** Counted among the shard's active partitions (open-partition-files.ts). */
  active = false;
  /** Its role in replication; null on a single node (replica-role.ts). */
  replica: ReplicaRole | null = null;

  constructor(
    readonly topicId: number,
    readonly partition: number,
    readonly topicName: string,
    /** Replaced whole when the topic's settings change (alter-config); never mutated in place. */
    public config: TopicConfig,
    readonly log: PartitionLog,
    producerLimits?: ProducerLimits,
  ) {
    this.producers = new ProducerStateTable(producerLimits);
  }

  /** Nothing waits on it: no acks=-1 produce and no held fetch. */
  isIdle(): boolean {
    return this.pendingAcks() === 0 && this.waiters.size === 0;
  }

  pendingAcks(): number {
    return this.ackCorrelation.length - this.ackHead;
  }

  enqueueAck(
    correlationId: number,
    baseOffset: number,
    lastOffset: number,
    appendTimeMs: number,
    nowMs: number,
  ): void {
    this.ackCorrelation.push(correlationId);
    this.ackBaseOffset.push(baseOffset);
    this.ackLastOffset.push(lastOffset);
    this.ackAppendTimeMs.push(appendTimeMs);
    this.ackEnqueuedMs.push(nowMs);
  }

  /**
   * Calls `release` for every pending ack whose last offset is below
   * `durableOffset`, oldest first, and forgets them.
   */
  releaseAcks(
    durableOffset: number,
    release: (correlationId: number, baseOffset: number, appendTimeMs: number, enqueuedMs: number) => void,
  ): void {
    while (this.ackHead < this.ackCorrelation.length && this.ackLastOffset[this.ackHead]! < durableOffset) {
      const i = this.ackHead++;
      release(
        this.ackCorrelation[i]!,
        this.ackBaseOffset[i]!,
        this.ackAppendTimeMs[i]!,
        this.ackEnqueuedMs[i]!,
      );
    }
    this.compactAcks();
  }

  /** Hands every pending ack to `fail` (partition deleted or shard stopping). */
  failAllAcks(fail: (correlationId: number) => void): void {
    for (let i = this.ackHead; i < this.ackCorrelation.length; i++) fail(this.ackCorrelation[i]!);
    this.ackHead = this.ackCorrelation.length;
    this.compactAcks();
  }

  private compactAcks(): void {
    if (this.ackHead === this.ackCorrelation.length) {
      this.ackHead = 0;
      this.ackCorrelation.length = 0;
      this.ackBaseOffset.length = 0;
      this.ackLastOffset.length = 0;
      this.ackAppendTimeMs.length = 0;
      this.ackEnqueuedMs.length = 0;
    }
  }
}
