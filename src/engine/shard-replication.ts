import type { FsyncPolicy } from '../common/broker-config.js';
import { errorMessage, PyralogError } from '../common/errors.js';
import { KafkaErrorCode } from '../common/kafka-error-code.js';
import type { RingReader, RingRecord } from '../ring/index.js';
import type { ReplicaRoleUpdate } from './engine-api.js';
import { rebuildProducerState, recordProducerBatches } from './producer-state-rebuild.js';
import { leaderEpochError } from './replica-role.js';
import type { ReplyWriter } from './reply-writer.js';
import type { ShardFetcher } from './shard-fetcher.js';
import {
  HwAdvanceField,
  ListOffsetsReply,
  MessageType,
  OffsetForEpochField,
  OffsetForEpochReply,
  REPLY_FLAG,
  ReplicaAppendField,
  ReplicaAppendReply,
  ReplicaRoleCode,
  RoleChangeField,
  StatusReply,
  TruncateField,
} from './shard-message.js';
import type { ShardPartition } from './shard-partition.js';
import { rebuildTxnState, recordTxnBatches } from './txn-state-rebuild.js';

/**
 * The replication messages on a shard (shard-message.ts, ROLE_CHANGE …
 * OFFSET_FOR_EPOCH, RESET_LOG_START): a partition's role and epoch, the high
 * watermark replication allows, a follower's appends (offsets and epochs kept
 * as the leader wrote them; answered once durable under `fsync always`), its
 * truncation and restart at its leader's log start, and OffsetForLeaderEpoch. Owned by the shard thread. A single
 * node never sends these: its partitions keep `replica === null`.
 */
export interface ReplicationHooks {
  /** The high watermark may have moved: answer acks=all produces and fetches it lets through (shard.onDurable). */
  onHighWatermarkMoved(partition: ShardPartition): void;
  /** Answers every acks=all produce waiting on the partition with `code`. */
  failPendingAcks(partition: ShardPartition, code: KafkaErrorCode, message: string): void;
}

const textEncoder = new TextEncoder();
/**
 * OFFSET_FOR_EPOCH's currentLeaderEpoch for a question this broker asks about its own log (any role);
 * as its leaderEpoch: the latest epoch, answered with the log end.
 */
export const LOCAL_QUERY = -2;

export class ShardReplication {
  /** Appends waiting for their sync and truncations in progress: replies only the event loop can send. */
  waiting = 0;

  constructor(
    private readonly lookup: (topicId: number, partition: number) => ShardPartition | undefined,
    private readonly missingCode: (topicId: number, partition: number) => KafkaErrorCode,
    private readonly reader: RingReader,
    private readonly out: ReplyWriter,
    private readonly fetcher: ShardFetcher,
    private readonly fsync: FsyncPolicy,
    private readonly hooks: ReplicationHooks,
  ) {}

  handle(record: RingRecord): void {
    switch (record.type) {
      case MessageType.ROLE_CHANGE:
        this.roleChange(record);
        return;
      case MessageType.HW_ADVANCE:
        this.hwAdvance(record);
        return;
      case MessageType.REPLICA_APPEND:
        this.replicaAppend(record);
        return;
      case MessageType.TRUNCATE:
      case MessageType.RESET_LOG_START:
        void this.truncate(record);
        return;
      case MessageType.OFFSET_FOR_EPOCH:
        this.offsetForEpoch(record);
        return;
    }
  }

  private roleChange(record: RingRecord): void {
    const view = this.reader.view;
    const p = record.payloadPosition;
    const topicId = view.getUint32(p + RoleChangeField.TOPIC_ID);
    const index = view.getUint32(p + RoleChangeField.PARTITION);
    const role = view.getUint8(p + RoleChangeField.ROLE);
    const leaderEpoch = view.getInt32(p + RoleChangeField.LEADER_EPOCH);
    const isrCount = view.getUint32(p + RoleChangeField.ISR_COUNT);
    const minInsyncReplicas = view.getUint32(p + RoleChangeField.MIN_INSYNC_REPLICAS);
    const bound = view.getFloat64(p + RoleChangeField.HIGH_WATERMARK_BOUND);
    const partition = this.lookup(topicId, index);
    let code: KafkaErrorCode = KafkaErrorCode.NONE;
    if (partition === undefined) {
      code = this.missingCode(topicId, index);
    } else {
      try {
        this.applyRole(partition, role, leaderEpoch, isrCount, minInsyncReplicas, bound);
        this.hooks.onHighWatermarkMoved(partition);
      } catch (error) {
        code = error instanceof PyralogError ? error.kafkaCode : KafkaErrorCode.KAFKA_STORAGE_ERROR;
      }
    }
    this.writeStatus(MessageType.ROLE_CHANGE | REPLY_FLAG, record.correlationId, code);
  }

