import { DEFAULT_TOPIC_CONFIG, type TopicConfig } from '../../src/common/broker-config.js';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import { type Offset, readInt64, writeInt64 } from '../../src/common/offset.js';
import {
  type Acks,
  type DeleteRecordsOutcome,
  type Engine,
  type FetchOutcome,
  type FetchPartitionOutcome,
  type FetchRequest,
  fetchFailure,
  type ListOffsetsOutcome,
  NO_ABORTED_TRANSACTIONS,
  type PartitionDescription,
  type ProduceOutcome,
  produceFailure,
  type TopicDescription,
  type TxnMarker,
} from '../../src/engine/engine-api.js';
import { checkBatch } from '../../src/record/batch-check.js';
import { BatchHeader } from '../../src/record/batch-header.js';
import { buildControlBatch } from '../../src/record/control-batch.js';

/**
 * A test double for the `Engine` interface: partitions are arrays of batches
 * in memory, on the calling thread. Front-door tests use it to exercise their
 * protocol handling without worker threads; the real engine is tested on its
 * own and end to end.
 */
interface MemoryPartition {
  batches: { baseOffset: number; lastOffset: number; maxTimestampMs: number; bytes: Uint8Array }[];
  logEndOffset: number;
  waiters: Set<() => void>;
}

function emptyPartition(): MemoryPartition {
  return { batches: [], logEndOffset: 0, waiters: new Set<() => void>() };
}

interface MemoryTopic {
  description: TopicDescription;
  partitions: MemoryPartition[];
}

export class MemoryEngine implements Engine {
  private readonly topics = new Map<string, MemoryTopic>();
  private nextTopicId = 1;
  private producerId = 1000;
  autoCreatePartitions = 0;

  async produce(topic: string, partition: number, batch: Uint8Array, _acks: Acks): Promise<ProduceOutcome> {
    // Copied before the first wait: the caller may have lent a view it frees when this returns.
    const copy = new Uint8Array(batch);
    if (!this.topics.has(topic) && this.autoCreatePartitions > 0)
      await this.createTopic(topic, this.autoCreatePartitions);
    const target = this.topics.get(topic)?.partitions[partition];
    if (target === undefined) return produceFailure(KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION, '');
    const view = new DataView(copy.buffer);
    if (checkBatch(copy, view, 0, copy.length) !== copy.length)
      return produceFailure(KafkaErrorCode.CORRUPT_MESSAGE, '');
    const baseOffset = target.logEndOffset;
    writeInt64(view, BatchHeader.BASE_OFFSET, baseOffset);
    const lastOffset = baseOffset + view.getInt32(BatchHeader.LAST_OFFSET_DELTA);
    target.batches.push({
      baseOffset,
      lastOffset,
      maxTimestampMs: readInt64(view, BatchHeader.MAX_TIMESTAMP),
      bytes: copy,
    });
    target.logEndOffset = lastOffset + 1;
    for (const wake of target.waiters) wake();
    return {
      errorCode: KafkaErrorCode.NONE,
      baseOffset: baseOffset as Offset,
      logAppendTimeMs: -1,
      logStartOffset: 0 as Offset,
      errorMessage: '',
    };
  }

  async fetch(request: FetchRequest): Promise<FetchOutcome> {
    let outcome = this.fetchNow(request);
    const available = outcome.partitions.reduce((sum, p) => sum + p.records.length, 0);
    if (available >= Math.max(1, request.minBytes) || request.maxWaitMs <= 0) return outcome;
    await new Promise<void>((resolve) => {
      const parts = request.partitions
        .map((p) => this.topics.get(p.topic)?.partitions[p.partition])
        .filter((p): p is MemoryPartition => p !== undefined);
      const done = (): void => {
        clearTimeout(timer);
        for (const p of parts) p.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, request.maxWaitMs);
      for (const p of parts) p.waiters.add(done);
    });
    outcome = this.fetchNow(request);
    return outcome;
  }

