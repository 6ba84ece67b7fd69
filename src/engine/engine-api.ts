import type { TopicConfig } from '../common/broker-config.js';
import type { KafkaErrorCode } from '../common/kafka-error-code.js';
import type { Offset } from '../common/offset.js';
import type { SegmentExtent } from '../storage/segment-extents.js';

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
  /** The leader epoch the client believes current (KIP-320); -1 or absent: not checked. */
  currentLeaderEpoch?: number;
}

/** Kafka's isolation level: 0 read_uncommitted (up to the high watermark), 1 read_committed (up to the LSO). */
export type IsolationLevel = 0 | 1;

export const IsolationLevel = { READ_UNCOMMITTED: 0, READ_COMMITTED: 1 } as const;

export interface FetchRequest {
  partitions: readonly FetchPartitionRequest[];
  /** 0 (the default): data up to the high watermark; 1: only below the last stable offset, with aborted transactions. */
  isolationLevel?: IsolationLevel;
  /** How long to hold the fetch when fewer than minBytes are available. */
  maxWaitMs: number;
  minBytes: number;
  /** Most bytes over all partitions. */
  maxBytes: number;
  /** A follower's broker id (it reads up to the log end, not the high watermark); -1 or absent: a consumer. */
  replicaId?: number;
}

/** A transaction aborted on a partition: its producer and the offset of its first batch there. */
export interface AbortedTransaction {
  producerId: number;
  firstOffset: Offset;
}

