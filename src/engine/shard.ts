import { rmSync } from 'node:fs';
import type { FsyncPolicy, TopicConfig } from '../common/broker-config.js';
import { errorMessage, PyralogError } from '../common/errors.js';
import { KafkaErrorCode } from '../common/kafka-error-code.js';
import { readInt64 } from '../common/offset.js';
import { BatchAttributes, BatchHeader } from '../record/batch-header.js';
import { buildControlBatch } from '../record/control-batch.js';
import { timestampWindow, validateProducedBatch } from '../record/validate.js';
import type { RingReader, RingRecord } from '../ring/index.js';
import type { FinalizeRequest } from '../storage/clean-finalize.js';
import { SyncRounds } from '../storage/group-commit.js';
import { partitionDir } from '../storage/partition-dirs.js';
import { PartitionLog } from '../storage/partition-log.js';
import { storageIo } from '../storage/storage-io.js';
import { BufferedProduces } from './buffered-produces.js';
import { ListOffsetsTimestamp, type ReplicaRoleUpdate } from './engine-api.js';
import { type CleanReport, LogCleanerThread } from './log-cleaner-thread.js';
import { OpenPartitionFiles, type Release } from './open-partition-files.js';
import { APPEND, DUPLICATE, type ProducerLimits } from './producer-state.js';
import { rebuildProducerState } from './producer-state-rebuild.js';
import { leaderEpochError } from './replica-role.js';
import type { ReplyWriter } from './reply-writer.js';
import { answerSegmentExtents, extentsTarget } from './shard-extents.js';
import { ShardFetcher } from './shard-fetcher.js';
import {
  DescribeField,
  DescribeReply,
  ListOffsetsField,
  ListOffsetsReply,
  MessageType,
  PARTITIONS_PER_TOPIC_MAX,
  PartitionRangeField,
  ProduceReply,
  ProduceRequest,
  partitionKey,
  REPLY_FLAG,
  RequestField,
  RequestFlag,
  StatusReply,
  TxnMarkerField,
  wallClockMs,
} from './shard-message.js';
import { Counter, type ShardMetricsWriter, Stage } from './shard-metrics.js';
import { ShardPartition } from './shard-partition.js';
import { ShardReplication } from './shard-replication.js';
import { persistSegmentTxns, rebuildTxnState } from './txn-state-rebuild.js';
import { WARM_UP_TOPIC_ID, WARM_UP_TOPIC_NAME, type WarmUpScratch } from './warm-up-scratch.js';

/**
 * A shard: the partitions placed on one worker thread and everything done to
 * them. Owned by that thread alone; nothing here is shared but the rings and
 * the metrics buffer. The worker entry (workers/shard.ts) feeds it ring
 * records; it answers through its ReplyWriter.
 */
export interface ShardOptions {
  shardId: number;
  dataDir: string;
  fsync: FsyncPolicy;
  retentionCheckIntervalMs: number;
  /** Bounds on idempotent-producer state per partition; Kafka-like defaults when absent. */
  producerLimits?: ProducerLimits;
  /** The log cleaner's read plus write rate (compacted topics); 0: no limit. Default 64 MiB/s. */
  cleanerIoBytesPerSecond?: number;
  /** Most partitions active at once (open-partition-files.ts); SHARD_ACTIVE_PARTITIONS_DEFAULT when absent. */
  maxActivePartitions?: number;
  /**
   * The partition logs start their syncs in shared rounds (SyncRounds, group-commit.ts) instead of each
   * keeping its own rhythm. Off when absent.
   */
  syncRounds?: boolean;
}

/** Active partitions a shard keeps when its options name no bound. */
export const SHARD_ACTIVE_PARTITIONS_DEFAULT = 2048;
/** Dormant partitions the retention timer looks at per tick (see sweepDormant). */
const DORMANT_SWEEP_PER_TICK = 2048;
/**
 * Dormant partitions with files the retention timer opens per tick at most: opening one after an
 * unclean stop is its recovery (a CRC scan of its active segment), done on the shard thread.
 */
const DORMANT_OPENS_PER_TICK = 64;

/** A topic's part of the dormant map: shared by all its dormant partitions on this shard. */
interface DormantTopic {
  topicId: number;
  topicName: string;
  config: TopicConfig;
}

/** A partition the acceptor asks a new shard to open at start-up. */
export interface PartitionAssignment {
  topicId: number;
  topicName: string;
  partition: number;
  config: TopicConfig;
  /**
   * Its replication role before this shard's worker restarted (cluster mode): given as the
   * partition opens (ShardReplication.applyStartRole). Absent on a single node and at first start.
   */
  role?: ReplicaRoleUpdate;
}

/** A partition this shard holds but cannot serve: it failed to open, or a write or sync failed. */
export interface OfflinePartition {
  topicId: number;
  topicName: string;
  partition: number;
  reason: string;
}

const textEncoder = new TextEncoder();
/** Reused by every produce: the topic's CreateTime window at the time of the append. */
const window = { earliestMs: 0, latestMs: 0 };
const textDecoder = new TextDecoder();

export class Shard {
  /** Partitions opened this run (active, or parked: open-partition-files.ts), by key. */
  readonly partitions = new Map<number, ShardPartition>();
  /**
   * Partitions placed here and not opened this run, by key. A partition is
   * opened (and, after an unclean stop, recovered) on the first request that
   * names it (`lookup`), so starting or creating 200,000 partitions costs a
   * map entry each, not files.
   */
  private readonly dormant = new Map<number, DormantTopic>();
  /** Roles a restarted shard's partitions had (PartitionAssignment.role), taken when each opens. */
  private readonly startRoles = new Map<number, ReplicaRoleUpdate>();
  private readonly files: OpenPartitionFiles;
  /**
   * Partitions that went offline, by key: every request naming one is
   * answered KAFKA_STORAGE_ERROR until the shard restarts and opens it again.
   */
  readonly offline = new Map<number, OfflinePartition>();
  /** Told (on the shard thread) when a partition goes offline; the worker forwards it for the broker's log. */
  onPartitionOffline: ((offline: OfflinePartition) => void) | null = null;
  private readonly fetcher: ShardFetcher;
  private readonly retentionTimer: NodeJS.Timeout;
  /** The log cleaner's thread, started by the first compacted partition that needs cleaning. */
  private cleaner: LogCleanerThread | null = null;
  /** The partition whose cleaner job is out (one job per shard at a time). */
  private cleaningPartition: ShardPartition | null = null;
  private readonly releaseAck: (
    correlationId: number,
    baseOffset: number,
    appendTimeMs: number,
    enqueuedMs: number,
  ) => void;
  private releasingPartition: ShardPartition | null = null;
  /** acks=-1 produces waiting for an fdatasync, over all partitions. */
  private durableAcksWaiting = 0;
  /** Produces of the current drain waiting for their logs' buffered write. */
  private readonly buffered = new BufferedProduces();
  /** The replication messages (shard-replication.ts). */
  private readonly replication: ShardReplication;
  /** The rounds in which this shard's partition logs start their syncs, when asked for (group-commit.ts). */
  private readonly syncRounds: SyncRounds | undefined;
  /** Counts and times every partition log's sync (one function for all logs). */
  private readonly onSyncTimed = (syncMs: number): void => {
    this.metrics.add(Counter.SYNCS, 1);
    this.metrics.observeMs(Stage.SYNC, syncMs);
  };
  /**
   * Where the start-up warm-up's scratch partition keeps its files, while it runs (warm-up-scratch.ts);
   * '' outside it (a string either way: a field whose type changed after the warm-up would throw away
   * the code V8 optimized during it).
   */
  private warmUpDir = '';

