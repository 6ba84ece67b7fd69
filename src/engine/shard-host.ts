import { Worker } from 'node:worker_threads';
import type { BrokerConfig, TopicConfig } from '../common/broker-config.js';
import { KafkaErrorCode } from '../common/kafka-error-code.js';
import type { Offset } from '../common/offset.js';
import { workerEntry } from '../common/worker-entry.js';
import { createRingBuffer, nativeDoorbell, RingReader, type RingRecord, RingWriter } from '../ring/index.js';
import type { SegmentExtent } from '../storage/segment-extents.js';
import {
  type AbortedTransaction,
  type Acks,
  type EpochEndOffsetOutcome,
  type FetchPartitionOutcome,
  fetchFailure,
  type ListOffsetsOutcome,
  listOffsetsFailure,
  NO_ABORTED_TRANSACTIONS,
  type ProduceOutcome,
  produceFailure,
  type ReplicaAppendOutcome,
  type ReplicaRoleUpdate,
  type TxnMarker,
} from './engine-api.js';
import type { PartitionAssignment } from './shard.js';
import {
  DescribeReply,
  FetchReplyField,
  FetchRequestField,
  fillProduceRequest,
  HwAdvanceField,
  ListOffsetsField,
  ListOffsetsReply,
  MessageType,
  OffsetForEpochField,
  OffsetForEpochReply,
  PartitionRangeField,
  ProduceReply,
  produceRequestBytes,
  REPLY_FLAG,
  ReplicaAppendField,
  ReplicaAppendReply,
  ReplicaRoleCode,
  RequestField,
  RequestFlag,
  RoleChangeField,
  SegmentExtentsField,
  SegmentExtentsReply,
  StatusReply,
  TruncateField,
  TxnMarkerField,
  wallClockMs,
} from './shard-message.js';
import { SHARD_METRICS_BYTES } from './shard-metrics.js';
import type { ShardControlMessage, ShardWorkerData } from './shard-worker-data.js';
import { WARM_UP_TOPIC_NAME, type WarmUpScratch } from './warm-up-scratch.js';

/**
 * The acceptor's handle on one shard: its worker thread, the request ring it
 * writes and the reply ring it reads, and the requests waiting for replies.
 * Owned by the acceptor (main) thread.
 *
 * Requests are written straight into the ring (the only copy of a produced
 * batch between the socket and the shard) and published once per tick, so a
 * burst of requests costs one store and at most one wake-up. When the ring is
 * full, requests queue in order behind a single waiter; the queue is bounded
 * by the front doors' per-connection in-flight limits.
 *
 * If the worker dies, every request in flight fails with a retriable error,
 * a new worker starts on fresh rings and recovers the shard's partitions, and
 * the other shards are not involved.
 */
export interface FetchEntry {
  topicId: number;
  partition: number;
  offset: number;
  maxBytes: number;
  /** -1: not checked. */
  currentLeaderEpoch: number;
}

export interface PartitionState {
  errorCode: KafkaErrorCode;
  logStartOffset: Offset;
  logEndOffset: Offset;
  highWatermark: Offset;
}

/** A shard's SEGMENT_EXTENTS answer; extents null when its storage cannot name its files. */
export interface ExtentsState {
  errorCode: KafkaErrorCode;
  extents: SegmentExtent[] | null;
}

type ReplyHandler = (host: ShardHost, bytes: Uint8Array, view: DataView, record: RingRecord) => void;

interface Pending {
  type: number;
  resolve: (value: never) => void;
  /** Wall-clock time past which the request is answered REQUEST_TIMED_OUT (the shard may answer later: ignored). */
  deadlineMs: number;
}

type RequestFiller = (bytes: Uint8Array, view: DataView, position: number) => void;

export interface RestartPolicy {
  /** Deaths allowed within `windowMs`; one more and the shard stays down. */
  limit: number;
  windowMs: number;
  /** Delay before the first restart, doubled for each further death in the window, up to the max. */
  backoffBaseMs: number;
  backoffMaxMs: number;
}

export const DEFAULT_RESTART_POLICY: Readonly<RestartPolicy> = {
  limit: 5,
  windowMs: 60_000,
  backoffBaseMs: 100,
  backoffMaxMs: 5_000,
};

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

/** The UTF-8 message of `lengthBytes` at `at` in a reply ('' when there is none). */
function replyText(bytes: Uint8Array, at: number, lengthBytes: number): string {
  return lengthBytes === 0 ? '' : textDecoder.decode(bytes.subarray(at, at + lengthBytes));
}

const RETRIABLE = KafkaErrorCode.NOT_LEADER_OR_FOLLOWER;

export class ShardHost {
  private worker: Worker | null = null;
  private exited: Promise<void> = Promise.resolve();
  private requests!: RingWriter;
  private replies!: RingReader;
  private generation = 0;
  private state: 'starting' | 'ready' | 'restarting' | 'stopping' | 'stopped' = 'starting';
  private readonly pending = new Map<number, Pending>();
  private nextCorrelationId = 1;
  private publishScheduled = false;
  private readonly blocked: {
    payloadBytes: number;
    type: number;
    correlationId: number;
    fill: RequestFiller;
    flags: number;
  }[] = [];
  private drainingBlocked = false;
  /** The reply ring's native doorbell for the current worker (see pumpOnDoorbell); -1: Atomics.waitAsync. */
  private replyDoorbell = -1;
  private readonly replyRecord: RingRecord = {
    type: 0,
    flags: 0,
    correlationId: 0,
    payloadPosition: 0,
    payloadBytes: 0,
  };
  private readonly publishNow = (): void => {
    this.publishScheduled = false;
    this.requests.publish();
  };
  readonly metricsBuffer = new SharedArrayBuffer(SHARD_METRICS_BYTES);
  restarts = 0;
  /** How a worker that keeps dying is restarted (tests shorten it). */
  restartPolicy: RestartPolicy = { ...DEFAULT_RESTART_POLICY };
  /** Told when a restarted worker is ready again (replication re-applies its partitions' roles). */
  onRestarted: (() => void) | null = null;
  /** Told when the host gives up restarting its worker (the broker logs it). */
  onShardFailed: ((reason: string) => void) | null = null;
  private recentDeathsMs: number[] = [];
  private restartTimer: NodeJS.Timeout | null = null;
  /** Requests answered REQUEST_TIMED_OUT because their shard did not answer within the request timeout. */
  timedOut = 0;
  private deadlineTimer: NodeJS.Timeout | null = null;
  /** Told when the shard takes a partition offline (the broker logs it). */
  onPartitionOffline: ((topicName: string, partition: number, reason: string) => void) | null = null;
  /** Partitions the running worker reported offline, `topic-partition` → reason (cleared when it restarts). */
  readonly offlinePartitions = new Map<string, string>();