  /**
   * Gives `partition` its role; throws (changing nothing) FENCED_LEADER_EPOCH for an epoch older
   * than the one it has or than its log's latest (a leader).
   */
  private applyRole(
    partition: ShardPartition,
    role: number,
    leaderEpoch: number,
    isrCount: number,
    minInsyncReplicas: number,
    bound: number,
  ): void {
    const wasLeading = partition.replica === null || partition.replica.role === 'leader';
    if (
      role !== ReplicaRoleCode.NONE &&
      partition.replica !== null &&
      leaderEpoch < partition.replica.leaderEpoch
    ) {
      throw new PyralogError(
        KafkaErrorCode.FENCED_LEADER_EPOCH,
        `epoch ${leaderEpoch} is older than ${partition.replica.leaderEpoch}`,
      );
    }
    if (role === ReplicaRoleCode.LEADER) {
      // Throws FENCED_LEADER_EPOCH for an epoch older than the log's latest: nothing changes then.
      partition.log.setLeaderEpoch(leaderEpoch);
      partition.replica = { role: 'leader', leaderEpoch, isrCount, minInsyncReplicas };
      partition.log.setReplicationBound(bound);
    } else if (role === ReplicaRoleCode.FOLLOWER) {
      partition.replica = { role: 'follower', leaderEpoch, isrCount, minInsyncReplicas };
      partition.log.setReplicationBound(bound);
      // Produces waiting here as leader can no longer be answered by this broker.
      if (wasLeading) {
        this.hooks.failPendingAcks(
          partition,
          KafkaErrorCode.NOT_LEADER_OR_FOLLOWER,
          'leadership moved to another broker',
        );
      }
    } else {
      partition.replica = null;
      partition.log.setReplicationBound(Number.POSITIVE_INFINITY);
    }
  }

  /**
   * A restarted shard opens a partition that had a role before its worker died
   * (PartitionAssignment.role): the role is given as the partition opens, so
   * no request is served in the meantime as if the partition led alone (a
   * partition without a role is a single node's). ROLE_CHANGE re-sent by the
   * acceptor follows. A role that cannot be applied (its epoch older than the
   * log's) leaves the partition a follower, which serves no client.
   */
  applyStartRole(partition: ShardPartition, update: ReplicaRoleUpdate): void {
    const role =
      update.role === 'leader'
        ? ReplicaRoleCode.LEADER
        : update.role === 'follower'
          ? ReplicaRoleCode.FOLLOWER
          : ReplicaRoleCode.NONE;
    try {
      this.applyRole(
        partition,
        role,
        update.leaderEpoch,
        update.isrCount,
        update.minInsyncReplicas,
        update.highWatermarkBound,
      );
    } catch {
      partition.replica = {
        role: 'follower',
        leaderEpoch: update.leaderEpoch,
        isrCount: update.isrCount,
        minInsyncReplicas: update.minInsyncReplicas,
      };
      partition.log.setReplicationBound(0);
    }
  }

  private hwAdvance(record: RingRecord): void {
    const view = this.reader.view;
    const p = record.payloadPosition;
    const partition = this.lookup(
      view.getUint32(p + HwAdvanceField.TOPIC_ID),
      view.getUint32(p + HwAdvanceField.PARTITION),
    );
    if (partition === undefined || partition.replica === null) return;
    const log = partition.log;
    log.setReplicationBound(view.getFloat64(p + HwAdvanceField.HIGH_WATERMARK_BOUND));
    this.hooks.onHighWatermarkMoved(partition);
    // A follower's log start follows its leader's (DeleteRecords or retention there), up to its own high
    // watermark: records the leader deleted are not served again by this replica once it leads.
    const leaderLogStart = view.getFloat64(p + HwAdvanceField.LEADER_LOG_START_OFFSET);
    const upTo = Math.min(leaderLogStart, log.highWatermark);
    if (partition.replica.role === 'follower' && upTo > log.logStartOffset && log.failureMessage === null) {
      try {
        log.deleteRecordsBefore(upTo);
      } catch {
        // A failed record of the new log start leaves the old one in force; the next advance tries again.
      }
    }
  }

