import type { TopicConfig } from '../common/broker-config.js';
import type { KafkaErrorCode } from '../common/kafka-error-code.js';
import type { Offset } from '../common/offset.js';

/**
 * The one interface every front door (Kafka TCP, WebSocket, HTTP, the CLI's
 * in-process tools) uses to reach the partitions. The implementation routes
 * each partition's work over the rings to the shard that owns it; callers
 * never see threads. Operating errors come back as Kafka error codes in the
 * outcome, never as rejected promises; a rejected promise is a bug.
 */

/** 0: no acknowledgement; 1: after the append; -1: after the append is durable per the fsync policy. */
export type Acks = 0 | 1 | -1;

export interface ProduceOutcome {
  errorCode: KafkaErrorCode;
  /** Offset given to the batch's first record; -1 on error. */
  baseOffset: Offset;
  /** The append time written into the batch for LogAppendTime topics; -1 for CreateTime. */
  logAppendTimeMs: number;
  logStartOffset: Offset;
  /** Human-readable detail for errors; empty when there is none. */
  errorMessage: string;
}

export interface FetchPartitionRequest {
  topic: string;
  partition: number;
  offset: Offset;
  /** Most bytes for this partition; the first batch is returned whole even when larger (KIP-74). */
  maxBytes: number;
}

export interface FetchRequest {
  partitions: readonly FetchPartitionRequest[];
  /** How long to hold the fetch when fewer than minBytes are available. */
  maxWaitMs: number;
  minBytes: number;
  /** Most bytes over all partitions. */
  maxBytes: number;
}

export interface FetchPartitionOutcome {
  errorCode: KafkaErrorCode;
  highWatermark: Offset;
  lastStableOffset: Offset;
  logStartOffset: Offset;
  /** Whole RecordBatch v2 batches, concatenated; may start below the requested offset. */
  records: Uint8Array;
}

export interface FetchOutcome {
  /** One per requested partition, in request order. */
  partitions: FetchPartitionOutcome[];
}

export interface ListOffsetsOutcome {
  errorCode: KafkaErrorCode;
  /** -1 when no record has a timestamp at or after the one asked for. */
  offset: Offset;
  timestampMs: number;
}

export interface DeleteRecordsOutcome {
  errorCode: KafkaErrorCode;
  /** The partition's log start offset after the call; -1 on error. */
  lowWatermark: Offset;
}

export interface PartitionDescription {
  partition: number;
  shard: number;
  /** Set when the partition is not served: KAFKA_STORAGE_ERROR while it is offline. */
  errorCode?: KafkaErrorCode;
  logStartOffset: Offset;
  logEndOffset: Offset;
  highWatermark: Offset;
}

export interface TopicDescription {
  name: string;
  /** Stable id from the broker's sequencer; never reused. */
  topicId: number;
  partitionCount: number;
  config: TopicConfig;
}

/** Timestamps ListOffsets gives special meaning to. */
export const ListOffsetsTimestamp = { LATEST: -1, EARLIEST: -2, MAX_TIMESTAMP: -3 } as const;

export interface Engine {
  produce(topic: string, partition: number, batch: Uint8Array, acks: Acks): Promise<ProduceOutcome>;
  fetch(request: FetchRequest): Promise<FetchOutcome>;
  listOffsets(topic: string, partition: number, timestampMs: number): Promise<ListOffsetsOutcome>;

  createTopic(name: string, partitionCount: number, config?: Partial<TopicConfig>): Promise<KafkaErrorCode>;
  deleteTopic(name: string): Promise<KafkaErrorCode>;
  /**
   * Changes settings of an existing topic (those given; the rest stay). The
   * metadata is persisted first, then each shard applies the new settings to
   * its open partitions; later appends, rolls and retention follow them.
   */
  alterTopicConfig(name: string, settings: Partial<TopicConfig>): Promise<KafkaErrorCode>;
  /**
   * Kafka's DeleteRecords on one partition: moves its log start offset up to
   * `offset` (-1: the high watermark), recorded durably by the owning shard
   * before it takes effect; reads below it then get OFFSET_OUT_OF_RANGE and
   * ListOffsets' earliest returns it. Resolves with the log start offset after
   * the call; OFFSET_OUT_OF_RANGE for an offset past the high watermark.
   */
  deleteRecords(topic: string, partition: number, offset: number): Promise<DeleteRecordsOutcome>;
  /** Raises a topic's partition count to `partitionCount` (never lowers it); new partitions start empty. */
  addPartitions(name: string, partitionCount: number): Promise<KafkaErrorCode>;
  /** Known topics, from metadata the acceptor holds: no shard round trip. */
  listTopics(): TopicDescription[];
  describeTopic(name: string): TopicDescription | undefined;
  /** Start, end and high-watermark offsets of each partition, asked of the shards. */
  describePartitions(topic: string): Promise<PartitionDescription[] | undefined>;
  /** Fresh producer ids from the broker's persistent sequencer (never repeats across restarts). */
  nextProducerId(): Promise<number>;
  /**
   * Why a partition is offline (a failed open, write or sync), or undefined
   * while it is served; from state the acceptor holds, no shard round trip.
   * Engines without storage faults need not implement it.
   */
  offlineReason?(topic: string, partition: number): string | undefined;
}

/** The outcome of a produce that did not happen: `errorCode`, no offsets. */
export function produceFailure(errorCode: KafkaErrorCode, errorMessage: string): ProduceOutcome {
  return {
    errorCode,
    baseOffset: -1 as Offset,
    logAppendTimeMs: -1,
    logStartOffset: -1 as Offset,
    errorMessage,
  };
}

/** The outcome of a fetch of one partition that read nothing: `errorCode`, no offsets, no records. */
export function fetchFailure(errorCode: KafkaErrorCode): FetchPartitionOutcome {
  return {
    errorCode,
    highWatermark: -1 as Offset,
    lastStableOffset: -1 as Offset,
    logStartOffset: -1 as Offset,
    records: new Uint8Array(0),
  };
}