  constructor(
    private readonly options: ShardOptions,
    private readonly reader: RingReader,
    private readonly out: ReplyWriter,
    private readonly metrics: ShardMetricsWriter,
  ) {
    this.syncRounds = options.syncRounds === true ? new SyncRounds() : undefined;
    this.fetcher = new ShardFetcher(
      (topicId, partition) => this.lookup(topicId, partition),
      this.offline,
      reader,
      out,
      metrics,
    );
    this.files = new OpenPartitionFiles(
      options.maxActivePartitions ?? SHARD_ACTIVE_PARTITIONS_DEFAULT,
      (partition) => this.releaseIdle(partition),
    );
    // A restarted worker reuses its shard's metrics buffer: partitions offline before are opened afresh.
    metrics.set(Counter.OFFLINE_PARTITIONS, 0);
    this.retentionTimer = setInterval(() => this.enforceRetention(), options.retentionCheckIntervalMs);
    this.retentionTimer.unref();
    // One bound function reused for every released ack: no closure per produce.
    this.releaseAck = (correlationId, baseOffset, appendTimeMs, enqueuedMs) => {
      const partition = this.releasingPartition!;
      this.metrics.observeMs(Stage.FSYNC_WAIT, wallClockMs() - enqueuedMs);
      const replica = partition.replica;
      if (replica !== null && replica.isrCount < replica.minInsyncReplicas) {
        // Kafka's rule: the batch is committed, but the ISR fell below min.insync.replicas meanwhile.
        this.writeProduceReply(
          correlationId,
          KafkaErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
          -1,
          -1,
          -1,
          `the ISR holds ${replica.isrCount} replicas, below min.insync.replicas ${replica.minInsyncReplicas}`,
        );
        return;
      }
      this.writeProduceSuccess(correlationId, partition, baseOffset, appendTimeMs);
    };
    this.replication = new ShardReplication(
      (topicId, partition) => this.lookup(topicId, partition),
      (topicId, partition) => this.missingCode(topicId, partition),
      reader,
      out,
      this.fetcher,
      options.fsync,
      {
        onHighWatermarkMoved: (partition) => this.onDurable(partition),
        failPendingAcks: (partition, code, message) => {
          this.countDurableAcks(-partition.pendingAcks());
          partition.failAllAcks((id) => this.writeProduceReply(id, code, -1, -1, -1, message));
          this.out.publish();
        },
      },
    );
  }

  /**
   * Takes the partitions placed on this shard. None is opened yet: each is
   * opened, and recovered if the last stop was unclean, when a request first
   * names it.
   */
  openPartitions(assignments: readonly PartitionAssignment[]): void {
    let topic: DormantTopic | null = null;
    for (const assignment of assignments) {
      if (topic === null || topic.topicId !== assignment.topicId || topic.config !== assignment.config) {
        topic = { topicId: assignment.topicId, topicName: assignment.topicName, config: assignment.config };
      }
      const key = partitionKey(assignment.topicId, assignment.partition);
      if (!this.partitions.has(key)) this.dormant.set(key, topic);
      if (assignment.role !== undefined) this.startRoles.set(key, assignment.role);
    }
    this.countPartitions();
  }

  /**
   * Places the start-up warm-up's scratch partition here (warm-up-scratch.ts):
   * dormant until the first warm-up request names it, with its files under
   * `scratch.dir`.
   */
  beginWarmUp(scratch: WarmUpScratch): void {
    this.warmUpDir = scratch.dir;
    this.openPartitions([
      {
        topicId: WARM_UP_TOPIC_ID,
        topicName: WARM_UP_TOPIC_NAME,
        partition: scratch.partition,
        config: scratch.config,
      },
    ]);
  }

  /**
   * Ends the warm-up: closes and deletes the scratch partition's files (and
   * forgets that it failed, if it did), as deleting a topic does. No request
   * names it any more: the acceptor has had every warm-up reply.
   */
  async endWarmUp(): Promise<void> {
    const closing: Promise<void>[] = [];
    for (const [key, partition] of this.partitions) {
      if (partition.topicId !== WARM_UP_TOPIC_ID) continue;
      this.partitions.delete(key);
      this.files.remove(partition);
      this.fetcher.forgetPartition(partition);
      const pendingAcks = partition.pendingAcks();
      if (pendingAcks > 0) this.countDurableAcks(-pendingAcks);
      partition.failAllAcks((id) =>
        this.writeProduceReply(id, KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1, -1, -1, 'warm-up over'),
      );
      closing.push(this.destroyLog(partition));
    }
    for (const key of [...this.dormant.keys()]) {
      if (this.dormant.get(key)!.topicId === WARM_UP_TOPIC_ID) this.dormant.delete(key);
    }
    for (const [key, offline] of this.offline) {
      if (offline.topicId === WARM_UP_TOPIC_ID) this.offline.delete(key);
    }
    this.metrics.set(Counter.OFFLINE_PARTITIONS, this.offline.size);
    this.out.publish();
    try {
      await Promise.all(closing);
    } finally {
      this.warmUpDir = '';
      this.countPartitions();
    }
  }

  /**
   * The partition a request names, opened now if it was dormant, and marked
   * used; undefined when it is not on this shard or is offline (a failed open
   * takes it offline and reports it).
   */
  lookup(topicId: number, partitionIndex: number): ShardPartition | undefined {
    const key = partitionKey(topicId, partitionIndex);
    let partition = this.partitions.get(key);
    if (partition === undefined) {
      const topic = this.dormant.get(key);
      if (topic === undefined) return undefined;
      this.dormant.delete(key);
      partition = this.openPartition({
        topicId,
        topicName: topic.topicName,
        partition: partitionIndex,
        config: topic.config,
      });
      if (partition === undefined) return undefined;
    }
    this.files.touch(partition);
    return partition;
  }

  /** Active partitions now (open-partition-files.ts): for tests and metrics. */
  get activePartitionCount(): number {
    return this.files.activeCount;
  }

  /** Partitions placed here and not opened this run. */
  get dormantPartitionCount(): number {
    return this.dormant.size;
  }