  constructor(
    readonly shardId: number,
    private readonly config: BrokerConfig,
    private readonly assignments: () => PartitionAssignment[],
    private readonly retentionCheckIntervalMs: number,
  ) {}

  /** Starts the worker and resolves once it has opened and recovered its partitions. */
  start(): Promise<void> {
    this.generation++;
    this.offlinePartitions.clear();
    const generation = this.generation;
    const requestRing = createRingBuffer(this.config.ringBytes);
    const replyRing = createRingBuffer(this.config.ringBytes);
    this.requests = new RingWriter(requestRing);
    this.replies = new RingReader(replyRing);
    this.closeReplyDoorbell();
    // Rung by the shard's reply publishes; drains this generation's replies (a later generation has its own).
    const drainReplies = (): void => this.pumpOnDoorbell(generation, drainReplies);
    this.replyDoorbell = nativeDoorbell?.open(drainReplies) ?? -1;
    const entry = workerEntry('shard');
    const workerData: ShardWorkerData = {
      ...entry.bootData,
      shardId: this.shardId,
      dataDir: this.config.dataDir,
      fsync: this.config.fsync,
      retentionCheckIntervalMs: this.retentionCheckIntervalMs,
      cleanerIoBytesPerSecond: this.config.logCleanerIoBytesPerSecond,
      producerLimits: {
        expirationMs: this.config.producerIdExpirationMs,
        maxProducers: this.config.maxProducerIdsPerPartition,
      },
      maxActivePartitions: Math.ceil(this.config.maxActivePartitions / this.config.shardCount),
      requestRing,
      replyRing,
      replyDoorbell: this.replyDoorbell,
      metricsBuffer: this.metricsBuffer,
      partitions: this.assignments(),
    };
    const worker = new Worker(entry.filename, { workerData, name: `pyralog-shard-${this.shardId}` });
    this.worker = worker;
    this.exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    return new Promise<void>((resolve, reject) => {
      worker.on('message', (message: ShardControlMessage) => {
        if (message.kind === 'partition-offline') {
          if (generation !== this.generation) return;
          this.offlinePartitions.set(`${message.topicName}-${message.partition}`, message.reason);
          this.onPartitionOffline?.(message.topicName, message.partition, message.reason);
          return;
        }
        if (message.kind === 'ready' && generation === this.generation) {
          this.state = 'ready';
          if (this.replyDoorbell >= 0) drainReplies();
          else void this.pumpReplies(generation);
          resolve();
        }
      });
      worker.on('error', (error) => {
        if (this.state === 'starting') reject(error);
      });
      worker.on('exit', () => {
        if (generation !== this.generation) return;
        if (this.state === 'starting') reject(new Error(`shard ${this.shardId} exited while starting`));
        if (this.state === 'ready') this.onWorkerDied();
      });
    });
  }

  get isReady(): boolean {
    return this.state === 'ready';
  }

  /** For tests and operators: kills the worker as a crash would. */
  async killForTest(): Promise<void> {
    await this.worker?.terminate();
  }

  /** Bytes waiting in the request ring: how far the shard is behind. */
  requestRingUsedBytes(): number {
    return this.state === 'ready' ? this.requests.bytes.length - this.requests.freeBytes() : 0;
  }

  private onWorkerDied(): void {
    this.state = 'restarting';
    this.stopPump();
    this.failAllPending();
    this.scheduleRestart();
  }

