import { KafkaErrorCode } from '../common/kafka-error-code.js';
import type { Offset } from '../common/offset.js';
import type { Engine } from '../engine/engine-api.js';
import { buildRecordBatch } from '../record/batch-builder.js';
import { decodeRecordSet } from '../record/batch-reader.js';
import {
  decodeOffsetKey,
  decodeOffsetValue,
  encodeOffsetKey,
  encodeOffsetValue,
  type OffsetKey,
  type OffsetValue,
} from './offset-record.js';

/**
 * Committed offsets, durable in the internal topic `__consumer_offsets`
 * (offset-record.ts) and cached in memory. A commit is visible only after
 * its records were produced with acks=-1, so an acknowledged commit survives
 * a crash under `--fsync always`. On open the topic is read from the start
 * and the latest record for each key wins.
 */
export const OFFSETS_TOPIC = '__consumer_offsets';
const LOAD_FETCH_BYTES = 1024 * 1024;

function keyOf(groupId: string, topic: string, partition: number): string {
  return `${groupId}\u0000${topic}\u0000${partition}`;
}

export class OffsetStore {
  /** group id → (topic\0partition key → committed value). */
  private readonly byGroup = new Map<
    string,
    Map<string, { topic: string; partition: number; value: OffsetValue }>
  >();

  /** Partitions of the offsets topic (taken from the topic when it already exists). */
  private partitionsInUse: number;

  private constructor(
    private readonly engine: Engine,
    partitions: number,
  ) {
    this.partitionsInUse = partitions;
  }

  static async open(engine: Engine, partitions: number): Promise<OffsetStore> {
    const store = new OffsetStore(engine, partitions);
    const existing = engine.describeTopic(OFFSETS_TOPIC);
    if (existing === undefined) {
      const code = await engine.createTopic(OFFSETS_TOPIC, partitions);
      if (code !== KafkaErrorCode.NONE && code !== KafkaErrorCode.TOPIC_ALREADY_EXISTS) {
        throw new Error(`cannot create ${OFFSETS_TOPIC}: error ${code}`);
      }
    } else {
      store.partitionsInUse = existing.partitionCount;
    }
    for (let partition = 0; partition < store.partitionsInUse; partition++) await store.load(partition);
    return store;
  }

  groups(): string[] {
    return [...this.byGroup.keys()];
  }

  get(groupId: string, topic: string, partition: number): OffsetValue | undefined {
    return this.byGroup.get(groupId)?.get(keyOf(groupId, topic, partition))?.value;
  }

  /** Every committed partition of a group, by topic. */
  all(groupId: string): Map<string, { partition: number; value: OffsetValue }[]> {
    const byTopic = new Map<string, { partition: number; value: OffsetValue }[]>();
    for (const entry of this.byGroup.get(groupId)?.values() ?? []) {
      const list = byTopic.get(entry.topic) ?? [];
      list.push({ partition: entry.partition, value: entry.value });
      byTopic.set(entry.topic, list);
    }
    return byTopic;
  }

  /** Stores commits durably; resolves with NONE once they are, or with the error that stopped them. */
  async commit(
    groupId: string,
    entries: readonly { key: OffsetKey; value: OffsetValue }[],
  ): Promise<KafkaErrorCode> {
    if (entries.length === 0) return KafkaErrorCode.NONE;
    const batch = buildRecordBatch(
      entries.map((entry) => ({ key: encodeOffsetKey(entry.key), value: encodeOffsetValue(entry.value) })),
    );
    const outcome = await this.engine.produce(OFFSETS_TOPIC, this.partitionFor(groupId), batch, -1);
    if (outcome.errorCode !== KafkaErrorCode.NONE) return outcome.errorCode;
    for (const entry of entries) this.apply(entry.key, entry.value);
    return KafkaErrorCode.NONE;
  }

  private partitionFor(groupId: string): number {
    let hash = 0;
    for (let i = 0; i < groupId.length; i++) hash = (Math.imul(hash, 31) + groupId.charCodeAt(i)) | 0;
    return (hash >>> 0) % this.partitionsInUse;
  }

  private apply(key: OffsetKey, value: OffsetValue): void {
    let group = this.byGroup.get(key.groupId);
    if (group === undefined) {
      group = new Map();
      this.byGroup.set(key.groupId, group);
    }
    group.set(keyOf(key.groupId, key.topic, key.partition), {
      topic: key.topic,
      partition: key.partition,
      value,
    });
  }

  private async load(partition: number): Promise<void> {
    const end = await this.engine.listOffsets(OFFSETS_TOPIC, partition, -1);
    const start = await this.engine.listOffsets(OFFSETS_TOPIC, partition, -2);
    if (end.errorCode !== KafkaErrorCode.NONE || start.errorCode !== KafkaErrorCode.NONE) {
      throw new Error(`cannot read ${OFFSETS_TOPIC}-${partition}: error ${end.errorCode || start.errorCode}`);
    }
    let offset = start.offset;
    while (offset < end.offset) {
      const fetched = await this.engine.fetch({
        partitions: [
          { topic: OFFSETS_TOPIC, partition, offset: offset as Offset, maxBytes: LOAD_FETCH_BYTES },
        ],
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: LOAD_FETCH_BYTES,
      });
      const result = fetched.partitions[0]!;
      if (result.errorCode !== KafkaErrorCode.NONE)
        throw new Error(`cannot read ${OFFSETS_TOPIC}: error ${result.errorCode}`);
      const records = decodeRecordSet(result.records);
      if (records.length === 0) break;
      for (const record of records) {
        if (record.offset < offset || record.key === null || record.value === null) continue;
        const key = decodeOffsetKey(record.key);
        const value = decodeOffsetValue(record.value);
        if (key !== null && value !== null) this.apply(key, value);
      }
      offset = (records[records.length - 1]!.offset + 1) as Offset;
    }
  }
}
