import { errorMessage, PyralogError } from '../common/errors.js';
import { KafkaErrorCode } from '../common/kafka-error-code.js';
import type { Engine } from '../engine/engine-api.js';
import { buildRecordBatch } from '../record/batch-builder.js';
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
import {
  NO_GENERATION,
  OffsetsPartitionLoads,
  type OffsetsPartitionStatus,
} from './offsets-partition-loads.js';
import { type OffsetStoreLog, readOffsetsPartition } from './offsets-partition-reader.js';
import {
  coordinatorErrorOf,
  OFFSETS_TOPIC,
  OFFSETS_TOPIC_CONFIG,
  offsetsPartitionFor,
} from './offsets-topic.js';

/**
 * Committed offsets, durable in the internal topic `__consumer_offsets`
 * (records laid out by offset-record.ts) and cached in memory. A commit
 * becomes visible only after its records were produced with acks=-1, so an
 * acknowledged commit survives a crash as far as the broker's fsync policy
 * promises. On a single node every partition of the topic is read from its
 * start at open, and the latest record for each key wins. In a cluster the
 * topic is replicated like any other, and a partition is read back when this
 * broker becomes its leader and dropped from memory when it stops leading it
 * (docs/cluster.md, Consumer groups). Owned by the acceptor thread.
 */

export { OFFSETS_TOPIC, OFFSETS_TOPIC_CONFIG, type OffsetStoreLog, offsetsPartitionFor };

const SILENT_LOG: OffsetStoreLog = { warn: () => undefined };