  private replicaAppend(record: RingRecord): void {
    const view = this.reader.view;
    const p = record.payloadPosition;
    const correlationId = record.correlationId;
    const topicId = view.getUint32(p + ReplicaAppendField.TOPIC_ID);
    const index = view.getUint32(p + ReplicaAppendField.PARTITION);
    const partition = this.lookup(topicId, index);
    if (partition === undefined) {
      this.writeAppendReply(correlationId, this.missingCode(topicId, index), -1, -1, 'partition is not here');
      return;
    }
    if (partition.replica === null || partition.replica.role !== 'follower') {
      this.writeAppendReply(correlationId, KafkaErrorCode.NOT_LEADER_OR_FOLLOWER, -1, -1, 'not a follower');
      return;
    }
    const log = partition.log;
    const start = p + ReplicaAppendField.BATCHES + view.getUint8(p + ReplicaAppendField.BATCH_SKEW);
    const end = p + record.payloadBytes;
    try {
      const nowMs = Date.now();
      const fromPosition = start;
      log.appendAsFollower(this.reader.bytes.subarray(start, end), nowMs);
      // The follower keeps the producers' state as it goes, so it can detect duplicates once it leads.
      recordProducerBatches(partition.producers, view, fromPosition, end, nowMs);
      // And its transactions (open ones, markers, the aborted index), so it serves read_committed once it leads.
      recordTxnBatches(partition.txns, this.reader.bytes, view, fromPosition, end);
      log.setReplicationBound(view.getFloat64(p + ReplicaAppendField.LEADER_HIGH_WATERMARK));
    } catch (error) {
      const code = error instanceof PyralogError ? error.kafkaCode : KafkaErrorCode.KAFKA_STORAGE_ERROR;
      this.writeAppendReply(correlationId, code, log.logEndOffset, log.highWatermark, errorMessage(error));
      return;
    }
    if (this.fsync !== 'always' || log.durableOffset >= log.logEndOffset) {
      this.writeAppendReply(correlationId, KafkaErrorCode.NONE, log.logEndOffset, log.highWatermark, '');
      return;
    }
    // Under fsync always the follower reports only what is durable: answer once the sync covers it.
    this.waiting++;
    void log.flush().then(
      () => {
        this.waiting--;
        this.writeAppendReply(correlationId, KafkaErrorCode.NONE, log.durableOffset, log.highWatermark, '');
        this.out.publish();
      },
      (error: unknown) => {
        this.waiting--;
        this.writeAppendReply(
          correlationId,
          KafkaErrorCode.KAFKA_STORAGE_ERROR,
          -1,
          -1,
          `sync failed: ${errorMessage(error)}`,
        );
        this.out.publish();
      },
    );
  }

  /** TRUNCATE cuts the log's end; RESET_LOG_START empties it and starts it again at the offset. */
  private async truncate(record: RingRecord): Promise<void> {
    const view = this.reader.view;
    const p = record.payloadPosition;
    const correlationId = record.correlationId;
    const reset = record.type === MessageType.RESET_LOG_START;
    const topicId = view.getUint32(p + TruncateField.TOPIC_ID);
    const index = view.getUint32(p + TruncateField.PARTITION);
    const offset = view.getFloat64(p + TruncateField.OFFSET);
    const partition = this.lookup(topicId, index);
    let code: KafkaErrorCode = KafkaErrorCode.NONE;
    let end = -1;
    if (partition === undefined) {
      code = this.missingCode(topicId, index);
    } else if (partition.replica === null || partition.replica.role !== 'follower') {
      // A leader's log is the reference: it never truncates (nor does a partition outside replication).
      code = KafkaErrorCode.NOT_LEADER_OR_FOLLOWER;
    } else {
      this.waiting++;
      try {
        end = reset ? await partition.log.resetLogStart(offset) : await partition.log.truncateTo(offset);
        // Producer state may name batches that are gone: rebuild it from what is left.
        partition.producers.clear();
        rebuildProducerState(partition.producers, partition.log);
        // Transaction state too, by a rescan (the active segment's file, if any, no longer matches it).
        partition.txns.clear();
        partition.log.openedClean = false;
        rebuildTxnState(partition.txns, partition.log);
        this.fetcher.notifyAppend(partition);
      } catch (error) {
        code = error instanceof PyralogError ? error.kafkaCode : KafkaErrorCode.KAFKA_STORAGE_ERROR;
      } finally {
        this.waiting--;
      }
    }
    // The ring record is reused once this awaits: the reply's type comes from what was read before.
    const replyType = (reset ? MessageType.RESET_LOG_START : MessageType.TRUNCATE) | REPLY_FLAG;
    const r = this.out.claim(replyType, correlationId, ListOffsetsReply.SIZE_BYTES);
    const out = this.out.view;
    out.setInt16(r + ListOffsetsReply.ERROR_CODE, code);
    out.setInt16(r + 2, 0);
    out.setUint32(r + 4, 0);
    out.setFloat64(r + ListOffsetsReply.OFFSET, end);
    out.setFloat64(r + ListOffsetsReply.TIMESTAMP_MS, -1);
    this.out.publish();
  }