export interface FetchPartitionOutcome {
  errorCode: KafkaErrorCode;
  highWatermark: Offset;
  /** Below this every transaction is decided (min of the first offsets of open transactions and the high watermark). */
  lastStableOffset: Offset;
  logStartOffset: Offset;
  /** The log end when the fetch was answered (a leader tracks its followers by it); absent where unknown. */
  logEndOffset?: Offset;
  /** Whole RecordBatch v2 batches, concatenated; may start below the requested offset. */
  records: Uint8Array;
  /**
   * read_committed only: the aborted transactions whose data may lie in `records` (as Kafka's Fetch
   * response lists them); empty when none, and always empty at isolation level 0.
   */
  abortedTransactions: readonly AbortedTransaction[];
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

/** A transaction marker the coordinator writes to one partition of a transaction (Kafka's WriteTxnMarkers). */
export interface TxnMarker {
  topic: string;
  partition: number;
  producerId: number;
  producerEpoch: number;
  /** true: COMMIT control record; false: ABORT. */
  commit: boolean;
  coordinatorEpoch: number;
}

/** A segment file and the part of it to read (storage/segment-extents.ts says what a reader must check). */
export interface SegmentFileExtent extends SegmentExtent {
  /** The segment's `.log` file. */
  path: string;
}

export interface SegmentExtentsOutcome {
  errorCode: KafkaErrorCode;
  /** In offset order; null when the storage cannot name its files (read through fetch instead). */
  extents: SegmentFileExtent[] | null;
}

/** Timestamps ListOffsets gives special meaning to. */
export const ListOffsetsTimestamp = { LATEST: -1, EARLIEST: -2, MAX_TIMESTAMP: -3 } as const;

/** How a ListOffsets lookup is checked and what it may see. */
export interface ListOffsetsOptions {
  /** Fenced as in Fetch (KIP-320); -1 or absent: not checked. */
  currentLeaderEpoch?: number;
  /** 1 (read_committed): latest is the last stable offset, and no offset at or past it is found. */
  isolationLevel?: IsolationLevel;
}

export interface Engine {
  /**
   * Appends one RecordBatch v2. `lent`: the caller owns `batch` only until this call returns (a view
   * of a WebSocket message that uWS frees when its callback ends), so an engine that keeps it any
   * longer copies it first; otherwise the engine may keep the reference until the promise settles.
   */
  produce(
    topic: string,
    partition: number,
    batch: Uint8Array,
    acks: Acks,
    lent?: boolean,
  ): Promise<ProduceOutcome>;
  fetch(request: FetchRequest): Promise<FetchOutcome>;
  listOffsets(
    topic: string,
    partition: number,
    timestampMs: number,
    options?: ListOffsetsOptions,
  ): Promise<ListOffsetsOutcome>;
  /**
   * Appends one control batch (the marker) to the partition, durably per its
   * acks=-1 rules, and ends the producer's open transaction there: the LSO
   * advances, an ABORT records [firstOffset, markerOffset] in the
   * aborted-transaction index. Idempotent for a marker already written (same
   * producer, epoch, outcome). Resolves with NONE or an error code; never rejects.
   */
  writeTxnMarker(marker: TxnMarker): Promise<KafkaErrorCode>;

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
  /**
   * Where offsets [fromOffset, endOffset) of a partition lie in its segment
   * files (at most a few hundred segments per call: ask again from the last
   * one's nextOffset), for a reader that reads them itself rather than
   * through the owning shard. Engines without files need not implement it.
   */
  segmentExtents?(
    topic: string,
    partition: number,
    fromOffset: number,
    endOffset: number,
  ): Promise<SegmentExtentsOutcome>;
  /** Fresh producer ids from the broker's persistent sequencer (never repeats across restarts). */
  nextProducerId(): Promise<number>;
  /**
   * Why a partition is offline (a failed open, write or sync), or undefined
   * while it is served; from state the acceptor holds, no shard round trip.
   * Engines without storage faults need not implement it.
   */
  offlineReason?(topic: string, partition: number): string | undefined;
  /**
   * OffsetForLeaderEpoch (KIP-101/279): where `leaderEpoch` ends in the
   * partition's log, with the largest epoch at or below it that the log
   * knows. Engines without leader epochs need not implement it.
   */
  offsetForLeaderEpoch?(
    topic: string,
    partition: number,
    currentLeaderEpoch: number,
    leaderEpoch: number,
  ): Promise<EpochEndOffsetOutcome>;
}

export interface EpochEndOffsetOutcome {
  errorCode: KafkaErrorCode;
  /** UNDEFINED (-1) when the log knows no epoch at or below the one asked for. */
  leaderEpoch: number;
  endOffset: Offset;
}

/** A partition's replication role as its shard applies it (ROLE_CHANGE, shard-message.ts). */
export interface ReplicaRoleUpdate {
  role: 'leader' | 'follower' | 'none';
  leaderEpoch: number;
  /** How many replicas etcd's ISR holds (the leader included). */
  isrCount: number;
  minInsyncReplicas: number;
  /** A leader: the lowest offset its in-sync followers hold (Infinity: none to wait for); a follower: its leader's high watermark. */
  highWatermarkBound: number;
}

export interface ReplicaAppendOutcome {
  errorCode: KafkaErrorCode;
  /** The follower's log end after the append, durable per its fsync policy; -1 on error. */
  logEndOffset: Offset;
  highWatermark: Offset;
  errorMessage: string;
}

/**
 * Told by the Kafka Fetch handler of every fetch a follower broker made
 * (a replica id, allowed ClusterAction), per partition once it is answered:
 * how a leader learns how far each follower holds its log (src/replication).
 */
export interface FollowerFetchObserver {
  onFollowerFetch(
    topic: string,
    partition: number,
    replicaId: number,
    fetchOffset: number,
    outcome: FetchPartitionOutcome,
  ): void;
}

/**
 * What the replication data path (src/replication) asks of the partitions
 * this broker holds: roles, a follower's appends and truncation, and the
 * high watermark replication allows. Implemented by the sharded engine.
 */
export interface ReplicaEngine {
  applyReplicaRole(topic: string, partition: number, update: ReplicaRoleUpdate): Promise<KafkaErrorCode>;
  /**
   * Fire-and-forget: the shard raises what consumers may see, answering what waited for it. A follower
   * also passes its leader's log start offset (-1: none), which its own log start follows up to its high
   * watermark (Kafka's followers do the same from the fetch answer).
   */
  advanceHighWatermark(
    topic: string,
    partition: number,
    highWatermarkBound: number,
    leaderLogStartOffset?: number,
  ): void;
  appendAsFollower(
    topic: string,
    partition: number,
    leaderHighWatermark: number,
    batches: Uint8Array,
  ): Promise<ReplicaAppendOutcome>;
  /** Cuts the log to end at or below `offset`; the outcome's offset is the new log end. */
  truncateReplica(topic: string, partition: number, offset: number): Promise<ListOffsetsOutcome>;
  /**
   * Empties a follower's log and starts it again at `offset` (its leader's log start, which its log
   * ends below); the outcome's offset is the new log end.
   */
  resetReplicaLogStart(topic: string, partition: number, offset: number): Promise<ListOffsetsOutcome>;
  /**
   * This broker's own log, whatever its role: where `leaderEpoch` ends in it (-2: its latest epoch,
   * with the log end), for a follower working out its truncation.
   */
  localEpochEnd(topic: string, partition: number, leaderEpoch: number): Promise<EpochEndOffsetOutcome>;
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

/** The outcome of an offsets request (list, delete-records, truncate) that found none: `errorCode` only. */
export function listOffsetsFailure(errorCode: KafkaErrorCode): ListOffsetsOutcome {
  return { errorCode, offset: -1 as Offset, timestampMs: -1 };
}

/** The shared empty list of aborted transactions (read_uncommitted, or none in range). */
export const NO_ABORTED_TRANSACTIONS: readonly AbortedTransaction[] = Object.freeze([]);

/** The outcome of a fetch of one partition that read nothing: `errorCode`, no offsets, no records. */
export function fetchFailure(errorCode: KafkaErrorCode): FetchPartitionOutcome {
  return {
    errorCode,
    highWatermark: -1 as Offset,
    lastStableOffset: -1 as Offset,
    logStartOffset: -1 as Offset,
    records: new Uint8Array(0),
    abortedTransactions: NO_ABORTED_TRANSACTIONS,
  };
}
