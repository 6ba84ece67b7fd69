import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_TOPIC_CONFIG, type TopicConfig, validateTopicConfig } from '../common/broker-config.js';
import { PyralogError } from '../common/errors.js';
import { KafkaErrorCode } from '../common/kafka-error-code.js';
import type { TopicDescription } from './engine-api.js';
import { shardForPartition } from './placement.js';
import { type StoredTopic, TopicRegistryLog } from './topic-registry-log.js';

/**
 * The broker's topic metadata, owned by the acceptor thread and persisted as
 * an append-only log, `<dataDir>/meta/topics.log` (topic-registry-log.ts):
 * each change is one small record, synced before it counts. Partition
 * placement is not stored: it is recomputed from topic id, partition and
 * shard count (placement.ts), so a restart with the same shard count finds
 * every partition where it was, and another shard count re-places them.
 *
 * Earlier brokers kept the whole registry in `meta/topics.json`, rewritten on
 * every change:
 *   { "version": 1, "shardCount": 2,
 *     "topics": [ { "name": "t", "topicId": 3, "partitionCount": 2,
 *                   "config": { …TopicConfig }, "shards": [1, 0] } ] }
 * That file is read once, carried into the log, and removed.
 */
export interface TopicEntry extends TopicDescription {
  /** shards[p] is the shard that owns partition p. */
  shards: number[];
}

interface RegistryFile {
  version: 1;
  shardCount: number;
  topics: TopicEntry[];
}

const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

/** Kafka's topic name rule: 1 to 249 of [a-zA-Z0-9._-], and not "." or "..". */
export function topicNameProblem(name: string): string | null {
  if (!TOPIC_NAME.test(name)) return 'topic names are 1 to 249 characters of a-z, A-Z, 0-9, ".", "_" and "-"';
  if (name === '.' || name === '..') return 'a topic cannot be named "." or ".."';
  return null;
}

export class TopicRegistry {
  private readonly topics = new Map<string, TopicEntry>();
  private readonly byId = new Map<number, TopicEntry>();

  private constructor(
    private readonly log: TopicRegistryLog,
    readonly shardCount: number,
  ) {}

  /**
   * Loads the registry (or starts an empty one) and places partitions for `shardCount`. A
   * registry of the earlier whole-file format (`meta/topics.json`) is carried into the log once.
   */
  static open(dataDir: string, shardCount: number): TopicRegistry {
    const metaDir = join(dataDir, 'meta');
    mkdirSync(metaDir, { recursive: true });
    const legacyPath = join(metaDir, 'topics.json');
    const { log, topics } = TopicRegistryLog.open(metaDir, () => readLegacyRegistry(legacyPath));
    // The log now holds what the old file held (written and synced before this point).
    rmSync(legacyPath, { force: true });
    const registry = new TopicRegistry(log, shardCount);
    for (const topic of topics.values()) {
      const entry: TopicEntry = {
        ...topic,
        config: { ...DEFAULT_TOPIC_CONFIG, ...topic.config },
        shards: placeAll(topic.topicId, topic.partitionCount, shardCount),
      };
      registry.topics.set(entry.name, entry);
      registry.byId.set(entry.topicId, entry);
    }
    return registry;
  }

  get(name: string): TopicEntry | undefined {
    return this.topics.get(name);
  }

  byTopicId(topicId: number): TopicEntry | undefined {
    return this.byId.get(topicId);
  }

  all(): TopicEntry[] {
    return [...this.topics.values()];
  }

  /** Records a new topic; the caller has validated the name and config and allocated the id. */
  add(name: string, topicId: number, partitionCount: number, config: TopicConfig): TopicEntry {
    validateTopicConfig(config, `topic ${name}: `);
    const entry: TopicEntry = {
      name,
      topicId,
      partitionCount,
      config,
      shards: placeAll(topicId, partitionCount, this.shardCount),
    };
    this.log.put({ name, topicId, partitionCount, config });
    this.topics.set(name, entry);
    this.byId.set(topicId, entry);
    return entry;
  }

  /** Replaces a topic's settings and/or raises its partition count; persisted before it returns. */
  update(name: string, changes: { config?: TopicConfig; partitionCount?: number }): TopicEntry {
    const current = this.topics.get(name);
    if (current === undefined) throw new PyralogError(KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION, name);
    const config = changes.config ?? current.config;
    validateTopicConfig(config, `topic ${name}: `);
    const partitionCount = changes.partitionCount ?? current.partitionCount;
    const entry: TopicEntry = {
      ...current,
      config,
      partitionCount,
      shards: placeAll(current.topicId, partitionCount, this.shardCount),
    };
    this.log.put({ name, topicId: entry.topicId, partitionCount, config });
    this.topics.set(name, entry);
    this.byId.set(entry.topicId, entry);
    return entry;
  }

  remove(name: string): void {
    const entry = this.topics.get(name);
    if (entry === undefined) return;
    this.log.remove(name);
    this.topics.delete(name);
    this.byId.delete(entry.topicId);
    this.log.compactIfLarge(this.topics);
  }

  close(): void {
    this.log.close();
  }
}

/** The earlier whole-file registry, if there is one. */
function readLegacyRegistry(path: string): StoredTopic[] | null {
  let file: RegistryFile;
  try {
    file = JSON.parse(readFileSync(path, 'utf8')) as RegistryFile;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new PyralogError(KafkaErrorCode.KAFKA_STORAGE_ERROR, `cannot read ${path}: ${String(error)}`);
  }
  if (file.version !== 1)
    throw new PyralogError(KafkaErrorCode.KAFKA_STORAGE_ERROR, 'unknown topics.json version');
  return file.topics.map((topic) => ({
    name: topic.name,
    topicId: topic.topicId,
    partitionCount: topic.partitionCount,
    config: topic.config,
  }));
}

function placeAll(topicId: number, partitionCount: number, shardCount: number): number[] {
  return Array.from({ length: partitionCount }, (_, partition) =>
    shardForPartition(topicId, partition, shardCount),
  );
}
