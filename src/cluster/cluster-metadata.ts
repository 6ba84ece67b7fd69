import type { PartitionRecord, TopicRecord } from './cluster-records.js';
import type { BrokerId } from './partition-state.js';
import type { TopicCreation } from './topic-creation.js';

/**
 * What the Kafka front door asks of the control plane in cluster mode: the live
 * brokers, the controller, topics and partition states as etcd has them (from
 * the broker's watched copy: no etcd round trip per request). ClusterAgent
 * implements it; a single-node broker has none, and every handler then answers
 * as it always did.
 */
export interface ClusterMetadata {
  readonly localBrokerId: BrokerId;
  /** Live brokers with their advertised Kafka endpoints, by id. */
  liveBrokerEndpoints(): { brokerId: BrokerId; host: string; port: number }[];
  /** -1 while there is no controller. */
  controllerId(): BrokerId;
  topic(name: string): TopicRecord | undefined;
  topics(): TopicRecord[];
  partition(topicId: number, partition: number): PartitionRecord | undefined;
  /** Whether this broker leads the partition now (and has not fenced itself). */
  isLeader(topic: string, partition: number): boolean;
  /**
   * Creates a topic in etcd; rejects with a PyralogError carrying TOPIC_ALREADY_EXISTS,
   * INVALID_REPLICATION_FACTOR, INVALID_PARTITIONS or INVALID_TOPIC_EXCEPTION, or with an etcd error.
   */
  createTopic(creation: TopicCreation): Promise<TopicRecord>;
  /**
   * Replaces a topic's config in etcd (Kafka names → values, the settings that differ from the
   * defaults); every replica's broker applies it from its watch. Rejects with a PyralogError
   * carrying UNKNOWN_TOPIC_OR_PARTITION or REQUEST_TIMED_OUT, or with an etcd error.
   */
  alterTopicConfig(name: string, config: Readonly<Record<string, string>>): Promise<TopicRecord>;
  /**
   * Grows a topic to `partitionCount` partitions in etcd, the new ones placed over the live brokers;
   * every replica's broker creates them from its watch. Rejects with a PyralogError carrying
   * UNKNOWN_TOPIC_OR_PARTITION, INVALID_PARTITIONS or INVALID_REPLICATION_FACTOR, or with an etcd error.
   */
  addPartitions(name: string, partitionCount: number): Promise<TopicRecord>;
  /**
   * Deletes a topic from etcd; every replica's broker removes its replicas from its watch. Rejects with
   * a PyralogError carrying UNKNOWN_TOPIC_OR_PARTITION, or with an etcd error.
   */
  deleteTopic(name: string): Promise<TopicRecord>;
}