  /**
   * Lets an idle partition go (open-partition-files.ts): one never written
   * becomes dormant again; one with files closes its descriptors. A partition
   * with appends not yet synced is asked for a sync and stays for now, and
   * so does the one whose log cleaner job is out.
   */
  private releaseIdle(partition: ShardPartition): Release {
    if (!partition.isIdle() || partition === this.cleaningPartition) return 'busy';
    const log = partition.log;
    // A replicated partition keeps its object (its role lives there) even while it holds no files.
    if (!log.hasFiles() && partition.producers.size() === 0 && partition.replica === null) {
      const key = partitionKey(partition.topicId, partition.partition);
      if (this.partitions.get(key) !== partition) return 'forgotten';
      this.partitions.delete(key);
      this.dormant.set(key, {
        topicId: partition.topicId,
        topicName: partition.topicName,
        config: partition.config,
      });
      log.abandon().catch(() => this.metrics.add(Counter.STORAGE_ERRORS, 1));
      return 'forgotten';
    }
    if (log.parkFiles()) return 'parked';
    log.requestSync();
    return 'busy';
  }

  private countPartitions(): void {
    this.metrics.set(Counter.PARTITIONS, this.partitions.size + this.dormant.size);
  }

  /**
   * Handles every request available in the ring, frees it, and publishes the
   * replies. Returns how many it handled.
   *
   * Produced batches are buffered in their logs and each log writes its part
   * of the burst in one system call (completeBufferedProduces) before the
   * ring space they sit in is freed, before any other kind of request (a
   * fetch reads the file), and before their produces are answered.
   */
  drain(record: RingRecord): number {
    let handled = 0;
    while (this.reader.tryRead(record)) {
      if (record.type !== MessageType.PRODUCE) this.completeBufferedProduces();
      this.handle(record);
      handled++;
      if ((handled & 63) === 0) {
        // Free ring space and flush replies regularly during long bursts.
        this.completeBufferedProduces();
        this.reader.release();
        this.out.publish();
      }
    }
    if (handled > 0) {
      this.completeBufferedProduces();
      this.reader.release();
      this.out.publish();
    }
    return handled;
  }

  private handle(record: RingRecord): void {
    const view = this.reader.view;
    const sentAtMs = view.getFloat64(record.payloadPosition + RequestField.SENT_AT_MS);
    this.metrics.observeMs(Stage.RING_WAIT, wallClockMs() - sentAtMs);
    switch (record.type) {
      case MessageType.PRODUCE:
        this.produce(record);
        return;
      case MessageType.FETCH:
        this.fetcher.fetch(record);
        return;
      case MessageType.WAKE_FETCH:
        this.fetcher.wake(record.correlationId);
        return;
      case MessageType.LIST_OFFSETS:
        this.listOffsets(record);
        return;
      case MessageType.DELETE_RECORDS:
        this.deleteRecords(record);
        return;
      case MessageType.CREATE_PARTITIONS:
        this.createPartitions(record);
        return;
      case MessageType.DELETE_PARTITIONS:
        void this.deletePartitions(record);
        return;
      case MessageType.DESCRIBE_PARTITIONS:
        this.describePartitions(record);
        return;
      case MessageType.FLUSH:
        void this.flush(record.correlationId);
        return;
      case MessageType.ROLE_CHANGE:
      case MessageType.HW_ADVANCE:
      case MessageType.REPLICA_APPEND:
      case MessageType.TRUNCATE:
      case MessageType.RESET_LOG_START:
      case MessageType.OFFSET_FOR_EPOCH:
        this.replication.handle(record);
        return;
      case MessageType.TXN_MARKER:
        this.txnMarker(record);
        return;
      case MessageType.SEGMENT_EXTENTS:
        this.segmentExtents(record);
        return;
      default:
        // An unknown message type means the two sides disagree on the layout:
        // answer with an error rather than guess at the payload.
        this.writeStatus(record.type | REPLY_FLAG, record.correlationId, KafkaErrorCode.INVALID_REQUEST);
    }
  }

  /**
   * Answers a write (a produce or a transaction marker) naming a partition this
   * shard does not serve: KAFKA_STORAGE_ERROR with the cause when the partition
   * went offline here, UNKNOWN_TOPIC_OR_PARTITION when it is not on this shard.
   */
  private answerPartitionNotHere(correlationId: number, key: number): void {
    const offline = this.offline.get(key);
    if (offline !== undefined) {
      this.produceError(correlationId, KafkaErrorCode.KAFKA_STORAGE_ERROR, offlineMessage(offline));
    } else {
      this.produceError(
        correlationId,
        KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        'partition is not on this shard',
      );
    }
  }

