import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_TOPIC_CONFIG, type TopicConfig, validateTopicConfig } from '../common/broker-config.js';
import { PyralogError } from '../common/errors.js';
import { KafkaErrorCode } from '../common/kafka-error-code.js';
import type { TopicDescription } from './engine-api.js';
import { shardForPartition } from './placement.js';

/**
 * The broker's topic metadata, owned by the acceptor thread and persisted in
 * `<dataDir>/meta/topics.json` (written to a temporary file, fsynced, renamed
 * over the old one, and the directory fsynced, so a crash leaves either the old
 * or the new file whole). It records each partition's shard, so a restart with
 * the same shard count finds every partition where it was; with another shard
 * count placement is recomputed and recorded again.
 *
 * File format (version 1):
 *   { "version": 1, "shardCount": 2,
 *     "topics": [ { "name": "t", "topicId": 3, "partitionCount": 2,
 *                   "config": { …TopicConfig }, "shards": [1, 0] } ] }
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
  private readonly path: string;

  private constructor(
    private readonly metaDir: string,
    readonly shardCount: number,
  ) {
    this.path = join(metaDir, 'topics.json');
  }

  /** Loads the registry (or starts an empty one) and re-places partitions for `shardCount`. */
  static open(dataDir: string, shardCount: number): TopicRegistry {
    const metaDir = join(dataDir, 'meta');
    mkdirSync(metaDir, { recursive: true });
    const registry = new TopicRegistry(metaDir, shardCount);
    let file: RegistryFile | null = null;
    try {
      file = JSON.parse(readFileSync(registry.path, 'utf8')) as RegistryFile;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new PyralogError(
          KafkaErrorCode.KAFKA_STORAGE_ERROR,
          `cannot read ${registry.path}: ${String(error)}`,
        );
      }
    }
    if (file !== null) {
      if (file.version !== 1)
        throw new PyralogError(KafkaErrorCode.KAFKA_STORAGE_ERROR, 'unknown topics.json version');
      for (const topic of file.topics) {
        const entry: TopicEntry = {
          ...topic,
          config: { ...DEFAULT_TOPIC_CONFIG, ...topic.config },
          shards: placeAll(topic.topicId, topic.partitionCount, shardCount),
        };
        registry.topics.set(entry.name, entry);
        registry.byId.set(entry.topicId, entry);
      }
      if (file.shardCount !== shardCount) registry.persist();
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
    this.topics.set(name, entry);
    this.byId.set(topicId, entry);
    this.persist();
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
    this.topics.set(name, entry);
    this.byId.set(entry.topicId, entry);
    this.persist();
    return entry;
  }

  remove(name: string): void {
    const entry = this.topics.get(name);
    if (entry === undefined) return;
    this.topics.delete(name);
    this.byId.delete(entry.topicId);
    this.persist();
  }

  private persist(): void {
    const file: RegistryFile = { version: 1, shardCount: this.shardCount, topics: this.all() };
    const temporary = `${this.path}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(file, null, 2)}\n`);
    const fd = openSync(temporary, 'r+');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, this.path);
    const dirFd = openSync(this.metaDir, 'r');
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
  }
}

function placeAll(topicId: number, partitionCount: number, shardCount: number): number[] {
  return Array.from({ length: partitionCount }, (_, partition) =>
    shardForPartition(topicId, partition, shardCount),
  );
}
