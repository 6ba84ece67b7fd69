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
}