  private produce(record: RingRecord): void {
    const view = this.reader.view;
    const position = record.payloadPosition;
    const startedMs = wallClockMs();
    this.metrics.add(Counter.PRODUCE_REQUESTS, 1);
    const topicId = view.getUint32(position + ProduceRequest.TOPIC_ID);
    const partitionIndex = view.getUint32(position + ProduceRequest.PARTITION);
    const acks = view.getInt8(position + ProduceRequest.ACKS);
    const key = partitionKey(topicId, partitionIndex);
    const partition = this.lookup(topicId, partitionIndex);
    if (partition === undefined) {
      this.answerPartitionNotHere(record.correlationId, key);
      return;
    }
    const replica = partition.replica;
    if (replica !== null) {
      if (replica.role !== 'leader') {
        this.produceError(
          record.correlationId,
          KafkaErrorCode.NOT_LEADER_OR_FOLLOWER,
          'this replica is a follower',
        );
        return;
      }
      if (acks === -1 && replica.isrCount < replica.minInsyncReplicas) {
        this.produceError(
          record.correlationId,
          KafkaErrorCode.NOT_ENOUGH_REPLICAS,
          `the ISR holds ${replica.isrCount} replicas, below min.insync.replicas ${replica.minInsyncReplicas}`,
        );
        return;
      }
    }
    const batchStart = position + ProduceRequest.BATCH + view.getUint8(position + ProduceRequest.BATCH_SKEW);
    const batch = this.reader.bytes.subarray(batchStart, position + record.payloadBytes);
    try {
      timestampWindow(partition.config, startedMs, window);
      validateProducedBatch(
        batch,
        partition.config.maxMessageBytes,
        window.earliestMs,
        window.latestMs,
        // Compacted topics take only keyed records, as Kafka's validator insists.
        partition.config.cleanupPolicy !== 'delete',
      );
      // The shard walks only plain records: a compressed batch must come with the batch checker's count.
      if (
        (view.getUint8(batchStart + BatchHeader.ATTRIBUTES + 1) & BatchAttributes.COMPRESSION_MASK) !== 0 &&
        view.getUint8(position + ProduceRequest.RECORDS_CHECKED) === 0
      ) {
        throw new PyralogError(
          KafkaErrorCode.INVALID_RECORD,
          'compressed batch reached the shard without its records check; refused',
        );
      }
      // A stopped log answers even a retried batch with its error, never with an earlier success.
      partition.log.assertWritable();
      // The batch sits in the ring at batchStart: read its producer fields through the ring's view.
      const producerId = readInt64(view, batchStart + BatchHeader.PRODUCER_ID);
      const producerEpoch = view.getInt16(batchStart + BatchHeader.PRODUCER_EPOCH);
      const baseSequence = view.getInt32(batchStart + BatchHeader.BASE_SEQUENCE);
      const recordCount = view.getInt32(batchStart + BatchHeader.RECORD_COUNT);
      const transactional =
        (view.getUint8(batchStart + BatchHeader.ATTRIBUTES + 1) & BatchAttributes.TRANSACTIONAL) !== 0;
      const nowMs = Date.now();
      if (producerId >= 0) {
        // Within a transaction every batch of the producer is transactional until its marker (as Kafka checks).
        if (!transactional && partition.txns.hasOpen(producerId)) {
          this.produceError(
            record.correlationId,
            KafkaErrorCode.INVALID_TXN_STATE,
            'a non-transactional batch from a producer with a transaction open on this partition',
          );
          return;
        }
        const verdict = partition.producers.check(
          producerId,
          producerEpoch,
          baseSequence,
          recordCount,
          nowMs,
        );
        if (verdict === DUPLICATE) {
          // A retried batch already appended: answered with its original offsets, once as durable as acks asks.
          this.metrics.add(Counter.DUPLICATE_BATCHES, 1);
          const duplicateBaseOffset = partition.producers.duplicateBaseOffset;
          this.buffered.add(
            record.correlationId,
            partition,
            acks,
            duplicateBaseOffset,
            duplicateBaseOffset + recordCount - 1,
            -1,
            startedMs,
          );
          return;
        }
        if (verdict !== APPEND) {
          this.produceError(record.correlationId, partition.producers.errorCode, duplicateProblem(verdict));
          return;
        }
      }
      const result = partition.log.appendBuffered(batch, nowMs);
      if (producerId >= 0) {
        partition.producers.recordAppend(
          producerId,
          producerEpoch,
          baseSequence,
          recordCount,
          result.baseOffset,
          nowMs,
        );
        if (transactional) partition.txns.onTransactionalAppend(producerId, result.baseOffset);
      }
      this.buffered.add(
        record.correlationId,
        partition,
        acks,
        result.baseOffset,
        result.lastOffset,
        result.logAppendTimeMs,
        startedMs,
      );
    } catch (error) {
      const code = error instanceof PyralogError ? error.kafkaCode : KafkaErrorCode.KAFKA_STORAGE_ERROR;
      this.produceError(record.correlationId, code, errorMessage(error));
      return;
    }
    this.metrics.add(Counter.PRODUCE_BYTES, batch.length);
  }

  /**
   * Writes the batches this drain buffered, one system call per log, then
   * answers their produces: acks=1 at once, acks=-1 under `--fsync always`
   * once a sync covers them, and KAFKA_STORAGE_ERROR for every produce of a
   * log whose write failed.
   */
  private completeBufferedProduces(): void {
    const buffered = this.buffered;
    if (buffered.count === 0) return;
    for (let i = 0; i < buffered.count; i++) {
      // A log's first produce in the burst writes all of its buffered batches; later ones find none left.
      const partition = buffered.partitions[i]!;
      let writtenBytes: number;
      try {
        writtenBytes = partition.log.writeBuffered();
      } catch {
        continue; // the log is stopped now: its produces are answered with its failure below
      }
      // Under fsync always a write shows consumers nothing new (the high watermark moves on sync: onDurable).
      // A replicated partition's followers read up to the log end: they are told at once.
      if (writtenBytes > 0 && (this.options.fsync !== 'always' || partition.replica !== null)) {
        this.fetcher.notifyAppend(partition);
      }
    }
    const nowMs = wallClockMs();
    for (let i = 0; i < buffered.count; i++) {
      const partition = buffered.partitions[i]!;
      const correlationId = buffered.correlationIds[i]!;
      // Every produce here was taken while its log was writable, so a log stopped now failed to write
      // this burst: at the end or in a roll that wrote part of it.
      const writeFailure = partition.log.failureMessage;
      if (writeFailure !== null) {
        this.produceError(correlationId, KafkaErrorCode.KAFKA_STORAGE_ERROR, writeFailure);
        continue;
      }
      this.metrics.observeMs(Stage.APPEND, nowMs - buffered.startedMs[i]!);
      const baseOffset = buffered.baseOffsets[i]!;
      const lastOffset = buffered.lastOffsets[i]!;
      const appendTimeMs = buffered.appendTimesMs[i]!;
      // acks=all waits for the sync that covers the batch (fsync always) or, replicated, for the high
      // watermark: the lowest offset durable across the ISR.
      if (
        buffered.acks[i] === -1 &&
        (partition.replica === null
          ? this.options.fsync === 'always' && partition.log.durableOffset <= lastOffset
          : partition.log.highWatermark <= lastOffset)
      ) {
        partition.enqueueAck(correlationId, baseOffset, lastOffset, appendTimeMs, nowMs);
        this.countDurableAcks(1);
        continue;
      }
      this.writeProduceSuccess(correlationId, partition, baseOffset, appendTimeMs);
    }
    buffered.clear();
  }

  /** Called by a partition log after a sync: answers the acks=-1 produces it covered. */
  private onDurable(partition: ShardPartition): void {
    const replicated = partition.replica !== null;
    if ((this.options.fsync === 'always' || replicated) && partition.waiters.size > 0) {
      // The high watermark is the durable offset: fetches held for data can see more now.
      this.fetcher.notifyAppend(partition);
      this.out.publish();
    }
    const before = partition.pendingAcks();
    if (before === 0) return;
    this.releasingPartition = partition;
    partition.releaseAcks(
      replicated ? partition.log.highWatermark : partition.log.durableOffset,
      this.releaseAck,
    );
    this.releasingPartition = null;
    this.countDurableAcks(partition.pendingAcks() - before);
    this.out.publish();
  }

  private countDurableAcks(delta: number): void {
    this.durableAcksWaiting += delta;
    this.metrics.add(Counter.PENDING_DURABLE_ACKS, delta);
  }

  /**
   * True while a reply can only come from the event loop: a held fetch (its
   * timer), an acks=-1 produce (its fdatasync), or a reply waiting for ring
   * space. The worker then sleeps on the doorbell without blocking its event
   * loop; otherwise it may block on the doorbell, which wakes faster and costs
   * less CPU per request (see workers/shard.ts).
   */
  waitsOnEventLoop(): boolean {
    return (
      this.durableAcksWaiting > 0 ||
      this.fetcher.heldCount() > 0 ||
      this.out.pendingReplies() > 0 ||
      this.replication.waiting > 0
    );
  }

  private produceError(correlationId: number, code: KafkaErrorCode, message: string): void {
    this.metrics.add(Counter.PRODUCE_ERRORS, 1);
    this.writeProduceReply(correlationId, code, -1, -1, -1, message);
  }