  private fetchNow(request: FetchRequest): FetchOutcome {
    let budgetBytes = request.maxBytes;
    const partitions: FetchPartitionOutcome[] = request.partitions.map((p) => {
      const target = this.topics.get(p.topic)?.partitions[p.partition];
      if (target === undefined) return fetchFailure(KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      const hw = target.logEndOffset as Offset;
      if (p.offset > target.logEndOffset || p.offset < 0) {
        return { ...fetchFailure(KafkaErrorCode.OFFSET_OUT_OF_RANGE), highWatermark: hw };
      }
      const chunks: Uint8Array[] = [];
      let size = 0;
      for (const batch of target.batches) {
        if (batch.lastOffset < p.offset) continue;
        const limit = Math.min(p.maxBytes, budgetBytes);
        if (size > 0 && size + batch.bytes.length > limit) break;
        chunks.push(batch.bytes);
        size += batch.bytes.length;
      }
      budgetBytes -= size;
      const records = new Uint8Array(size);
      let position = 0;
      for (const chunk of chunks) {
        records.set(chunk, position);
        position += chunk.length;
      }
      return {
        errorCode: KafkaErrorCode.NONE,
        highWatermark: hw,
        lastStableOffset: hw,
        logStartOffset: 0 as Offset,
        records,
        abortedTransactions: NO_ABORTED_TRANSACTIONS,
      };
    });
    return { partitions };
  }

  /** Appends the marker's control batch; no transaction bookkeeping (the sharded engine has that). */
  async writeTxnMarker(marker: TxnMarker): Promise<KafkaErrorCode> {
    const outcome = await this.produce(
      marker.topic,
      marker.partition,
      buildControlBatch(marker, Date.now()),
      -1,
    );
    return outcome.errorCode;
  }

  /** The memory engine keeps every record (its log start offset is always 0): DeleteRecords is refused. */
  async deleteRecords(_topic: string, _partition: number, _offset: number): Promise<DeleteRecordsOutcome> {
    return { errorCode: KafkaErrorCode.POLICY_VIOLATION, lowWatermark: -1 as Offset };
  }

  async listOffsets(topic: string, partition: number, timestampMs: number): Promise<ListOffsetsOutcome> {
    const target = this.topics.get(topic)?.partitions[partition];
    if (target === undefined) {
      return { errorCode: KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION, offset: -1 as Offset, timestampMs: -1 };
    }
    if (timestampMs === -1) return { errorCode: 0, offset: target.logEndOffset as Offset, timestampMs: -1 };
    if (timestampMs === -2) return { errorCode: 0, offset: 0 as Offset, timestampMs: -1 };
    const wantedMs =
      timestampMs === -3 ? Math.max(-1, ...target.batches.map((b) => b.maxTimestampMs)) : timestampMs;
    const batch = wantedMs < 0 ? undefined : target.batches.find((b) => b.maxTimestampMs >= wantedMs);
    return batch === undefined
      ? { errorCode: 0, offset: -1 as Offset, timestampMs: -1 }
      : { errorCode: 0, offset: batch.baseOffset as Offset, timestampMs: batch.maxTimestampMs };
  }

  async alterTopicConfig(name: string, settings: Partial<TopicConfig>): Promise<KafkaErrorCode> {
    const topic = this.topics.get(name);
    if (topic === undefined) return KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    topic.description = { ...topic.description, config: { ...topic.description.config, ...settings } };
    return KafkaErrorCode.NONE;
  }

  async addPartitions(name: string, partitionCount: number): Promise<KafkaErrorCode> {
    const topic = this.topics.get(name);
    if (topic === undefined) return KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    if (partitionCount <= topic.description.partitionCount) return KafkaErrorCode.INVALID_PARTITIONS;
    while (topic.partitions.length < partitionCount) topic.partitions.push(emptyPartition());
    topic.description = { ...topic.description, partitionCount };
    return KafkaErrorCode.NONE;
  }

  async createTopic(
    name: string,
    partitionCount: number,
    config?: Partial<TopicConfig>,
  ): Promise<KafkaErrorCode> {
    if (this.topics.has(name)) return KafkaErrorCode.TOPIC_ALREADY_EXISTS;
    if (partitionCount < 1) return KafkaErrorCode.INVALID_PARTITIONS;
    this.topics.set(name, {
      description: {
        name,
        topicId: this.nextTopicId++,
        partitionCount,
        config: { ...DEFAULT_TOPIC_CONFIG, ...config },
      },
      partitions: Array.from({ length: partitionCount }, emptyPartition),
    });
    return KafkaErrorCode.NONE;
  }

  async deleteTopic(name: string): Promise<KafkaErrorCode> {
    return this.topics.delete(name) ? KafkaErrorCode.NONE : KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
  }

  listTopics(): TopicDescription[] {
    return [...this.topics.values()].map((t) => t.description);
  }

  describeTopic(name: string): TopicDescription | undefined {
    return this.topics.get(name)?.description;
  }

  async describePartitions(name: string): Promise<PartitionDescription[] | undefined> {
    const topic = this.topics.get(name);
    return topic?.partitions.map((p, partition) => ({
      partition,
      shard: 0,
      logStartOffset: 0 as Offset,
      logEndOffset: p.logEndOffset as Offset,
      highWatermark: p.logEndOffset as Offset,
    }));
  }

  async nextProducerId(): Promise<number> {
    return this.producerId++;
  }
}
