import type { TopicConfig } from '../common/broker-config.js';
import { errorMessage, PyralogError } from '../common/errors.js';
import { KafkaErrorCode } from '../common/kafka-error-code.js';
import { type Offset, readInt64 } from '../common/offset.js';
import type { Engine } from '../engine/engine-api.js';
import { buildRecordBatch } from '../record/batch-builder.js';
import { BatchHeader } from '../record/batch-header.js';
import { decodeBatchRecords } from '../record/batch-reader.js';
import { nextBatchBytes } from '../record/batch-walk.js';
import type { ConsumedRecord } from '../record/record.js';
import {
  decodeOffsetKey,
  decodeOffsetValue,
  decodePendingOffsetKey,
  encodeOffsetKey,
  encodeOffsetValue,
  encodePendingOffsetKey,
  type OffsetKey,
  type OffsetValue,
  type PendingOffsetKey,
} from './offset-record.js';

/**
 * Committed offsets, durable in the internal topic `__consumer_offsets`
 * (records laid out by offset-record.ts) and cached in memory. A commit
 * becomes visible only after its records were produced with acks=-1, so an
 * acknowledged commit survives a crash as far as the broker's fsync policy
 * promises. On open every partition of the topic is read from its start and
 * the latest record for each key wins. Owned by the acceptor thread.
 *
 * The topic is created with unlimited retention: committed offsets are kept
 * until overwritten (there is no compaction, so the topic grows by one small
 * record per committed partition).
 */
export const OFFSETS_TOPIC = '__consumer_offsets';

/** The offsets partition of a group: a stable hash of its id, so its records stay in one log. */
export function offsetsPartitionFor(groupId: string, partitionCount: number): number {
  let hash = 0;
  for (let i = 0; i < groupId.length; i++) hash = (Math.imul(hash, 31) + groupId.charCodeAt(i)) | 0;
  return (hash >>> 0) % partitionCount;
}

/**
 * The offsets topic is compacted, as Kafka's is: each record is keyed by
 * (group, topic, partition) (offset-record.ts), so the cleaner keeps the last
 * commit of each, and the tombstones a group or topic deletion writes remove
 * its commits after delete.retention.ms. Nothing is deleted by age or size.
 * Segments of 100 MiB, Kafka's offsets.topic.segment.bytes, so closed (and so
 * cleanable) segments come sooner than with the 256 MiB default.
 */
export const OFFSETS_TOPIC_CONFIG = {
  cleanupPolicy: 'compact',
  retentionMs: -1,
  retentionBytes: -1,
  segmentBytes: 100 * 1024 * 1024,
} as const satisfies Partial<TopicConfig>;

export interface OffsetStoreLog {
  warn(details: object, message: string): void;
}

const SILENT_LOG: OffsetStoreLog = { warn: () => undefined };

/** Bytes asked for per fetch while loading; a larger batch still comes whole (KIP-74). */
const LOAD_FETCH_BYTES = 1024 * 1024;

export interface OffsetEntry {
  key: OffsetKey;
  value: OffsetValue;
}

interface StoredOffset {
  topic: string;
  partition: number;
  value: OffsetValue;
  /** Where the record that set it sits in its offsets partition: a later record always wins. */
  logOffset: number;
}