  private writeProduceSuccess(
    correlationId: number,
    partition: ShardPartition,
    baseOffset: number,
    appendTimeMs: number,
  ): void {
    this.writeProduceReply(
      correlationId,
      KafkaErrorCode.NONE,
      baseOffset,
      appendTimeMs,
      partition.log.logStartOffset,
      '',
    );
  }

  private writeProduceReply(
    correlationId: number,
    code: KafkaErrorCode,
    baseOffset: number,
    appendTimeMs: number,
    logStartOffset: number,
    message: string,
  ): void {
    const messageBytes = message.length === 0 ? null : textEncoder.encode(message.slice(0, 1000));
    const size = ProduceReply.MESSAGE + (messageBytes?.length ?? 0);
    const p = this.out.claim(MessageType.PRODUCE | REPLY_FLAG, correlationId, size);
    const view = this.out.view;
    view.setInt16(p + ProduceReply.ERROR_CODE, code);
    view.setUint16(p + ProduceReply.MESSAGE_BYTES, messageBytes?.length ?? 0);
    view.setUint32(p + 4, 0);
    view.setFloat64(p + ProduceReply.BASE_OFFSET, baseOffset);
    view.setFloat64(p + ProduceReply.LOG_APPEND_TIME_MS, appendTimeMs);
    view.setFloat64(p + ProduceReply.LOG_START_OFFSET, logStartOffset);
    if (messageBytes !== null) this.out.bytes.set(messageBytes, p + ProduceReply.MESSAGE);
  }

  private listOffsets(record: RingRecord): void {
    const view = this.reader.view;
    const p = record.payloadPosition;
    this.metrics.add(Counter.OTHER_REQUESTS, 1);
    const partition = this.lookup(
      view.getUint32(p + ListOffsetsField.TOPIC_ID),
      view.getUint32(p + ListOffsetsField.PARTITION),
    );
    const timestampMs = view.getFloat64(p + ListOffsetsField.TIMESTAMP_MS);
    const readCommitted = (record.flags & RequestFlag.READ_COMMITTED) !== 0;
    let code: KafkaErrorCode = KafkaErrorCode.NONE;
    let offset = -1;
    let foundTimestampMs = -1;
    if (partition === undefined) {
      code = this.missingCode(
        view.getUint32(p + ListOffsetsField.TOPIC_ID),
        view.getUint32(p + ListOffsetsField.PARTITION),
      );
    } else if (partition.replica !== null && partition.replica.role !== 'leader') {
      code = KafkaErrorCode.NOT_LEADER_OR_FOLLOWER;
    } else if (
      leaderEpochError(partition.replica, view.getInt32(p + ListOffsetsField.CURRENT_LEADER_EPOCH)) !==
      KafkaErrorCode.NONE
    ) {
      code = leaderEpochError(partition.replica, view.getInt32(p + ListOffsetsField.CURRENT_LEADER_EPOCH));
    } else if (timestampMs === -1) {
      // "Latest" is the end of what a consumer may read: the high watermark, or for read_committed the LSO.
      offset = readCommitted
        ? partition.txns.lastStableOffset(partition.log.highWatermark, partition.log.logStartOffset)
        : partition.log.highWatermark;
    } else if (timestampMs === -2) {
      offset = partition.log.logStartOffset;
    } else {
      const found =
        timestampMs === ListOffsetsTimestamp.MAX_TIMESTAMP
          ? partition.log.offsetOfMaxTimestamp()
          : partition.log.offsetForTimestamp(timestampMs);
      // read_committed finds nothing it could not read (as Kafka bounds it by the LSO).
      const visible =
        found !== null &&
        (!readCommitted ||
          found.offset <
            partition.txns.lastStableOffset(partition.log.highWatermark, partition.log.logStartOffset));
      if (found !== null && visible) {
        offset = found.offset;
        foundTimestampMs = found.timestampMs;
      }
    }
    const r = this.out.claim(
      MessageType.LIST_OFFSETS | REPLY_FLAG,
      record.correlationId,
      ListOffsetsReply.SIZE_BYTES,
    );
    const out = this.out.view;
    out.setInt16(r + ListOffsetsReply.ERROR_CODE, code);
    out.setInt16(r + 2, 0);
    out.setUint32(r + 4, 0);
    out.setFloat64(r + ListOffsetsReply.OFFSET, offset);
    out.setFloat64(r + ListOffsetsReply.TIMESTAMP_MS, foundTimestampMs);
  }

  /**
   * A transaction marker (TXN_MARKER): appends the control batch, ends the
   * producer's transaction here (LSO, aborted index), and answers like a
   * produce with acks=-1: once durable under `fsync always`. A marker already
   * written (no transaction open since, same epoch and outcome) is answered
   * with its offset and not appended again. A marker older than the
   * producer's epoch is refused (INVALID_PRODUCER_EPOCH); a newer one fences
   * the producer's older epoch on this partition.
   */
  private txnMarker(record: RingRecord): void {
    const view = this.reader.view;
    const p = record.payloadPosition;
    this.metrics.add(Counter.OTHER_REQUESTS, 1);
    const topicId = view.getUint32(p + TxnMarkerField.TOPIC_ID);
    const partitionIndex = view.getUint32(p + TxnMarkerField.PARTITION);
    const producerId = view.getFloat64(p + TxnMarkerField.PRODUCER_ID);
    const producerEpoch = view.getInt16(p + TxnMarkerField.PRODUCER_EPOCH);
    const commit = view.getUint8(p + TxnMarkerField.COMMIT) === 1;
    const coordinatorEpoch = view.getInt32(p + TxnMarkerField.COORDINATOR_EPOCH);
    const partition = this.lookup(topicId, partitionIndex);
    if (partition === undefined) {
      this.answerPartitionNotHere(record.correlationId, partitionKey(topicId, partitionIndex));
      return;
    }
    if (partition.replica !== null && partition.replica.role !== 'leader') {
      this.produceError(
        record.correlationId,
        KafkaErrorCode.NOT_LEADER_OR_FOLLOWER,
        'this replica is a follower',
      );
      return;
    }
    const startedMs = wallClockMs();
    let markerOffset = partition.txns.writtenMarkerOffset(producerId, producerEpoch, commit);
    try {
      partition.log.assertWritable();
      if (markerOffset < 0) {
        if (!partition.producers.acceptMarkerEpoch(producerId, producerEpoch)) {
          this.produceError(
            record.correlationId,
            KafkaErrorCode.INVALID_PRODUCER_EPOCH,
            'marker epoch is older than the producer epoch on this partition',
          );
          return;
        }
        const batch = buildControlBatch({ producerId, producerEpoch, commit, coordinatorEpoch }, Date.now());
        markerOffset = partition.log.append(batch, Date.now()).baseOffset;
        partition.txns.onMarker(producerId, producerEpoch, commit, markerOffset);
        // The LSO may have moved (read_committed fetches held here can see more); followers fetch the marker.
        if (this.options.fsync !== 'always' || partition.replica !== null)
          this.fetcher.notifyAppend(partition);
      }
    } catch (error) {
      const code = error instanceof PyralogError ? error.kafkaCode : KafkaErrorCode.KAFKA_STORAGE_ERROR;
      this.produceError(record.correlationId, code, errorMessage(error));
      return;
    }
    // As acks=all: durable under fsync always or, replicated, below the high watermark.
    if (
      partition.replica === null
        ? this.options.fsync === 'always' && partition.log.durableOffset <= markerOffset
        : partition.log.highWatermark <= markerOffset
    ) {
      partition.enqueueAck(record.correlationId, markerOffset, markerOffset, -1, startedMs);
      this.countDurableAcks(1);
      return;
    }
    this.writeProduceSuccess(record.correlationId, partition, markerOffset, -1);
  }