  /**
   * Restarts a worker that died, after a backoff that doubles with each
   * death in the policy's window; past the limit the shard stays down (its
   * requests are answered with a retriable error) and `onShardFailed` says
   * why, so a shard that dies on every start cannot spin the broker.
   */
  private scheduleRestart(): void {
    const nowMs = Date.now();
    const policy = this.restartPolicy;
    this.recentDeathsMs = this.recentDeathsMs.filter((atMs) => nowMs - atMs < policy.windowMs);
    this.recentDeathsMs.push(nowMs);
    if (this.recentDeathsMs.length > policy.limit) {
      this.state = 'stopped';
      this.onShardFailed?.(
        `shard ${this.shardId} died ${this.recentDeathsMs.length} times within ${policy.windowMs} ms; not restarted`,
      );
      return;
    }
    const delayMs = Math.min(
      policy.backoffMaxMs,
      policy.backoffBaseMs * 2 ** (this.recentDeathsMs.length - 1),
    );
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (this.state !== 'restarting') return;
      this.restarts++;
      // Restart on fresh rings: the old ones may hold a half-written record.
      this.start().then(
        () => this.onRestarted?.(),
        () => {
          // It died again while opening its partitions: that counts as another death.
          if (this.state === 'starting') {
            this.state = 'restarting';
            this.scheduleRestart();
          }
        },
      );
    }, delayMs);
    this.restartTimer.unref();
  }

  private failAllPending(): void {
    const pending = [...this.pending.values()];
    this.pending.clear();
    this.blocked.length = 0;
    for (const request of pending) failPending(request, RETRIABLE, 'shard restarted; retry');
  }

  // ---- requests --------------------------------------------------------

  /**
   * `recordsChecked`: the batch checker counted the batch's records (required of a compressed batch).
   * `batch` is copied (into the ring, or aside when the ring is full) before this returns: callers may
   * lend a view they free right after (Engine.produce's `lent`).
   */
  produce(
    topicId: number,
    partition: number,
    batch: Uint8Array,
    acks: Acks,
    recordsChecked = false,
  ): Promise<ProduceOutcome> {
    return new Promise<ProduceOutcome>((resolve) => {
      if (this.state !== 'ready') return resolve(produceFailure(RETRIABLE, 'shard is restarting'));
      const correlationId = this.register(MessageType.PRODUCE, resolve);
      const payloadBytes = produceRequestBytes(batch);
      const p = this.tryClaim(payloadBytes, MessageType.PRODUCE, correlationId);
      if (p >= 0) {
        fillProduceRequest(
          this.requests.bytes,
          this.requests.view,
          p,
          topicId,
          partition,
          acks,
          batch,
          recordsChecked,
        );
      } else {
        // Slow path only: the ring is full, so keep a copy of what to write.
        const copy = new Uint8Array(batch); // a copy even when given a Buffer (whose slice is a view)
        this.enqueueBlocked(
          produceRequestBytes(copy),
          MessageType.PRODUCE,
          correlationId,
          (bytes, view, position) =>
            fillProduceRequest(bytes, view, position, topicId, partition, acks, copy, recordsChecked),
        );
      }
    });
  }

  /** Sends one shard's part of a fetch; returns its correlation id (for wakeFetch) and the outcomes. */
  fetch(
    entries: readonly FetchEntry[],
    maxWaitMs: number,
    minBytes: number,
    maxBytes: number,
    /** A follower's broker id (reads up to the log end); -1 for a consumer. */
    replicaId = -1,
    readCommitted = false,
  ): { correlationId: number; outcome: Promise<FetchPartitionOutcome[]> } {
    let correlationId = 0;
    const outcome = new Promise<FetchPartitionOutcome[]>((resolve) => {
      if (this.state !== 'ready') return resolve(entries.map(() => fetchFailure(RETRIABLE)));
      const payloadBytes = FetchRequestField.PARTITIONS + entries.length * FetchRequestField.ENTRY_BYTES;
      // The front doors bound partitions per request well below this (maxPartitionsPerRequest); a part
      // that still cannot travel as one ring record, or whose reply headers alone would fill one, is
      // refused here rather than thrown from the ring.
      if (payloadBytes > this.requests.maxPayloadBytes / 2) {
        return resolve(entries.map(() => fetchFailure(KafkaErrorCode.INVALID_REQUEST)));
      }
      correlationId = this.register(MessageType.FETCH, resolve, maxWaitMs);
      const fill: RequestFiller = (bytes, view, p) => {
        view.setFloat64(p + RequestField.SENT_AT_MS, wallClockMs());
        view.setUint32(p + FetchRequestField.MAX_WAIT_MS, maxWaitMs);
        view.setUint32(p + FetchRequestField.MIN_BYTES, minBytes);
        view.setUint32(p + FetchRequestField.MAX_BYTES, maxBytes);
        view.setUint32(p + FetchRequestField.PARTITION_COUNT, entries.length);
        view.setInt32(p + FetchRequestField.REPLICA_ID, replicaId);
        view.setUint32(p + FetchRequestField.REPLICA_ID + 4, 0);
        let e = p + FetchRequestField.PARTITIONS;
        for (const entry of entries) {
          view.setUint32(e + FetchRequestField.ENTRY_TOPIC_ID, entry.topicId);
          view.setUint32(e + FetchRequestField.ENTRY_PARTITION, entry.partition);
          view.setFloat64(e + FetchRequestField.ENTRY_OFFSET, entry.offset);
          view.setUint32(e + FetchRequestField.ENTRY_MAX_BYTES, entry.maxBytes);
          view.setInt32(e + FetchRequestField.ENTRY_CURRENT_LEADER_EPOCH, entry.currentLeaderEpoch);
          e += FetchRequestField.ENTRY_BYTES;
        }
        void bytes;
      };
      this.sendWith(
        payloadBytes,
        MessageType.FETCH,
        correlationId,
        fill,
        readCommitted ? RequestFlag.READ_COMMITTED : 0,
      );
    });
    return { correlationId, outcome };
  }

  /** Asks the shard to answer every fetch it holds now (graceful stop: long-polls must not hold it). */
  wakeAllFetches(): void {
    for (const [correlationId, pending] of this.pending) {
      if (pending.type === MessageType.FETCH) this.wakeFetch(correlationId);
    }
  }

  /** Asks the shard to answer a held fetch now. */
  wakeFetch(correlationId: number): void {
    if (this.state !== 'ready' || !this.pending.has(correlationId)) return;
    this.sendWith(RequestField.BODY, MessageType.WAKE_FETCH, correlationId, (_bytes, view, p) => {
      view.setFloat64(p + RequestField.SENT_AT_MS, wallClockMs());
    });
  }

  listOffsets(
    topicId: number,
    partition: number,
    timestampMs: number,
    currentLeaderEpoch = -1,
    readCommitted = false,
  ): Promise<ListOffsetsOutcome> {
    return this.offsetRequest(
      MessageType.LIST_OFFSETS,
      topicId,
      partition,
      timestampMs,
      currentLeaderEpoch,
      readCommitted ? RequestFlag.READ_COMMITTED : 0,
    );
  }

  /** Appends a transaction marker; answered like a produce with acks=-1 (baseOffset: the marker's offset). */
  writeTxnMarker(topicId: number, marker: TxnMarker): Promise<ProduceOutcome> {
    return this.call(
      MessageType.TXN_MARKER,
      TxnMarkerField.SIZE_BYTES,
      produceFailure(RETRIABLE, 'shard is restarting'),
      (_bytes, view, p) => {
        view.setUint32(p + TxnMarkerField.TOPIC_ID, topicId);
        view.setUint32(p + TxnMarkerField.PARTITION, marker.partition);
        view.setFloat64(p + TxnMarkerField.PRODUCER_ID, marker.producerId);
        view.setInt16(p + TxnMarkerField.PRODUCER_EPOCH, marker.producerEpoch);
        view.setUint8(p + TxnMarkerField.COMMIT, marker.commit ? 1 : 0);
        view.setUint8(p + TxnMarkerField.COMMIT + 1, 0);
        view.setInt32(p + TxnMarkerField.COORDINATOR_EPOCH, marker.coordinatorEpoch);
      },
    );
  }

  /** DeleteRecords on one partition: the outcome's offset is the log start offset after it (the low watermark). */
  deleteRecords(topicId: number, partition: number, offset: number): Promise<ListOffsetsOutcome> {
    return this.offsetRequest(MessageType.DELETE_RECORDS, topicId, partition, offset);
  }

  /** A LIST_OFFSETS or DELETE_RECORDS request: same layouts, the f64 is a timestamp or an offset. */
  private offsetRequest(
    type: typeof MessageType.LIST_OFFSETS | typeof MessageType.DELETE_RECORDS,
    topicId: number,
    partition: number,
    timestampMs: number,
    currentLeaderEpoch = -1,
    flags = 0,
  ): Promise<ListOffsetsOutcome> {
    return this.call(
      type,
      ListOffsetsField.SIZE_BYTES,
      listOffsetsFailure(RETRIABLE),
      (_bytes, view, p) => {
        view.setUint32(p + ListOffsetsField.TOPIC_ID, topicId);
        view.setUint32(p + ListOffsetsField.PARTITION, partition);
        view.setFloat64(p + ListOffsetsField.TIMESTAMP_MS, timestampMs);
        view.setInt32(p + ListOffsetsField.CURRENT_LEADER_EPOCH, currentLeaderEpoch);
        view.setUint32(p + ListOffsetsField.CURRENT_LEADER_EPOCH + 4, 0);
      },
      flags,
    );
  }

  // ---- replication (shard-message.ts: ROLE_CHANGE … OFFSET_FOR_EPOCH) ----

  roleChange(topicId: number, partition: number, update: ReplicaRoleUpdate): Promise<KafkaErrorCode> {
    const role =
      update.role === 'leader'
        ? ReplicaRoleCode.LEADER
        : update.role === 'follower'
          ? ReplicaRoleCode.FOLLOWER
          : ReplicaRoleCode.NONE;
    return this.call(MessageType.ROLE_CHANGE, RoleChangeField.SIZE_BYTES, RETRIABLE, (_b, view, p) => {
      view.setUint32(p + RoleChangeField.TOPIC_ID, topicId);
      view.setUint32(p + RoleChangeField.PARTITION, partition);
      view.setUint32(p + RoleChangeField.ROLE, 0);
      view.setUint8(p + RoleChangeField.ROLE, role);
      view.setInt32(p + RoleChangeField.LEADER_EPOCH, update.leaderEpoch);
      view.setUint32(p + RoleChangeField.ISR_COUNT, update.isrCount);
      view.setUint32(p + RoleChangeField.MIN_INSYNC_REPLICAS, update.minInsyncReplicas);
      view.setFloat64(p + RoleChangeField.HIGH_WATERMARK_BOUND, update.highWatermarkBound);
    });
  }

  /** No reply: the shard applies it in ring order, after everything sent before it. */
  hwAdvance(topicId: number, partition: number, highWatermarkBound: number, leaderLogStartOffset = -1): void {
    if (this.state !== 'ready') return;
    this.sendWith(HwAdvanceField.SIZE_BYTES, MessageType.HW_ADVANCE, 0, (_b, view, p) => {
      view.setFloat64(p + RequestField.SENT_AT_MS, wallClockMs());
      view.setUint32(p + HwAdvanceField.TOPIC_ID, topicId);
      view.setUint32(p + HwAdvanceField.PARTITION, partition);
      view.setFloat64(p + HwAdvanceField.HIGH_WATERMARK_BOUND, highWatermarkBound);
      view.setFloat64(p + HwAdvanceField.LEADER_LOG_START_OFFSET, leaderLogStartOffset);
    });
  }

  replicaAppend(
    topicId: number,
    partition: number,
    leaderHighWatermark: number,
    batches: Uint8Array,
  ): Promise<ReplicaAppendOutcome> {
    return new Promise<ReplicaAppendOutcome>((resolve) => {
      if (this.state !== 'ready') return resolve(replicaAppendFailure(RETRIABLE, 'shard is restarting'));
      const skew = batches.byteOffset & 7;
      const payloadBytes = ReplicaAppendField.BATCHES + skew + batches.length;
      if (payloadBytes > this.requests.maxPayloadBytes) {
        return resolve(
          replicaAppendFailure(KafkaErrorCode.RECORD_LIST_TOO_LARGE, 'batches exceed a ring record'),
        );
      }
      // Written when the ring has room (now, or in order behind blocked requests): the caller keeps
      // `batches` unchanged until the outcome settles.
      const copy = batches;
      const correlationId = this.register(MessageType.REPLICA_APPEND, resolve);
      this.sendWith(payloadBytes, MessageType.REPLICA_APPEND, correlationId, (bytes, view, p) => {
        view.setFloat64(p + RequestField.SENT_AT_MS, wallClockMs());
        view.setUint32(p + ReplicaAppendField.TOPIC_ID, topicId);
        view.setUint32(p + ReplicaAppendField.PARTITION, partition);
        view.setFloat64(p + ReplicaAppendField.LEADER_HIGH_WATERMARK, leaderHighWatermark);
        view.setUint32(p + ReplicaAppendField.BATCH_SKEW, 0);
        view.setUint32(p + ReplicaAppendField.BATCH_SKEW + 4, 0);
        view.setUint8(p + ReplicaAppendField.BATCH_SKEW, copy.byteOffset & 7);
        bytes.set(copy, p + ReplicaAppendField.BATCHES + (copy.byteOffset & 7));
      });
    });
  }

  /** TRUNCATE: cuts the log's end to `offset`; RESET_LOG_START: empties it and starts it again there. */
  truncate(
    topicId: number,
    partition: number,
    offset: number,
    type: typeof MessageType.TRUNCATE | typeof MessageType.RESET_LOG_START = MessageType.TRUNCATE,
  ): Promise<ListOffsetsOutcome> {
    return this.call(type, TruncateField.SIZE_BYTES, listOffsetsFailure(RETRIABLE), (_b, view, p) => {
      view.setUint32(p + TruncateField.TOPIC_ID, topicId);
      view.setUint32(p + TruncateField.PARTITION, partition);
      view.setFloat64(p + TruncateField.OFFSET, offset);
      view.setFloat64(p + TruncateField.OFFSET + 8, 0);
    });
  }

  offsetForEpoch(
    topicId: number,
    partition: number,
    currentLeaderEpoch: number,
    leaderEpoch: number,
  ): Promise<EpochEndOffsetOutcome> {
    return this.call<EpochEndOffsetOutcome>(
      MessageType.OFFSET_FOR_EPOCH,
      OffsetForEpochField.SIZE_BYTES,
      { errorCode: RETRIABLE, leaderEpoch: -1, endOffset: -1 as Offset },
      (_b, view, p) => {
        view.setUint32(p + OffsetForEpochField.TOPIC_ID, topicId);
        view.setUint32(p + OffsetForEpochField.PARTITION, partition);
        view.setInt32(p + OffsetForEpochField.CURRENT_LEADER_EPOCH, currentLeaderEpoch);
        view.setInt32(p + OffsetForEpochField.LEADER_EPOCH, leaderEpoch);
      },
    );
  }

  createPartitions(
    topicId: number,
    topic: string,
    partitions: number[],
    config: TopicConfig,
  ): Promise<KafkaErrorCode> {
    return this.partitionRange(MessageType.CREATE_PARTITIONS, topicId, partitions, {
      topic,
      config,
      partitions,
    });
  }

  deletePartitions(topicId: number, partitions: number[]): Promise<KafkaErrorCode> {
    return this.partitionRange(MessageType.DELETE_PARTITIONS, topicId, partitions, { partitions });
  }

  describePartitions(topicId: number, partitions: number[]): Promise<PartitionState[]> {
    return new Promise<PartitionState[]>((resolve) => {
      if (this.state !== 'ready') return resolve(partitions.map(() => partitionStateFailure(RETRIABLE)));
      if (16 + partitions.length * DescribeReply.ENTRY_BYTES > this.requests.maxPayloadBytes) {
        return resolve(partitions.map(() => partitionStateFailure(KafkaErrorCode.INVALID_REQUEST)));
      }
      const correlationId = this.register(MessageType.DESCRIBE_PARTITIONS, resolve);
      this.sendWith(
        16 + partitions.length * 4,
        MessageType.DESCRIBE_PARTITIONS,
        correlationId,
        (_b, view, p) => {
          view.setFloat64(p + RequestField.SENT_AT_MS, wallClockMs());
          view.setUint32(p + 8, topicId);
          view.setUint32(p + 12, partitions.length);
          for (let i = 0; i < partitions.length; i++) view.setUint32(p + 16 + i * 4, partitions[i]!);
        },
      );
    });
  }

  segmentExtents(
    topicId: number,
    partition: number,
    fromOffset: number,
    endOffset: number,
  ): Promise<ExtentsState> {
    return this.call<ExtentsState>(
      MessageType.SEGMENT_EXTENTS,
      SegmentExtentsField.SIZE_BYTES,
      { errorCode: RETRIABLE, extents: null },
      (_b, view, p) => {
        view.setUint32(p + SegmentExtentsField.TOPIC_ID, topicId);
        view.setUint32(p + SegmentExtentsField.PARTITION, partition);
        view.setFloat64(p + SegmentExtentsField.FROM_OFFSET, fromOffset);
        view.setFloat64(p + SegmentExtentsField.END_OFFSET, endOffset);
      },
    );
  }

  flush(): Promise<KafkaErrorCode> {
    return this.call(MessageType.FLUSH, RequestField.BODY, RETRIABLE, () => {});
  }

  /** Graceful stop: the shard answers what is in its ring, syncs and closes every log, then exits. */
  async stop(timeoutMs: number): Promise<void> {
    if (this.restartTimer !== null) {
      clearTimeout(this.restartTimer);
      this.restartTimer = null;
      this.state = 'stopped';
    }
    const worker = this.worker;
    if (worker === null || this.state === 'stopped') return;
    this.state = 'stopping';
    const stopped = new Promise<boolean>((resolve) => {
      worker.on('message', (message: ShardControlMessage) => {
        if (message.kind === 'stopped') resolve(true);
      });
      worker.on('exit', () => resolve(true));
      setTimeout(() => resolve(false), timeoutMs).unref();
    });
    worker.postMessage({ kind: 'stop' } satisfies ShardControlMessage);
    const clean = await stopped;
    // Let the reply pump deliver the last replies before failing the rest.
    await new Promise((resolve) => setTimeout(resolve, 20));
    this.state = 'stopped';
    this.stopPump();
    this.failAllPending();
    if (!clean) await worker.terminate();
    await this.exited;
  }

  // ---- start-up warm-up (warm-up-scratch.ts) ---------------------------

  /** Places the warm-up's scratch partition on the shard; resolves once the shard has it. */
  beginWarmUp(scratch: WarmUpScratch): Promise<void> {
    return this.controlRoundTrip({ kind: 'warm-up-begin', scratch }, 'warm-up-begun').then(() => undefined);
  }

  /**
   * Has the shard delete its scratch partition and put its traffic metrics
   * back; rejects when it could not delete the files. Call only once every
   * warm-up request has been answered.
   */
  async endWarmUp(): Promise<void> {
    const ended = await this.controlRoundTrip({ kind: 'warm-up-end' }, 'warm-up-ended');
    this.offlinePartitions.delete(`${WARM_UP_TOPIC_NAME}-${this.shardId}`);
    if (ended.kind === 'warm-up-ended' && ended.error !== null) throw new Error(ended.error);
  }

  /**
   * Posts a control message and waits for the worker's answer of kind `answer` (at most the request
   * timeout; rejects when the worker is not running, exits meanwhile, or does not answer in time).
   */
  private controlRoundTrip(
    message: ShardControlMessage,
    answer: ShardControlMessage['kind'],
  ): Promise<ShardControlMessage> {
    const worker = this.worker;
    if (worker === null || this.state !== 'ready') {
      return Promise.reject(new Error(`shard ${this.shardId} is not running`));
    }
    return new Promise<ShardControlMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        done();
        reject(new Error(`shard ${this.shardId} did not answer ${message.kind}`));
      }, this.config.requestTimeoutMs);
      const onMessage = (reply: ShardControlMessage): void => {
        if (reply.kind !== answer) return;
        done();
        resolve(reply);
      };
      const onExit = (): void => {
        done();
        reject(new Error(`shard ${this.shardId} exited during ${message.kind}`));
      };
      const done = (): void => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('exit', onExit);
      };
      worker.on('message', onMessage);
      worker.once('exit', onExit);
      worker.postMessage(message);
    });
  }

  // ---- ring plumbing ---------------------------------------------------

  /**
   * Registers a request waiting for its reply. It is answered within the
   * broker's request timeout (plus `extraWaitMs`, a fetch's own long poll)
   * whatever happens in the shard: a hung disk, a lost reply.
   */
  /**
   * One request answered with a T (by `register`'s reply routing or its deadline): `notReady` while
   * the shard is restarting. Stamps SENT_AT_MS, then `fill` writes the message's own fields.
   */
  private call<T>(
    type: number,
    payloadBytes: number,
    notReady: T,
    fill: RequestFiller,
    flags = 0,
  ): Promise<T> {
    return new Promise<T>((resolve) => {
      if (this.state !== 'ready') return resolve(notReady);
      const correlationId = this.register(type, resolve);
      this.sendWith(
        payloadBytes,
        type,
        correlationId,
        (bytes, view, p) => {
          view.setFloat64(p + RequestField.SENT_AT_MS, wallClockMs());
          fill(bytes, view, p);
        },
        flags,
      );
    });
  }

  private register(type: number, resolve: (value: never) => void, extraWaitMs = 0): number {
    const correlationId = this.nextCorrelationId;
    this.nextCorrelationId = (this.nextCorrelationId + 1) >>> 0 || 1;
    const deadlineMs = Date.now() + this.config.requestTimeoutMs + extraWaitMs;
    this.pending.set(correlationId, { type, resolve, deadlineMs });
    if (this.deadlineTimer === null) {
      this.deadlineTimer = setInterval(this.expireOverdue, deadlineSweepMs(this.config.requestTimeoutMs));
      this.deadlineTimer.unref();
    }
    return correlationId;
  }

  /** Answers every request past its deadline with REQUEST_TIMED_OUT; stops sweeping when none waits. */
  private readonly expireOverdue = (): void => {
    const nowMs = Date.now();
    for (const [correlationId, request] of this.pending) {
      if (request.deadlineMs > nowMs) continue;
      this.pending.delete(correlationId);
      this.timedOut++;
      failPending(request, KafkaErrorCode.REQUEST_TIMED_OUT, 'request timed out in its shard');
    }
    if (this.pending.size === 0 && this.deadlineTimer !== null) {
      clearInterval(this.deadlineTimer);
      this.deadlineTimer = null;
    }
  };

  private partitionRange(
    type: number,
    topicId: number,
    partitions: number[],
    body: Record<string, unknown>,
  ): Promise<KafkaErrorCode> {
    return new Promise<KafkaErrorCode>((resolve) => {
      if (this.state !== 'ready') return resolve(RETRIABLE);
      const json = textEncoder.encode(JSON.stringify(body));
      if (PartitionRangeField.BODY + json.length > this.requests.maxPayloadBytes) {
        return resolve(KafkaErrorCode.INVALID_PARTITIONS);
      }
      const correlationId = this.register(type, resolve);
      this.sendWith(PartitionRangeField.BODY + json.length, type, correlationId, (bytes, view, p) => {
        view.setFloat64(p + RequestField.SENT_AT_MS, wallClockMs());
        view.setUint32(p + PartitionRangeField.TOPIC_ID, topicId);
        view.setUint32(p + PartitionRangeField.FIRST_PARTITION, partitions[0] ?? 0);
        view.setUint32(p + PartitionRangeField.PARTITION_COUNT, partitions.length);
        bytes.set(json, p + PartitionRangeField.BODY);
      });
    });
  }

  private tryClaim(payloadBytes: number, type: number, correlationId: number, flags = 0): number {
    if (this.blocked.length > 0) return -1;
    const p = this.requests.tryClaim(payloadBytes, type, flags, correlationId);
    if (p >= 0) this.schedulePublish();
    return p;
  }

  private sendWith(
    payloadBytes: number,
    type: number,
    correlationId: number,
    fill: RequestFiller,
    flags = 0,
  ): void {
    const p = this.tryClaim(payloadBytes, type, correlationId, flags);
    if (p >= 0) fill(this.requests.bytes, this.requests.view, p);
    else this.enqueueBlocked(payloadBytes, type, correlationId, fill, flags);
  }

  private schedulePublish(): void {
    if (this.publishScheduled) return;
    this.publishScheduled = true;
    queueMicrotask(this.publishNow);
  }

  private enqueueBlocked(
    payloadBytes: number,
    type: number,
    correlationId: number,
    fill: RequestFiller,
    flags = 0,
  ): void {
    this.blocked.push({ payloadBytes, type, correlationId, fill, flags });
    if (!this.drainingBlocked) void this.drainBlocked(this.generation);
  }

  /** Writes queued requests, in order, as the shard frees ring space. */
  private async drainBlocked(generation: number): Promise<void> {
    this.drainingBlocked = true;
    try {
      while (this.blocked.length > 0 && generation === this.generation && this.state === 'ready') {
        const next = this.blocked[0]!;
        const p = this.requests.tryClaim(next.payloadBytes, next.type, next.flags, next.correlationId);
        if (p < 0) {
          await this.requests.waitForSpace(next.payloadBytes, 1000);
          continue;
        }
        next.fill(this.requests.bytes, this.requests.view, p);
        this.blocked.shift();
        this.requests.publish();
      }
    } finally {
      this.drainingBlocked = false;
    }
  }

  /**
   * Ends the reply pump of the current rings: it waits without a timeout, so
   * it must be woken to see that its generation or the host's state changed
   * (a pump left waiting would keep its ring alive in V8's wait list); a
   * native doorbell is closed instead.
   */
  private stopPump(): void {
    this.replies.interrupt();
    this.closeReplyDoorbell();
  }

  private closeReplyDoorbell(): void {
    if (this.replyDoorbell < 0) return;
    nativeDoorbell?.close(this.replyDoorbell);
    this.replyDoorbell = -1;
  }

  /**
   * The reply pump on a native doorbell (src/native/doorbell.c), run by each
   * ring of it: reads every reply there is, then arms the doorbell again, or,
   * when replies came meanwhile, drains again after one turn of the event
   * loop (sockets and timers run between bursts). No promise, no V8 wait list:
   * a reply costs the shard one uv_async_send and the acceptor one callback.
   */
  private pumpOnDoorbell(generation: number, again: () => void): void {
    if (generation !== this.generation || (this.state !== 'ready' && this.state !== 'stopping')) return;
    const replies = this.replies;
    const record = this.replyRecord;
    let handled = 0;
    while (replies.tryRead(record)) {
      this.dispatchReply(replies.bytes, replies.view, record);
      handled++;
    }
    if (handled > 0) replies.release();
    if (!replies.armDoorbell()) setImmediate(again);
  }

  /** Reads replies for as long as this worker generation lives. */
  private async pumpReplies(generation: number): Promise<void> {
    const record: RingRecord = { type: 0, flags: 0, correlationId: 0, payloadPosition: 0, payloadBytes: 0 };
    const replies = this.replies;
    // True while this pump runs in the microtasks of the event-loop task that last woke it.
    let turnOwed = false;
    while (generation === this.generation && (this.state === 'ready' || this.state === 'stopping')) {
      let handled = 0;
      while (replies.tryRead(record)) {
        this.dispatchReply(replies.bytes, replies.view, record);
        handled++;
      }
      if (handled > 0) replies.release();
      if (turnOwed) {
        // Replies kept coming without a wait: let sockets and timers run between bursts.
        turnOwed = false;
        await new Promise((resolve) => setImmediate(resolve));
      } else {
        // Straight back to the doorbell after a burst: a turn of the event loop here, then a second one to
        // reach the wait, cost every request two trips round libuv at rates where a burst is one reply.
        // No timeout: stop and restart interrupt this wait (see stopPump).
        turnOwed = !(await replies.waitAsync(Number.POSITIVE_INFINITY));
      }
    }
  }

  private dispatchReply(bytes: Uint8Array, view: DataView, record: RingRecord): void {
    const handler = replyHandlers[record.type & ~REPLY_FLAG];
    if (handler === undefined) return;
    handler(this, bytes, view, record);
  }

  /** Takes the pending request a reply answers (undefined if it already failed). */
  take(correlationId: number): Pending | undefined {
    const pending = this.pending.get(correlationId);
    if (pending !== undefined) this.pending.delete(correlationId);
    return pending;
  }
}