function keyOf(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/** A transaction's offsets of one group, not yet committed: topic\0partition → offset. */
type PendingGroupOffsets = Map<string, { topic: string; partition: number; value: OffsetValue }>;

export class OffsetStore {
  /** group id → (topic\0partition → committed offset). */
  private readonly byGroup = new Map<string, Map<string, StoredOffset>>();
  /**
   * Offsets transactions committed (TxnOffsetCommit), by producer id then group id, durable as
   * pending records (offset-record.ts, version 2) and visible only once the transaction commits.
   */
  private readonly pending = new Map<number, Map<string, PendingGroupOffsets>>();

  private constructor(
    private readonly engine: Engine,
    /** Partitions of the offsets topic (the topic's own count when it already exists). */
    private readonly partitionCount: number,
    private readonly log: OffsetStoreLog,
  ) {}

  /** Creates the offsets topic if missing, then reads it back. Throws a `PyralogError` if it cannot. */
  static async open(
    engine: Engine,
    partitions: number,
    log: OffsetStoreLog = SILENT_LOG,
  ): Promise<OffsetStore> {
    let existing = engine.describeTopic(OFFSETS_TOPIC);
    if (existing === undefined) {
      const code = await engine.createTopic(OFFSETS_TOPIC, partitions, OFFSETS_TOPIC_CONFIG);
      if (code !== KafkaErrorCode.NONE && code !== KafkaErrorCode.TOPIC_ALREADY_EXISTS)
        throw new PyralogError(code, `cannot create ${OFFSETS_TOPIC}`);
      existing = engine.describeTopic(OFFSETS_TOPIC);
    }
    if (existing !== undefined && existing.config.cleanupPolicy !== OFFSETS_TOPIC_CONFIG.cleanupPolicy) {
      // Made by a broker from before compaction: compact it from now on (its records are keyed alike).
      const code = await engine.alterTopicConfig(OFFSETS_TOPIC, OFFSETS_TOPIC_CONFIG);
      if (code !== KafkaErrorCode.NONE) {
        log.warn({ topic: OFFSETS_TOPIC, code }, 'cannot make the offsets topic compacted; it keeps growing');
      }
    }
    const store = new OffsetStore(engine, existing?.partitionCount ?? partitions, log);
    for (let partition = 0; partition < store.partitionCount; partition++) {
      try {
        await store.load(partition);
      } catch (error) {
        // An offsets partition that cannot be read (offline, damaged) costs the groups whose
        // commits it holds their offsets, never the broker its start.
        log.warn(
          { topic: OFFSETS_TOPIC, partition, error: errorMessage(error) },
          'cannot load committed offsets; the groups of this partition start without them',
        );
      }
    }
    return store;
  }

  /** Every group with at least one committed offset. */
  groups(): string[] {
    return [...this.byGroup.keys()];
  }

  hasGroup(groupId: string): boolean {
    return this.byGroup.has(groupId);
  }

  get(groupId: string, topic: string, partition: number): OffsetValue | undefined {
    return this.byGroup.get(groupId)?.get(keyOf(topic, partition))?.value;
  }

  /** Every committed partition of a group, by topic. */
  all(groupId: string): Map<string, { partition: number; value: OffsetValue }[]> {
    const byTopic = new Map<string, { partition: number; value: OffsetValue }[]>();
    for (const entry of this.byGroup.get(groupId)?.values() ?? []) {
      let list = byTopic.get(entry.topic);
      if (list === undefined) {
        list = [];
        byTopic.set(entry.topic, list);
      }
      list.push({ partition: entry.partition, value: entry.value });
    }
    return byTopic;
  }

  /**
   * Stores commits durably as one record batch (all or nothing) and resolves with NONE once they
   * are, or with the produce's error; only then do they become visible.
   */
  async commit(
    groupId: string,
    entries: readonly OffsetEntry[],
    timestampMs: number,
  ): Promise<KafkaErrorCode> {
    if (entries.length === 0) return KafkaErrorCode.NONE;
    const batch = buildRecordBatch(
      entries.map((entry) => ({ key: encodeOffsetKey(entry.key), value: encodeOffsetValue(entry.value) })),
      { baseTimestampMs: timestampMs },
    );
    const outcome = await this.engine.produce(OFFSETS_TOPIC, this.partitionFor(groupId), batch, -1);
    if (outcome.errorCode !== KafkaErrorCode.NONE) return outcome.errorCode;
    for (let i = 0; i < entries.length; i++) this.apply(entries[i]!, outcome.baseOffset + i);
    return KafkaErrorCode.NONE;
  }

  /**
   * Forgets a group's committed offsets: one tombstone (a record with the key
   * and no value) per offset, written durably before they are dropped from
   * memory, so a restart that reads the log back forgets them too.
   */
  async deleteGroup(groupId: string, timestampMs: number): Promise<KafkaErrorCode> {
    const group = this.byGroup.get(groupId);
    if (group === undefined) return KafkaErrorCode.NONE;
    const tombstones = [...group.values()].map((entry) => ({
      key: encodeOffsetKey({ groupId, topic: entry.topic, partition: entry.partition }),
      value: null,
    }));
    const batch = buildRecordBatch(tombstones, { baseTimestampMs: timestampMs });
    const outcome = await this.engine.produce(OFFSETS_TOPIC, this.partitionFor(groupId), batch, -1);
    if (outcome.errorCode !== KafkaErrorCode.NONE) return outcome.errorCode;
    // A commit that landed after the tombstones (a later log offset) survives them, as on a reload.
    for (const [key, entry] of group) if (entry.logOffset < outcome.baseOffset) group.delete(key);
    if (group.size === 0) this.byGroup.delete(groupId);
    return KafkaErrorCode.NONE;
  }

  /**
   * Forgets a group's committed offsets of some partitions (OffsetDelete):
   * tombstones for those it has, written durably before they are dropped.
   */
  async deleteOffsets(
    groupId: string,
    keys: readonly { topic: string; partition: number }[],
    timestampMs: number,
  ): Promise<KafkaErrorCode> {
    const group = this.byGroup.get(groupId);
    const present = keys.filter((key) => group?.has(keyOf(key.topic, key.partition)) === true);
    if (present.length === 0) return KafkaErrorCode.NONE;
    const tombstones = present.map((key) => ({
      key: encodeOffsetKey({ groupId, topic: key.topic, partition: key.partition }),
      value: null,
    }));
    const batch = buildRecordBatch(tombstones, { baseTimestampMs: timestampMs });
    const outcome = await this.engine.produce(OFFSETS_TOPIC, this.partitionFor(groupId), batch, -1);
    if (outcome.errorCode !== KafkaErrorCode.NONE) return outcome.errorCode;
    for (const key of present) this.forget({ groupId, ...key }, outcome.baseOffset);
    return KafkaErrorCode.NONE;
  }

  /**
   * Forgets every group's committed offsets of a deleted topic (Kafka does the
   * same), with tombstones written durably first: a topic created again under
   * the name starts with no committed offsets, not its predecessor's.
   */
  async forgetTopic(topic: string, timestampMs: number): Promise<KafkaErrorCode> {
    let result: KafkaErrorCode = KafkaErrorCode.NONE;
    for (const [groupId, group] of this.byGroup) {
      const entries = [...group.values()].filter((entry) => entry.topic === topic);
      if (entries.length === 0) continue;
      const tombstones = entries.map((entry) => ({
        key: encodeOffsetKey({ groupId, topic, partition: entry.partition }),
        value: null,
      }));
      const batch = buildRecordBatch(tombstones, { baseTimestampMs: timestampMs });
      const outcome = await this.engine.produce(OFFSETS_TOPIC, this.partitionFor(groupId), batch, -1);
      if (outcome.errorCode !== KafkaErrorCode.NONE) {
        result = outcome.errorCode;
        continue;
      }
      for (const entry of entries) {
        this.forget({ groupId, topic, partition: entry.partition }, outcome.baseOffset);
      }
    }
    return result;
  }

  /**
   * Stores a transaction's offsets durably as pending for its producer (one batch, all or
   * nothing); they become visible only when completeTransaction commits them.
   */
  async commitPending(
    producerId: number,
    groupId: string,
    entries: readonly OffsetEntry[],
    timestampMs: number,
  ): Promise<KafkaErrorCode> {
    if (entries.length === 0) return KafkaErrorCode.NONE;
    const batch = buildRecordBatch(
      entries.map((entry) => ({
        key: encodePendingOffsetKey({ producerId, ...entry.key }),
        value: encodeOffsetValue(entry.value),
      })),
      { baseTimestampMs: timestampMs },
    );
    const outcome = await this.engine.produce(OFFSETS_TOPIC, this.partitionFor(groupId), batch, -1);
    if (outcome.errorCode !== KafkaErrorCode.NONE) return outcome.errorCode;
    for (const entry of entries) this.applyPending({ producerId, ...entry.key }, entry.value);
    return KafkaErrorCode.NONE;
  }

  /**
   * Ends a producer's pending offsets, group by group: on commit one batch per group holds the
   * offsets as committed records and a tombstone for each pending record; on abort only the
   * tombstones. Written durably before memory changes; NONE when there is nothing pending (so a
   * repeated completion after a crash is harmless).
   */
  async completeTransaction(
    producerId: number,
    commit: boolean,
    timestampMs: number,
  ): Promise<KafkaErrorCode> {
    const groups = this.pending.get(producerId);
    if (groups === undefined) return KafkaErrorCode.NONE;
    let result: KafkaErrorCode = KafkaErrorCode.NONE;
    for (const [groupId, offsets] of [...groups]) {
      const records: { key: Uint8Array; value: Uint8Array | null }[] = [];
      const committed: OffsetEntry[] = [];
      for (const entry of offsets.values()) {
        const key = { groupId, topic: entry.topic, partition: entry.partition };
        if (commit) {
          committed.push({ key, value: entry.value });
          records.push({ key: encodeOffsetKey(key), value: encodeOffsetValue(entry.value) });
        }
      }
      for (const entry of offsets.values()) {
        records.push({
          key: encodePendingOffsetKey({
            producerId,
            groupId,
            topic: entry.topic,
            partition: entry.partition,
          }),
          value: null,
        });
      }
      const batch = buildRecordBatch(records, { baseTimestampMs: timestampMs });
      const outcome = await this.engine.produce(OFFSETS_TOPIC, this.partitionFor(groupId), batch, -1);
      if (outcome.errorCode !== KafkaErrorCode.NONE) {
        result = outcome.errorCode;
        continue;
      }
      for (let i = 0; i < committed.length; i++) this.apply(committed[i]!, outcome.baseOffset + i);
      groups.delete(groupId);
    }
    if (groups.size === 0) this.pending.delete(producerId);
    return result;
  }

  /** Whether a transaction holds an offset of this partition not yet committed (KIP-447's unstable offset). */
  hasPending(groupId: string, topic: string, partition: number): boolean {
    const key = keyOf(topic, partition);
    for (const groups of this.pending.values()) {
      if (groups.get(groupId)?.has(key) === true) return true;
    }
    return false;
  }

  /** Producer ids with offsets pending, for tests and recovery checks. */
  pendingProducers(): number[] {
    return [...this.pending.keys()];
  }

  private applyPending(key: PendingOffsetKey, value: OffsetValue | null): void {
    let groups = this.pending.get(key.producerId);
    if (value === null) {
      const offsets = groups?.get(key.groupId);
      offsets?.delete(keyOf(key.topic, key.partition));
      if (offsets !== undefined && offsets.size === 0) groups?.delete(key.groupId);
      if (groups !== undefined && groups.size === 0) this.pending.delete(key.producerId);
      return;
    }
    if (groups === undefined) {
      groups = new Map();
      this.pending.set(key.producerId, groups);
    }
    let offsets = groups.get(key.groupId);
    if (offsets === undefined) {
      offsets = new Map();
      groups.set(key.groupId, offsets);
    }
    offsets.set(keyOf(key.topic, key.partition), { topic: key.topic, partition: key.partition, value });
  }

  /** The offsets partition of a group: a stable hash of its id, so its records stay in one log. */
  partitionFor(groupId: string): number {
    return offsetsPartitionFor(groupId, this.partitionCount);
  }

  private apply(entry: OffsetEntry, logOffset: number): void {
    let group = this.byGroup.get(entry.key.groupId);
    if (group === undefined) {
      group = new Map();
      this.byGroup.set(entry.key.groupId, group);
    }
    const key = keyOf(entry.key.topic, entry.key.partition);
    // Two commits in flight at once may be answered in either order; the log's order decides.
    const current = group.get(key);
    if (current !== undefined && current.logOffset > logOffset) return;
    group.set(key, { topic: entry.key.topic, partition: entry.key.partition, value: entry.value, logOffset });
  }

  /** A tombstone read back: the offset it deletes goes, unless a later commit replaced it. */
  private forget(key: OffsetKey, logOffset: number): void {
    const group = this.byGroup.get(key.groupId);
    const entryKey = keyOf(key.topic, key.partition);
    const current = group?.get(entryKey);
    if (group === undefined || current === undefined || current.logOffset > logOffset) return;
    group.delete(entryKey);
    if (group.size === 0) this.byGroup.delete(key.groupId);
  }

  /** Reads one partition of the offsets topic from its start to its end offset. */
  private async load(partition: number): Promise<void> {
    const end = await this.engine.listOffsets(OFFSETS_TOPIC, partition, -1);
    const start = await this.engine.listOffsets(OFFSETS_TOPIC, partition, -2);
    if (end.errorCode !== KafkaErrorCode.NONE || start.errorCode !== KafkaErrorCode.NONE) {
      const code = end.errorCode !== KafkaErrorCode.NONE ? end.errorCode : start.errorCode;
      throw new PyralogError(code, `cannot find the offsets of ${OFFSETS_TOPIC}-${partition}`);
    }
    let offset = start.offset as number;
    while (offset < end.offset) {
      const fetched = await this.engine.fetch({
        partitions: [
          { topic: OFFSETS_TOPIC, partition, offset: offset as Offset, maxBytes: LOAD_FETCH_BYTES },
        ],
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: LOAD_FETCH_BYTES,
      });
      const result = fetched.partitions[0];
      if (result === undefined || result.errorCode !== KafkaErrorCode.NONE) {
        const code = result?.errorCode ?? KafkaErrorCode.UNKNOWN_SERVER_ERROR;
        throw new PyralogError(code, `cannot read ${OFFSETS_TOPIC}-${partition} at offset ${offset}`);
      }
      const next = this.applyBatches(partition, offset, result.records);
      // Nothing past the offset asked for: stop rather than ask again for the same bytes.
      if (next <= offset) break;
      offset = next;
    }
  }

  /**
   * Applies the records of the fetched batches at or after `offset`; returns
   * the offset after the last batch. A batch that does not decode, or a
   * record that is not a well-formed offset key and value, is skipped with a
   * log line: what clients committed must never stop the broker starting.
   */
  private applyBatches(partition: number, offset: number, records: Uint8Array): number {
    const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
    let position = 0;
    let next = offset;
    let skippedRecords = 0;
    while (records.length - position >= BatchHeader.SIZE_BYTES) {
      const sizeBytes = nextBatchBytes(view, position, records.length);
      if (sizeBytes < 0) break;
      const batch = records.subarray(position, position + sizeBytes);
      position += sizeBytes;
      const baseOffset = readInt64(view, position - sizeBytes + BatchHeader.BASE_OFFSET);
      const lastOffset = baseOffset + view.getInt32(position - sizeBytes + BatchHeader.LAST_OFFSET_DELTA);
      next = Math.max(next, lastOffset + 1);
      let decoded: ConsumedRecord[];
      try {
        decoded = decodeBatchRecords(batch);
      } catch (error) {
        this.log.warn(
          { topic: OFFSETS_TOPIC, partition, baseOffset, error: errorMessage(error) },
          'skipping a damaged batch of committed offsets',
        );
        continue;
      }
      for (const record of decoded) {
        // A fetch may start with a whole batch that begins below the offset asked for.
        if (record.offset < offset) continue;
        if (!this.applyRecord(record)) skippedRecords++;
      }
    }
    if (skippedRecords > 0) {
      this.log.warn(
        { topic: OFFSETS_TOPIC, partition, skippedRecords },
        'skipped committed-offset records that are not well formed',
      );
    }
    return next;
  }

  /** Applies one record of the offsets topic; false when it is not a well-formed offset record. */
  private applyRecord(record: ConsumedRecord): boolean {
    if (record.key === null) return false;
    const pendingKey = decodePendingOffsetKey(record.key);
    if (pendingKey !== null) {
      const value = record.value === null ? null : decodeOffsetValue(record.value);
      if (record.value !== null && value === null) return false;
      this.applyPending(pendingKey, value);
      return true;
    }
    const key = decodeOffsetKey(record.key);
    if (key === null) return false;
    if (record.value === null) {
      this.forget(key, record.offset);
      return true;
    }
    const value = decodeOffsetValue(record.value);
    if (value === null || !Number.isSafeInteger(value.offset) || value.offset < -1) return false;
    this.apply({ key, value }, record.offset);
    return true;
  }
}