  /** DeleteRecords for one partition: moves its log start offset (durably) and answers the new one. */
  private deleteRecords(record: RingRecord): void {
    const view = this.reader.view;
    const p = record.payloadPosition;
    this.metrics.add(Counter.OTHER_REQUESTS, 1);
    const topicId = view.getUint32(p + ListOffsetsField.TOPIC_ID);
    const partitionIndex = view.getUint32(p + ListOffsetsField.PARTITION);
    const requested = view.getFloat64(p + ListOffsetsField.TIMESTAMP_MS);
    const partition = this.lookup(topicId, partitionIndex);
    let code: KafkaErrorCode = KafkaErrorCode.NONE;
    let lowWatermark = -1;
    if (partition === undefined) {
      code = this.missingCode(topicId, partitionIndex);
    } else {
      try {
        // -1 asks for everything below the high watermark, as in Kafka.
        const offset = requested === -1 ? partition.log.highWatermark : requested;
        lowWatermark = partition.log.deleteRecordsBefore(offset);
      } catch (error) {
        code = error instanceof PyralogError ? error.kafkaCode : KafkaErrorCode.KAFKA_STORAGE_ERROR;
      }
    }
    const r = this.out.claim(
      MessageType.DELETE_RECORDS | REPLY_FLAG,
      record.correlationId,
      ListOffsetsReply.SIZE_BYTES,
    );
    const out = this.out.view;
    out.setInt16(r + ListOffsetsReply.ERROR_CODE, code);
    out.setInt16(r + 2, 0);
    out.setUint32(r + 4, 0);
    out.setFloat64(r + ListOffsetsReply.OFFSET, lowWatermark);
    out.setFloat64(r + ListOffsetsReply.TIMESTAMP_MS, -1);
  }

  private createPartitions(record: RingRecord): void {
    const view = this.reader.view;
    const p = record.payloadPosition;
    this.metrics.add(Counter.OTHER_REQUESTS, 1);
    const topicId = view.getUint32(p + PartitionRangeField.TOPIC_ID);
    const first = view.getUint32(p + PartitionRangeField.FIRST_PARTITION);
    const count = view.getUint32(p + PartitionRangeField.PARTITION_COUNT);
    let code: KafkaErrorCode = KafkaErrorCode.NONE;
    try {
      const body = JSON.parse(
        textDecoder.decode(this.reader.bytes.subarray(p + PartitionRangeField.BODY, p + record.payloadBytes)),
      ) as { topic: string; config: TopicConfig; partitions: number[] };
      // Partitions already here take the settings sent: this message also carries a topic's altered
      // config. New ones are dormant until a request names them: creating costs no file system work.
      const topic: DormantTopic = { topicId, topicName: body.topic, config: body.config };
      for (const partition of body.partitions ?? range(first, count)) {
        const key = partitionKey(topicId, partition);
        const open = this.partitions.get(key);
        if (open === undefined) {
          if (!this.offline.has(key)) this.dormant.set(key, topic);
        } else {
          open.config = body.config;
          open.log.setConfig(body.config);
        }
      }
      this.countPartitions();
    } catch (error) {
      code = error instanceof PyralogError ? error.kafkaCode : KafkaErrorCode.KAFKA_STORAGE_ERROR;
    }
    this.writeStatus(MessageType.CREATE_PARTITIONS | REPLY_FLAG, record.correlationId, code);
  }

  private async deletePartitions(record: RingRecord): Promise<void> {
    const view = this.reader.view;
    const p = record.payloadPosition;
    const correlationId = record.correlationId;
    this.metrics.add(Counter.OTHER_REQUESTS, 1);
    const topicId = view.getUint32(p + PartitionRangeField.TOPIC_ID);
    const body = JSON.parse(
      textDecoder.decode(this.reader.bytes.subarray(p + PartitionRangeField.BODY, p + record.payloadBytes)),
    ) as { partitions: number[]; dirs: string[] };
    const closing: Promise<void>[] = [];
    for (const index of body.partitions) {
      const key = partitionKey(topicId, index);
      const partition = this.partitions.get(key);
      if (this.offline.delete(key)) this.metrics.set(Counter.OFFLINE_PARTITIONS, this.offline.size);
      this.dormant.delete(key);
      if (partition === undefined) continue;
      this.partitions.delete(key);
      this.files.remove(partition);
      this.fetcher.forgetPartition(partition);
      this.countDurableAcks(-partition.pendingAcks());
      partition.failAllAcks((id) =>
        this.writeProduceReply(id, KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1, -1, -1, 'topic deleted'),
      );
      closing.push(this.destroyLog(partition));
    }
    let code: KafkaErrorCode = KafkaErrorCode.NONE;
    try {
      await Promise.all(closing);
      // Directories of partitions this shard never opened (placed elsewhere
      // before a shard-count change) are removed too.
      for (const dir of body.dirs ?? []) rmSync(dir, { recursive: true, force: true });
    } catch {
      code = KafkaErrorCode.KAFKA_STORAGE_ERROR;
    }
    this.countPartitions();
    this.writeStatus(MessageType.DELETE_PARTITIONS | REPLY_FLAG, correlationId, code);
    this.out.publish();
  }

  private describePartitions(record: RingRecord): void {
    const view = this.reader.view;
    const p = record.payloadPosition;
    this.metrics.add(Counter.OTHER_REQUESTS, 1);
    const topicId = view.getUint32(p + DescribeField.TOPIC_ID);
    const count = view.getUint32(p + DescribeField.COUNT);
    const r = this.out.claim(
      MessageType.DESCRIBE_PARTITIONS | REPLY_FLAG,
      record.correlationId,
      DescribeReply.ENTRIES + count * DescribeReply.ENTRY_BYTES,
    );
    const out = this.out.view;
    out.setUint32(r + DescribeReply.COUNT, count);
    out.setUint32(r + 4, 0);
    for (let i = 0; i < count; i++) {
      const index = view.getUint32(p + DescribeField.PARTITIONS + i * 4);
      const partition = this.lookup(topicId, index);
      const e = r + DescribeReply.ENTRIES + i * DescribeReply.ENTRY_BYTES;
      out.setInt16(
        e + DescribeReply.ENTRY_ERROR_CODE,
        partition ? KafkaErrorCode.NONE : this.missingCode(topicId, index),
      );
      out.setInt16(e + 2, 0);
      out.setUint32(e + 4, 0);
      out.setFloat64(e + DescribeReply.ENTRY_LOG_START, partition?.log.logStartOffset ?? -1);
      out.setFloat64(e + DescribeReply.ENTRY_LOG_END, partition?.log.logEndOffset ?? -1);
      out.setFloat64(e + DescribeReply.ENTRY_HIGH_WATERMARK, partition?.log.highWatermark ?? -1);
    }
  }

