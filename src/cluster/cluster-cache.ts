import {
  type BrokerRecord,
  type ClusterKeys,
  type ControllerRecord,
  decodeBrokerRecord,
  decodeControllerRecord,
  decodePartitionRecord,
  decodeTopicRecord,
  type PartitionRecord,
  type TopicRecord,
} from './cluster-records.js';
import type { WatchEvent } from './etcd/etcd-watch.js';
import type { KeyValue } from './etcd/etcd-wire.js';
import type { BrokerId } from './partition-state.js';

/**
 * One broker's copy of everything under /pyralog/<cluster>/, built from a
 * full range read and kept by applying watch events in order. Owned by the
 * acceptor thread (the cluster agent); plain maps, no locks.
 */

export interface LiveBroker {
  record: BrokerRecord;
  /** The create revision of brokers/<id>. */
  epoch: number;
}

export interface CachedPartition {
  record: PartitionRecord;
  modRevision: number;
}

export interface CachedTopic {
  record: TopicRecord;
  modRevision: number;
}

/** What one batch of changes touched. */
export interface CacheChanges {
  brokers: boolean;
  controller: boolean;
  topics: boolean;
  /** Partitions written (not deleted), in event order. */
  partitions: PartitionRecord[];
  /** Partition keys deleted (topic deleted). */
  partitionsDeleted: { topicId: number; partition: number }[];
  /** Topics deleted: their records gone (by a watch event, or missing from a full re-read). */
  topicsDeleted: TopicRecord[];
}

export function partitionKeyOf(topicId: number, partition: number): string {
  return `${topicId}/${partition}`;
}

export class ClusterCache {
  readonly brokers = new Map<BrokerId, LiveBroker>();
  readonly topics = new Map<string, CachedTopic>();
  /** By `${topicId}/${partition}`. */
  readonly partitions = new Map<string, CachedPartition>();
  controller: { record: ControllerRecord; epoch: number } | null = null;
  /** The store revision this cache reflects. */
  revision = 0;

  constructor(
    private readonly keys: ClusterKeys,
    /** Told about each value that does not decode (it is then ignored). */
    private readonly onBadValue: (key: string, value: string) => void,
  ) {}

  /** Replaces everything with a full read at `revision`. */
  reset(kvs: readonly KeyValue[], revision: number): CacheChanges {
    const before = [...this.topics.values()].map((cached) => cached.record);
    this.brokers.clear();
    this.topics.clear();
    this.partitions.clear();
    this.controller = null;
    const changes = emptyChanges();
    for (const kv of kvs) this.put(kv, changes);
    this.revision = revision;
    changes.brokers = changes.controller = changes.topics = true;
    // Deleted while this broker was not watching (a broken watch, a compaction past its revision).
    for (const topic of before) {
      if (this.topics.get(topic.name)?.record.topicId !== topic.topicId) changes.topicsDeleted.push(topic);
    }
    return changes;
  }

  apply(events: readonly WatchEvent[], revision: number): CacheChanges {
    const changes = emptyChanges();
    for (const event of events) {
      if (event.type === 'put') this.put(event.kv, changes);
      else this.remove(event.kv.key, changes);
      this.revision = Math.max(this.revision, event.kv.modRevision);
    }
    this.revision = Math.max(this.revision, revision);
    return changes;
  }

  liveEpochs(): Map<BrokerId, number> {
    const live = new Map<BrokerId, number>();
    for (const [id, broker] of this.brokers) live.set(id, broker.epoch);
    return live;
  }

  partition(topicId: number, partition: number): CachedPartition | undefined {
    return this.partitions.get(partitionKeyOf(topicId, partition));
  }

  topicById(topicId: number): TopicRecord | undefined {
    for (const topic of this.topics.values()) if (topic.record.topicId === topicId) return topic.record;
    return undefined;
  }

  private put(kv: KeyValue, changes: CacheChanges): void {
    const key = this.keys.parse(kv.key);
    switch (key.kind) {
      case 'broker': {
        const record = decodeBrokerRecord(kv.value);
        if (record === undefined || record.brokerId !== key.brokerId) {
          this.onBadValue(kv.key, kv.value);
          return;
        }
        this.brokers.set(key.brokerId, { record, epoch: kv.createRevision });
        changes.brokers = true;
        return;
      }
      case 'controller': {
        const record = decodeControllerRecord(kv.value);
        if (record === undefined) {
          this.onBadValue(kv.key, kv.value);
          return;
        }
        this.controller = { record, epoch: kv.createRevision };
        changes.controller = true;
        return;
      }
      case 'topic': {
        const record = decodeTopicRecord(kv.value);
        if (record === undefined || record.name !== key.name) {
          this.onBadValue(kv.key, kv.value);
          return;
        }
        this.topics.set(key.name, { record, modRevision: kv.modRevision });
        changes.topics = true;
        return;
      }
      case 'partition': {
        const record = decodePartitionRecord(kv.value);
        if (record === undefined || record.topicId !== key.topicId || record.partition !== key.partition) {
          this.onBadValue(kv.key, kv.value);
          return;
        }
        this.partitions.set(partitionKeyOf(key.topicId, key.partition), {
          record,
          modRevision: kv.modRevision,
        });
        changes.partitions.push(record);
        return;
      }
      case 'other':
        return;
    }
  }

  private remove(rawKey: string, changes: CacheChanges): void {
    const key = this.keys.parse(rawKey);
    switch (key.kind) {
      case 'broker':
        this.brokers.delete(key.brokerId);
        changes.brokers = true;
        return;
      case 'controller':
        this.controller = null;
        changes.controller = true;
        return;
      case 'topic': {
        const gone = this.topics.get(key.name);
        this.topics.delete(key.name);
        if (gone !== undefined) changes.topicsDeleted.push(gone.record);
        changes.topics = true;
        return;
      }
      case 'partition':
        this.partitions.delete(partitionKeyOf(key.topicId, key.partition));
        changes.partitionsDeleted.push({ topicId: key.topicId, partition: key.partition });
        return;
      case 'other':
        return;
    }
  }
}

function emptyChanges(): CacheChanges {
  return {
    brokers: false,
    controller: false,
    topics: false,
    partitions: [],
    partitionsDeleted: [],
    topicsDeleted: [],
  };
}