  private offsetForEpoch(record: RingRecord): void {
    const view = this.reader.view;
    const p = record.payloadPosition;
    const topicId = view.getUint32(p + OffsetForEpochField.TOPIC_ID);
    const index = view.getUint32(p + OffsetForEpochField.PARTITION);
    const partition = this.lookup(topicId, index);
    let code: KafkaErrorCode = KafkaErrorCode.NONE;
    let leaderEpoch = -1;
    let endOffset = -1;
    const currentLeaderEpoch = view.getInt32(p + OffsetForEpochField.CURRENT_LEADER_EPOCH);
    const asked = view.getInt32(p + OffsetForEpochField.LEADER_EPOCH);
    if (partition === undefined) {
      code = this.missingCode(topicId, index);
    } else if (currentLeaderEpoch === LOCAL_QUERY) {
      // This broker's own follower asks about its log (truncation): no role or epoch check.
      const found =
        asked === LOCAL_QUERY
          ? { leaderEpoch: partition.log.latestEpoch, endOffset: partition.log.logEndOffset }
          : partition.log.endOffsetForEpoch(asked);
      leaderEpoch = found.leaderEpoch;
      endOffset = found.endOffset;
    } else if (partition.replica !== null && partition.replica.role !== 'leader') {
      code = KafkaErrorCode.NOT_LEADER_OR_FOLLOWER;
    } else {
      code = leaderEpochError(partition.replica, currentLeaderEpoch);
      if (code === KafkaErrorCode.NONE) {
        const found = partition.log.endOffsetForEpoch(asked);
        leaderEpoch = found.leaderEpoch;
        endOffset = found.endOffset;
      }
    }
    const r = this.out.claim(
      MessageType.OFFSET_FOR_EPOCH | REPLY_FLAG,
      record.correlationId,
      OffsetForEpochReply.SIZE_BYTES,
    );
    const out = this.out.view;
    out.setInt16(r + OffsetForEpochReply.ERROR_CODE, code);
    out.setInt16(r + 2, 0);
    out.setInt32(r + OffsetForEpochReply.LEADER_EPOCH, leaderEpoch);
    out.setFloat64(r + OffsetForEpochReply.END_OFFSET, endOffset);
  }

  private writeAppendReply(
    correlationId: number,
    code: KafkaErrorCode,
    logEndOffset: number,
    highWatermark: number,
    message: string,
  ): void {
    const messageBytes = message.length === 0 ? null : textEncoder.encode(message.slice(0, 1000));
    const r = this.out.claim(
      MessageType.REPLICA_APPEND | REPLY_FLAG,
      correlationId,
      ReplicaAppendReply.MESSAGE + (messageBytes?.length ?? 0),
    );
    const out = this.out.view;
    out.setInt16(r + ReplicaAppendReply.ERROR_CODE, code);
    out.setUint16(r + ReplicaAppendReply.MESSAGE_BYTES, messageBytes?.length ?? 0);
    out.setUint32(r + 4, 0);
    out.setFloat64(r + ReplicaAppendReply.LOG_END_OFFSET, logEndOffset);
    out.setFloat64(r + ReplicaAppendReply.HIGH_WATERMARK, highWatermark);
    if (messageBytes !== null) this.out.bytes.set(messageBytes, r + ReplicaAppendReply.MESSAGE);
  }

  private writeStatus(type: number, correlationId: number, code: KafkaErrorCode): void {
    const r = this.out.claim(type, correlationId, StatusReply.SIZE_BYTES);
    this.out.view.setInt16(r + StatusReply.ERROR_CODE, code);
    this.out.view.setInt16(r + 2, 0);
    this.out.view.setUint32(r + 4, 0);
  }
}