  private async flush(correlationId: number): Promise<void> {
    let code: KafkaErrorCode = KafkaErrorCode.NONE;
    try {
      await Promise.all([...this.partitions.values()].map((partition) => partition.log.flush()));
    } catch {
      code = KafkaErrorCode.KAFKA_STORAGE_ERROR;
    }
    this.writeStatus(MessageType.FLUSH | REPLY_FLAG, correlationId, code);
    this.out.publish();
  }

  private writeStatus(type: number, correlationId: number, code: KafkaErrorCode): void {
    const r = this.out.claim(type, correlationId, StatusReply.SIZE_BYTES);
    this.out.view.setInt16(r + StatusReply.ERROR_CODE, code);
    this.out.view.setInt16(r + 2, 0);
    this.out.view.setUint32(r + 4, 0);
  }

  /** SEGMENT_EXTENTS: where a range of a partition lies in its files (shard-extents.ts). */
  private segmentExtents(record: RingRecord): void {
    const view = this.reader.view;
    const p = record.payloadPosition;
    this.metrics.add(Counter.OTHER_REQUESTS, 1);
    const startedMs = wallClockMs();
    const { topicId, partition } = extentsTarget(view, p);
    const found = this.lookup(topicId, partition);
    answerSegmentExtents(
      view,
      p,
      record.correlationId,
      found,
      found === undefined ? this.missingCode(topicId, partition) : KafkaErrorCode.NONE,
      this.out,
    );
    this.metrics.observeMs(Stage.SEGMENT_EXTENTS, wallClockMs() - startedMs);
  }

  /** The error for a partition not served here: offline, or not on this shard at all. */
  private missingCode(topicId: number, partition: number): KafkaErrorCode {
    return this.offline.has(partitionKey(topicId, partition))
      ? KafkaErrorCode.KAFKA_STORAGE_ERROR
      : KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
  }

  /**
   * Takes a partition offline: it is no longer served (requests naming it get
   * KAFKA_STORAGE_ERROR), every produce waiting for its sync is answered with
   * KAFKA_STORAGE_ERROR, fetches held on it are answered, and its files are
   * closed without a clean marker. It stays offline until the shard restarts.
   * The other partitions are untouched.
   */
  private takeOffline(partition: ShardPartition, reason: string): void {
    const key = partitionKey(partition.topicId, partition.partition);
    if (this.partitions.get(key) !== partition) return;
    this.partitions.delete(key);
    this.files.remove(partition);
    this.fetcher.forgetPartition(partition);
    this.countDurableAcks(-partition.pendingAcks());
    const message = `partition ${partition.topicName}-${partition.partition} is offline: ${reason}`;
    partition.failAllAcks((id) =>
      this.writeProduceReply(id, KafkaErrorCode.KAFKA_STORAGE_ERROR, -1, -1, -1, message),
    );
    this.out.publish();
    this.closeFailedLog(partition.log);
    this.markOffline({
      topicId: partition.topicId,
      topicName: partition.topicName,
      partition: partition.partition,
      reason,
    });
  }

  /**
   * Closes the files of a log whose partition goes offline. Closing can fail
   * too; that failure is counted as a storage error and changes nothing else,
   * since the partition is already reported offline with its first error.
   */
  private closeFailedLog(log: PartitionLog): void {
    log.abandon().catch(() => this.metrics.add(Counter.STORAGE_ERRORS, 1));
  }

  private markOffline(offline: OfflinePartition): void {
    this.offline.set(partitionKey(offline.topicId, offline.partition), offline);
    this.metrics.add(Counter.STORAGE_ERRORS, 1);
    this.metrics.set(Counter.OFFLINE_PARTITIONS, this.offline.size);
    this.countPartitions();
    this.onPartitionOffline?.(offline);
  }

  private openPartition(assignment: PartitionAssignment): ShardPartition | undefined {
    const key = partitionKey(assignment.topicId, assignment.partition);
    let log: PartitionLog;
    try {
      log = PartitionLog.open({
        dir: partitionDir(
          // The warm-up's scratch partition lives outside the data directory.
          assignment.topicId === WARM_UP_TOPIC_ID && this.warmUpDir !== ''
            ? this.warmUpDir
            : this.options.dataDir,
          assignment.topicId,
          assignment.topicName,
          assignment.partition,
        ),
        config: assignment.config,
        fsync: this.options.fsync,
        syncRounds: this.syncRounds,
        onSyncTimed: this.onSyncTimed,
      });
    } catch (error) {
      // One partition that cannot open never stops the shard (or the broker) from starting.
      this.markOffline({
        topicId: assignment.topicId,
        topicName: assignment.topicName,
        partition: assignment.partition,
        reason: `cannot open: ${errorMessage(error)}`,
      });
      return undefined;
    }
    this.offline.delete(key);
    const partition = new ShardPartition(
      assignment.topicId,
      assignment.partition,
      assignment.topicName,
      assignment.config,
      log,
      this.options.producerLimits,
    );
    log.onDurable = () => this.onDurable(partition);
    log.onFailed = (reason) => this.takeOffline(partition, reason);
    log.onRoll = (closedBaseOffset, closedEndOffset) =>
      this.writeSegmentTxnIndex(partition, closedBaseOffset, closedEndOffset);
    try {
      rebuildProducerState(partition.producers, log);
      rebuildTxnState(partition.txns, log);
    } catch (error) {
      this.closeFailedLog(log);
      this.markOffline({
        topicId: assignment.topicId,
        topicName: assignment.topicName,
        partition: assignment.partition,
        reason: `cannot read its log: ${errorMessage(error)}`,
      });
      return undefined;
    }
    const startRole = this.startRoles.get(key);
    if (startRole !== undefined) {
      this.startRoles.delete(key);
      this.replication.applyStartRole(partition, startRole);
    }
    this.partitions.set(key, partition);
    return partition;
  }

  /** Writes a closing segment's transaction index (txn-state-rebuild.ts); a failure is counted, never fatal. */
  private writeSegmentTxnIndex(partition: ShardPartition, baseOffset: number, endOffset: number): boolean {
    if (persistSegmentTxns(partition.txns, partition.log.dir, baseOffset, endOffset)) return true;
    this.metrics.add(Counter.STORAGE_ERRORS, 1);
    return false;
  }