/** Pause before reading an offsets partition again after a failed load (cluster mode). */
const LOAD_RETRY_MS = 250;

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
  /** Which offsets partitions are served and loaded (all of them on a single node). */
  private readonly loads = new OffsetsPartitionLoads();

  private constructor(
    private readonly engine: Engine,
    /** Partitions of the offsets topic (the topic's own count when it already exists; etcd's in a cluster). */
    private partitionCount: number,
    private readonly log: OffsetStoreLog,
    /**
     * Cluster mode: this broker's id, as whom it reads its own offsets partitions up to the log end
     * when it becomes their leader. Null on a single node.
     */
    private readonly readerBrokerId: number | null = null,
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
      // A single node serves every partition from the start, loaded or not.
      const generation = store.loads.begin(partition, 0);
      try {
        await store.load(partition, generation);
      } catch (error) {
        // An offsets partition that cannot be read (offline, damaged) costs the groups whose
        // commits it holds their offsets, never the broker its start.
        log.warn(
          { topic: OFFSETS_TOPIC, partition, error: errorMessage(error) },
          'cannot load committed offsets; the groups of this partition start without them',
        );
      }
      store.loads.finish(partition, generation);
    }
    return store;
  }

  /**
   * Cluster mode: the topic is created in etcd (offsets-topic.ts) and replicated like any other;
   * nothing is created or read here. Each partition is loaded when this broker becomes its leader
   * (`lead`) and dropped when it stops leading it (`resign`).
   */
  static clustered(
    engine: Engine,
    partitions: number,
    readerBrokerId: number,
    log: OffsetStoreLog = SILENT_LOG,
  ): OffsetStore {
    return new OffsetStore(engine, partitions, log, readerBrokerId);
  }

  /** Whether the offsets partition of a group is served here, and loaded. */
  statusOf(groupId: string): OffsetsPartitionStatus {
    return this.loads.status(this.partitionFor(groupId));
  }

  /** Whether the partition is served (loading or loaded) under this leader epoch. */
  servesAt(partition: number, leaderEpoch: number): boolean {
    return this.loads.servesAt(partition, leaderEpoch);
  }

  /**
   * Cluster mode: the offsets topic in etcd has this many partitions. A count other than the one in
   * use (a topic made elsewhere with another count) drops every partition: groups hash anew.
   */
  usePartitionCount(partitionCount: number): boolean {
    if (partitionCount === this.partitionCount || partitionCount < 1) return false;
    this.partitionCount = partitionCount;
    this.loads.endAll();
    this.byGroup.clear();
    this.pending.clear();
    return true;
  }

  /**
   * Cluster mode: this broker leads the partition now, under `leaderEpoch`: what memory held of it
   * goes, and its committed offsets are read again from its log, up to the log end (a new leader's
   * log holds every acknowledged commit; its high watermark may not have caught up yet). Retried
   * until it loads or the partition moves on; resolves then, never rejects.
   */
  async lead(partition: number, leaderEpoch: number): Promise<void> {
    this.dropPartition(partition);
    const generation = this.loads.begin(partition, leaderEpoch);
    const startedMs = Date.now();
    for (let attempt = 1; this.loads.isCurrent(partition, generation); attempt++) {
      try {
        await this.load(partition, generation);
        if (this.loads.finish(partition, generation)) {
          this.log.info?.(
            { topic: OFFSETS_TOPIC, partition, leaderEpoch, loadMs: Date.now() - startedMs },
            'offsets partition loaded: its groups are coordinated here',
          );
        }
        return;
      } catch (error) {
        if (attempt % 20 === 1) {
          this.log.warn(
            { topic: OFFSETS_TOPIC, partition, leaderEpoch, attempt, error: errorMessage(error) },
            'cannot load committed offsets yet; its groups are answered COORDINATOR_LOAD_IN_PROGRESS',
          );
        }
        if (this.loads.isCurrent(partition, generation)) this.dropPartition(partition);
        await new Promise((resolve) => setTimeout(resolve, LOAD_RETRY_MS).unref());
      }
    }
  }

  /** Cluster mode: another broker leads the partition now; its groups' offsets leave memory. */
  resign(partition: number): boolean {
    const served = this.loads.end(partition);
    this.dropPartition(partition);
    return served;
  }

  /** Cluster mode, on close: serves no partition any more (a load still retrying stops). */
  resignAll(): void {
    this.loads.endAll();
    this.byGroup.clear();
    this.pending.clear();
  }

  /** Forgets what memory holds of one offsets partition (its groups' offsets and pending offsets). */
  private dropPartition(partition: number): void {
    for (const groupId of [...this.byGroup.keys()]) {
      if (this.partitionFor(groupId) === partition) this.byGroup.delete(groupId);
    }
    for (const [producerId, groups] of this.pending) {
      for (const groupId of [...groups.keys()]) {
        if (this.partitionFor(groupId) === partition) groups.delete(groupId);
      }
      if (groups.size === 0) this.pending.delete(producerId);
    }
  }

  /**
   * Appends a batch to the group's offsets partition with acks=-1 (in a cluster: answered once the
   * in-sync replicas hold it) and runs `apply` with its base offset if it landed and the partition
   * is still served by the load that was current when it was sent. A write that lands after the
   * partition moved is durable all the same: the next load reads it back.
   */
  private async write(
    groupId: string,
    batch: Uint8Array,
    apply: (baseOffset: number) => void,
  ): Promise<KafkaErrorCode> {
    const partition = this.partitionFor(groupId);
    const generation = this.loads.generationOf(partition);
    if (generation === NO_GENERATION) return KafkaErrorCode.NOT_COORDINATOR;
    const outcome = await this.engine.produce(OFFSETS_TOPIC, partition, batch, -1);
    if (outcome.errorCode !== KafkaErrorCode.NONE) {
      return this.readerBrokerId === null ? outcome.errorCode : coordinatorErrorOf(outcome.errorCode);
    }
    if (this.loads.isCurrent(partition, generation)) apply(outcome.baseOffset);
    return KafkaErrorCode.NONE;
  }

  /** Every group with at least one committed offset. */
  groups(): string[] {
    return [...this.byGroup.keys()].filter((groupId) => this.statusOf(groupId) === 'loaded');
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
    return this.write(groupId, batch, (baseOffset) => {
      for (let i = 0; i < entries.length; i++) this.apply(entries[i]!, baseOffset + i);
    });
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
    return this.write(groupId, batch, (baseOffset) => {
      const current = this.byGroup.get(groupId);
      if (current === undefined) return;
      // A commit that landed after the tombstones (a later log offset) survives them, as on a reload.
      for (const [key, entry] of current) if (entry.logOffset < baseOffset) current.delete(key);
      if (current.size === 0) this.byGroup.delete(groupId);
    });
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
    return this.write(groupId, batch, (baseOffset) => {
      for (const key of present) this.forget({ groupId, ...key }, baseOffset);
    });
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
      const code = await this.write(groupId, batch, (baseOffset) => {
        for (const entry of entries) this.forget({ groupId, topic, partition: entry.partition }, baseOffset);
      });
      if (code !== KafkaErrorCode.NONE) result = code;
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
    return this.write(groupId, batch, () => {
      for (const entry of entries) this.applyPending({ producerId, ...entry.key }, entry.value);
    });
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
      const code = await this.write(groupId, batch, (baseOffset) => {
        for (let i = 0; i < committed.length; i++) this.apply(committed[i]!, baseOffset + i);
        groups.delete(groupId);
      });
      if (code !== KafkaErrorCode.NONE) result = code;
    }
    // Only the producer's map this call worked on (a reload may have built another meanwhile).
    if (groups.size === 0 && this.pending.get(producerId) === groups) this.pending.delete(producerId);
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

  /** Reads one offsets partition back into memory (offsets-partition-reader.ts), for the load `generation`. */
  private load(partition: number, generation: number): Promise<void> {
    return readOffsetsPartition({
      engine: this.engine,
      partition,
      readerBrokerId: this.readerBrokerId,
      log: this.log,
      stillWanted: () => this.loads.isCurrent(partition, generation),
      applyRecord: (record) => this.applyRecord(record),
    });
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