const replyHandlers: Record<number, ReplyHandler> = {
  [MessageType.PRODUCE]: (host, bytes, view, record) => {
    const pending = host.take(record.correlationId);
    if (pending === undefined) return;
    const p = record.payloadPosition;
    const messageBytes = view.getUint16(p + ProduceReply.MESSAGE_BYTES);
    const outcome: ProduceOutcome = {
      errorCode: view.getInt16(p + ProduceReply.ERROR_CODE) as KafkaErrorCode,
      baseOffset: view.getFloat64(p + ProduceReply.BASE_OFFSET) as Offset,
      logAppendTimeMs: view.getFloat64(p + ProduceReply.LOG_APPEND_TIME_MS),
      logStartOffset: view.getFloat64(p + ProduceReply.LOG_START_OFFSET) as Offset,
      errorMessage: replyText(bytes, p + ProduceReply.MESSAGE, messageBytes),
    };
    pending.resolve(outcome as never);
  },
  [MessageType.FETCH]: (host, bytes, view, record) => {
    const pending = host.take(record.correlationId);
    if (pending === undefined) return;
    const p = record.payloadPosition;
    // One copy of the whole reply out of the ring; partitions are views into it.
    const copy = bytes.slice(p, p + record.payloadBytes);
    const count = view.getUint32(p + FetchReplyField.PARTITION_COUNT);
    const outcomes: FetchPartitionOutcome[] = new Array(count);
    let e = FetchReplyField.PARTITIONS;
    for (let i = 0; i < count; i++) {
      const recordsBytes = view.getUint32(p + e + FetchReplyField.ENTRY_RECORDS_BYTES);
      const abortedCount = view.getUint32(p + e + FetchReplyField.ENTRY_ABORTED_COUNT);
      let abortedTransactions = NO_ABORTED_TRANSACTIONS;
      let start = e + FetchReplyField.ENTRY_HEADER_BYTES;
      if (abortedCount > 0) {
        const list: AbortedTransaction[] = new Array(abortedCount);
        for (let j = 0; j < abortedCount; j++) {
          list[j] = {
            producerId: view.getFloat64(p + start),
            firstOffset: view.getFloat64(p + start + 8) as Offset,
          };
          start += FetchReplyField.ABORTED_ENTRY_BYTES;
        }
        abortedTransactions = list;
      }
      outcomes[i] = {
        errorCode: view.getInt16(p + e + FetchReplyField.ENTRY_ERROR_CODE) as KafkaErrorCode,
        highWatermark: view.getFloat64(p + e + FetchReplyField.ENTRY_HIGH_WATERMARK) as Offset,
        lastStableOffset: view.getFloat64(p + e + FetchReplyField.ENTRY_LAST_STABLE_OFFSET) as Offset,
        logStartOffset: view.getFloat64(p + e + FetchReplyField.ENTRY_LOG_START_OFFSET) as Offset,
        logEndOffset: view.getFloat64(p + e + FetchReplyField.ENTRY_LOG_END_OFFSET) as Offset,
        records: copy.subarray(start, start + recordsBytes),
        abortedTransactions,
      };
      e = start + recordsBytes;
    }
    pending.resolve(outcomes as never);
  },
  [MessageType.LIST_OFFSETS]: resolveOffsets,
  [MessageType.DELETE_RECORDS]: resolveOffsets,
  [MessageType.TRUNCATE]: resolveOffsets,
  [MessageType.RESET_LOG_START]: resolveOffsets,
  [MessageType.ROLE_CHANGE]: resolveStatus,
  [MessageType.REPLICA_APPEND]: (host, bytes, view, record) => {
    const pending = host.take(record.correlationId);
    if (pending === undefined) return;
    const p = record.payloadPosition;
    const messageBytes = view.getUint16(p + ReplicaAppendReply.MESSAGE_BYTES);
    const outcome: ReplicaAppendOutcome = {
      errorCode: view.getInt16(p + ReplicaAppendReply.ERROR_CODE) as KafkaErrorCode,
      logEndOffset: view.getFloat64(p + ReplicaAppendReply.LOG_END_OFFSET) as Offset,
      highWatermark: view.getFloat64(p + ReplicaAppendReply.HIGH_WATERMARK) as Offset,
      errorMessage: replyText(bytes, p + ReplicaAppendReply.MESSAGE, messageBytes),
    };
    pending.resolve(outcome as never);
  },
  [MessageType.OFFSET_FOR_EPOCH]: (host, _bytes, view, record) => {
    const pending = host.take(record.correlationId);
    if (pending === undefined) return;
    const p = record.payloadPosition;
    const outcome: EpochEndOffsetOutcome = {
      errorCode: view.getInt16(p + OffsetForEpochReply.ERROR_CODE) as KafkaErrorCode,
      leaderEpoch: view.getInt32(p + OffsetForEpochReply.LEADER_EPOCH),
      endOffset: view.getFloat64(p + OffsetForEpochReply.END_OFFSET) as Offset,
    };
    pending.resolve(outcome as never);
  },
  [MessageType.CREATE_PARTITIONS]: resolveStatus,
  [MessageType.DELETE_PARTITIONS]: resolveStatus,
  [MessageType.FLUSH]: resolveStatus,
  [MessageType.DESCRIBE_PARTITIONS]: (host, _bytes, view, record) => {
    const pending = host.take(record.correlationId);
    if (pending === undefined) return;
    const p = record.payloadPosition;
    const count = view.getUint32(p + DescribeReply.COUNT);
    const states: PartitionState[] = [];
    for (let i = 0; i < count; i++) {
      const e = p + DescribeReply.ENTRIES + i * DescribeReply.ENTRY_BYTES;
      states.push({
        errorCode: view.getInt16(e + DescribeReply.ENTRY_ERROR_CODE) as KafkaErrorCode,
        logStartOffset: view.getFloat64(e + DescribeReply.ENTRY_LOG_START) as Offset,
        logEndOffset: view.getFloat64(e + DescribeReply.ENTRY_LOG_END) as Offset,
        highWatermark: view.getFloat64(e + DescribeReply.ENTRY_HIGH_WATERMARK) as Offset,
      });
    }
    pending.resolve(states as never);
  },
  [MessageType.SEGMENT_EXTENTS]: (host, _bytes, view, record) => {
    const pending = host.take(record.correlationId);
    if (pending === undefined) return;
    const p = record.payloadPosition;
    const count = view.getUint32(p + SegmentExtentsReply.COUNT);
    const extents: SegmentExtent[] = [];
    for (let i = 0; i < count; i++) {
      const e = p + SegmentExtentsReply.ENTRIES + i * SegmentExtentsReply.ENTRY_BYTES;
      extents.push({
        baseOffset: view.getFloat64(e + SegmentExtentsReply.ENTRY_BASE_OFFSET),
        nextOffset: view.getFloat64(e + SegmentExtentsReply.ENTRY_NEXT_OFFSET),
        startPosition: view.getFloat64(e + SegmentExtentsReply.ENTRY_START_POSITION),
        endPosition: view.getFloat64(e + SegmentExtentsReply.ENTRY_END_POSITION),
        verifiedBytes: view.getFloat64(e + SegmentExtentsReply.ENTRY_VERIFIED_BYTES),
        appendedFrom: view.getFloat64(e + SegmentExtentsReply.ENTRY_APPENDED_FROM),
        device: view.getFloat64(e + SegmentExtentsReply.ENTRY_DEVICE),
        inode: view.getFloat64(e + SegmentExtentsReply.ENTRY_INODE),
        leaderEpochMax: view.getFloat64(e + SegmentExtentsReply.ENTRY_LEADER_EPOCH_MAX),
      });
    }
    const state: ExtentsState = {
      errorCode: view.getInt16(p + SegmentExtentsReply.ERROR_CODE) as KafkaErrorCode,
      extents: view.getUint16(p + SegmentExtentsReply.AVAILABLE) === 1 ? extents : null,
    };
    pending.resolve(state as never);
  },
};