  private enforceRetention(): void {
    const nowMs = Date.now();
    this.sweepDormant();
    let sizeBytes = 0;
    for (const partition of this.partitions.values()) {
      try {
        partition.log.enforceRetention(nowMs);
        partition.producers.expire(nowMs);
        partition.txns.prune(partition.log.logStartOffset);
        sizeBytes += partition.log.sizeBytes();
      } catch {
        // A failed deletion is retried on the next tick; the log stays readable.
      }
    }
    this.metrics.set(Counter.LOG_BYTES, sizeBytes);
    this.startCleaning(nowMs);
  }

  /**
   * Removes a deleted partition's log. A cleaner job on it is stopped first (its thread terminated; the
   * next job starts another), so nothing writes `.cleaned` files into the directory being removed.
   */
  private async destroyLog(partition: ShardPartition): Promise<void> {
    if (this.cleaningPartition === partition) await this.cleaner?.close();
    await partition.log.destroy();
  }

  /**
   * Hands the next compacted partition that needs it to the log cleaner's
   * thread (one job per shard at a time). When the cleaned segments come
   * back, the shard's part of the swap runs here, between requests: a rename
   * and a pointer swap per segment (log-compaction.ts); the thread then
   * finalizes it (directory syncs, index files) and the job ends.
   */
  private startCleaning(nowMs: number): void {
    if (this.cleaningPartition !== null) return;
    for (const partition of this.partitions.values()) {
      let job: ReturnType<PartitionLog['planClean']>;
      try {
        job = partition.log.planClean(nowMs, this.options.cleanerIoBytesPerSecond ?? 64 * 1024 * 1024);
      } catch {
        continue;
      }
      if (job === null) continue;
      this.cleaningPartition = partition;
      this.cleaner ??= new LogCleanerThread();
      const cleaner = this.cleaner;
      const done = (failed: boolean) => {
        if (this.cleaningPartition === partition) this.cleaningPartition = null;
        partition.log.endClean();
        if (failed) this.metrics.add(Counter.CLEANER_FAILED_JOBS, 1);
      };
      const commit = (report: CleanReport | null) => {
        this.metrics.add(Counter.CLEANER_JOBS, 1);
        if (report !== null) {
          this.metrics.add(Counter.CLEANER_IO_BYTES, report.outcome.readBytes + report.outcome.writtenBytes);
          if (report.cpuNs >= 0) this.metrics.add(Counter.CLEANER_CPU_SECONDS, report.cpuNs / 1e9);
        }
        let failed = report === null;
        let finalize: FinalizeRequest | null = null;
        const swapStartedMs = wallClockMs();
        try {
          const swap = partition.log.commitClean(report?.outcome ?? null);
          // The one part of cleaning that holds the shard: a rename and a pointer swap per segment.
          this.metrics.observeMs(Stage.CLEANER_SWAP, wallClockMs() - swapStartedMs);
          this.metrics.add(Counter.CLEANER_SEGMENTS_REPLACED, swap.segmentsReplaced);
          this.metrics.add(Counter.CLEANER_RECORDS_REMOVED, swap.recordsRemoved);
          if (swap.problems.length > 0) failed = true;
          finalize = swap.finalize;
        } catch {
          failed = true;
        }
        if (finalize === null) {
          done(failed);
          return;
        }
        cleaner.finalize(finalize).then(
          (outcome) => done(failed || outcome.problems.length > 0),
          // The thread stopped or failed: the logs are in place; the next open rebuilds index files left out.
          () => done(true),
        );
      };
      cleaner.run(job).then(
        (report) => commit(report),
        () => commit(null),
      );
      return;
    }
  }

  /**
   * Retention applies to dormant partitions too: each tick opens the ones,
   * among the next DORMANT_SWEEP_PER_TICK in turn, that have files (at most
   * DORMANT_OPENS_PER_TICK of them), so the
   * loop over open partitions enforces their retention (and the bound on
   * active partitions parks them again). One never written is only looked
   * at: it has nothing to delete.
   */
  private sweepDormant(): void {
    let looked = 0;
    let opened = 0;
    const limit = Math.min(DORMANT_SWEEP_PER_TICK, this.dormant.size);
    for (const [key, topic] of this.dormant) {
      if (looked++ >= limit || opened >= DORMANT_OPENS_PER_TICK) break;
      const partitionIndex = key - topic.topicId * PARTITIONS_PER_TOPIC_MAX;
      const dir = partitionDir(this.options.dataDir, topic.topicId, topic.topicName, partitionIndex);
      if (hasDirectory(dir)) {
        this.lookup(topic.topicId, partitionIndex);
        opened++;
      } else {
        // To the end of the map's order, so the next tick looks at the next ones.
        this.dormant.delete(key);
        this.dormant.set(key, topic);
      }
    }
  }

  /**
   * Closes a log at shutdown: its active segment's transaction index first,
   * then the final sync and clean marker. If that index cannot be written the
   * log is closed without the marker, so the next open rescans the segment
   * rather than trust a missing index.
   */
  private closeLog(partition: ShardPartition): Promise<void> {
    const log = partition.log;
    if (!log.hasFiles() || log.failureMessage !== null) return log.close();
    const range = log.segmentRanges().at(-1)!;
    const openAtStart = partition.txns.openAtActiveStart;
    if (!this.writeSegmentTxnIndex(partition, range.baseOffset, log.logEndOffset)) {
      return log.flush().finally(() => log.abandon());
    }
    // The write above moved openAtActiveStart on as a roll would; the segment stays active.
    partition.txns.openAtActiveStart = openAtStart;
    return log.close();
  }

  /** Answers held fetches, fails pending durable acks, and closes every log (final sync, clean marker). */
  async close(): Promise<void> {
    clearInterval(this.retentionTimer);
    await this.cleaner?.close();
    this.files.stop();
    this.fetcher.answerAll();
    const closing: Promise<void>[] = [];
    for (const partition of this.partitions.values()) {
      closing.push(this.closeLog(partition).then(() => this.onDurable(partition)));
    }
    await Promise.all(closing);
    for (const partition of this.partitions.values()) {
      this.countDurableAcks(-partition.pendingAcks());
      partition.failAllAcks((id) =>
        this.writeProduceReply(id, KafkaErrorCode.NOT_LEADER_OR_FOLLOWER, -1, -1, -1, 'shard stopping'),
      );
    }
    this.out.publish();
    this.partitions.clear();
  }
}

function offlineMessage(offline: OfflinePartition): string {
  return `partition ${offline.topicName}-${offline.partition} is offline: ${offline.reason}`;
}

function range(first: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => first + i);
}

function duplicateProblem(code: number): string {
  return code === KafkaErrorCode.INVALID_PRODUCER_EPOCH
    ? 'producer epoch is older than the current one'
    : 'batch sequence does not follow the last one appended';
}

/** True when `dir` exists (a dormant partition with files to keep retention on). */
function hasDirectory(dir: string): boolean {
  try {
    storageIo().listDirectory(dir);
    return true;
  } catch {
    return false;
  }
}
