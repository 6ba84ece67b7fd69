import type { TopicConfig } from '../common/broker-config.js';
import { KafkaErrorCode } from '../common/kafka-error-code.js';

/**
 * The internal topic of committed offsets, `__consumer_offsets`: its name, how
 * a group maps to one of its partitions, its settings, and (in cluster mode)
 * how it is created in etcd and what a failed write of it tells a client.
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

/** Partitions of `__consumer_offsets` on a single node (groups are few; one log holds them all). */
export const SINGLE_NODE_OFFSETS_PARTITIONS = 1;

/**
 * Partitions of `__consumer_offsets` in a cluster: each partition's leader coordinates the groups
 * that hash to it, so more partitions spread coordinators over the brokers (Kafka has 50; a group
 * coordinator here is light, and every partition costs each of its replicas a little fetching).
 */
export const CLUSTER_OFFSETS_PARTITIONS = 16;

/** What the topic is created with in etcd, Kafka's names and values (the etcd topic record keeps those). */
export interface OffsetsTopicCreation {
  name: string;
  partitionCount: number;
  replicationFactor: number;
  config: Record<string, string>;
}

/**
 * The offsets topic as a cluster creates it: `wantedReplicas` (--default-replication-factor, 3
 * unless set) but never more than the live brokers; compacted like a single node's; and
 * min.insync.replicas 2 when there are three replicas or more (a commit survives any one broker
 * and one broker may be down), else 1 (a cluster of one or two brokers keeps taking commits
 * with one broker down, at the cost of that durability).
 */
export function offsetsTopicCreation(wantedReplicas: number, liveBrokers: number): OffsetsTopicCreation {
  const replicationFactor = Math.max(1, Math.min(wantedReplicas, liveBrokers));
  return {
    name: OFFSETS_TOPIC,
    partitionCount: CLUSTER_OFFSETS_PARTITIONS,
    replicationFactor,
    config: {
      'cleanup.policy': OFFSETS_TOPIC_CONFIG.cleanupPolicy,
      'retention.ms': String(OFFSETS_TOPIC_CONFIG.retentionMs),
      'retention.bytes': String(OFFSETS_TOPIC_CONFIG.retentionBytes),
      'segment.bytes': String(OFFSETS_TOPIC_CONFIG.segmentBytes),
      'min.insync.replicas': replicationFactor >= 3 ? '2' : '1',
    },
  };
}

/**
 * What a client is told when a write of the offsets topic failed in cluster mode (as Kafka's group
 * coordinator maps it): the partition is led elsewhere now → NOT_COORDINATOR (find it again); too
 * few in-sync replicas or no answer in time → COORDINATOR_NOT_AVAILABLE (retry); a batch too big →
 * INVALID_COMMIT_OFFSET_SIZE. Anything else is passed on.
 */
export function coordinatorErrorOf(produceError: KafkaErrorCode): KafkaErrorCode {
  switch (produceError) {
    case KafkaErrorCode.NOT_LEADER_OR_FOLLOWER:
    case KafkaErrorCode.FENCED_LEADER_EPOCH:
    case KafkaErrorCode.KAFKA_STORAGE_ERROR:
      return KafkaErrorCode.NOT_COORDINATOR;
    case KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
    case KafkaErrorCode.LEADER_NOT_AVAILABLE:
    case KafkaErrorCode.NOT_ENOUGH_REPLICAS:
    case KafkaErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case KafkaErrorCode.REQUEST_TIMED_OUT:
      return KafkaErrorCode.COORDINATOR_NOT_AVAILABLE;
    case KafkaErrorCode.MESSAGE_TOO_LARGE:
    case KafkaErrorCode.RECORD_LIST_TOO_LARGE:
      return KafkaErrorCode.INVALID_COMMIT_OFFSET_SIZE;
    default:
      return produceError;
  }
}