function resolveOffsets(host: ShardHost, _bytes: Uint8Array, view: DataView, record: RingRecord): void {
  const pending = host.take(record.correlationId);
  if (pending === undefined) return;
  const p = record.payloadPosition;
  const outcome: ListOffsetsOutcome = {
    errorCode: view.getInt16(p + ListOffsetsReply.ERROR_CODE) as KafkaErrorCode,
    offset: view.getFloat64(p + ListOffsetsReply.OFFSET) as Offset,
    timestampMs: view.getFloat64(p + ListOffsetsReply.TIMESTAMP_MS),
  };
  pending.resolve(outcome as never);
}

function resolveStatus(host: ShardHost, _bytes: Uint8Array, view: DataView, record: RingRecord): void {
  host
    .take(record.correlationId)
    ?.resolve(view.getInt16(record.payloadPosition + StatusReply.ERROR_CODE) as never);
}

function replicaAppendFailure(errorCode: KafkaErrorCode, errorMessage: string): ReplicaAppendOutcome {
  return { errorCode, logEndOffset: -1 as Offset, highWatermark: -1 as Offset, errorMessage };
}

function partitionStateFailure(errorCode: KafkaErrorCode): PartitionState {
  return { errorCode, logStartOffset: -1 as Offset, logEndOffset: -1 as Offset, highWatermark: -1 as Offset };
}

/** How often a host looks for requests past their deadline: a quarter of the timeout, within [50 ms, 1 s]. */
function deadlineSweepMs(requestTimeoutMs: number): number {
  return Math.max(50, Math.min(1000, Math.floor(requestTimeoutMs / 4)));
}

/** Fails a request whose shard died, stopped or did not answer in time, with an error a client retries. */
function failPending(request: Pending, code: KafkaErrorCode, message: string): void {
  switch (request.type) {
    case MessageType.PRODUCE:
    case MessageType.TXN_MARKER:
      request.resolve(produceFailure(code, message) as never);
      return;
    case MessageType.FETCH:
      // The caller knows how many partitions it asked for; an empty list means "all failed".
      request.resolve([] as never);
      return;
    case MessageType.LIST_OFFSETS:
    case MessageType.DELETE_RECORDS:
    case MessageType.TRUNCATE:
    case MessageType.RESET_LOG_START:
      request.resolve({ errorCode: code, offset: -1, timestampMs: -1 } as never);
      return;
    case MessageType.REPLICA_APPEND:
      request.resolve(replicaAppendFailure(code, message) as never);
      return;
    case MessageType.OFFSET_FOR_EPOCH:
      request.resolve({ errorCode: code, leaderEpoch: -1, endOffset: -1 } as never);
      return;
    case MessageType.DESCRIBE_PARTITIONS:
      request.resolve([] as never);
      return;
    case MessageType.SEGMENT_EXTENTS:
      request.resolve({ errorCode: code, extents: null } satisfies ExtentsState as never);
      return;
    default:
      request.resolve(code as never);
  }
}
