import { PyralogError } from '../common/errors.js';
import { KafkaErrorCode } from '../common/kafka-error-code.js';
import type { ClusterMetadata } from './cluster-metadata.js';
import type { PartitionRecord, TopicRecord } from './cluster-records.js';
import type { BrokerId } from './partition-state.js';
import type { TopicCreation } from './topic-creation.js';

/**
 * The front doors' ClusterMetadata before the broker has joined the cluster:
 * the Kafka listener must be bound (so its port is known) before the broker can
 * register in etcd, and the front doors are given their dependencies before
 * that. Until `attach`, nothing is led, no broker is known and creating a topic
 * is answered as retriable.
 */
export class LateClusterMetadata implements ClusterMetadata {
  private target: ClusterMetadata | null = null;

  constructor(readonly localBrokerId: BrokerId) {}

  attach(target: ClusterMetadata): void {
    this.target = target;
  }

  liveBrokerEndpoints(): { brokerId: BrokerId; host: string; port: number }[] {
    return this.target?.liveBrokerEndpoints() ?? [];
  }
  controllerId(): BrokerId {
    return this.target?.controllerId() ?? -1;
  }
  topic(name: string): TopicRecord | undefined {
    return this.target?.topic(name);
  }
  topics(): TopicRecord[] {
    return this.target?.topics() ?? [];
  }
  partition(topicId: number, partition: number): PartitionRecord | undefined {
    return this.target?.partition(topicId, partition);
  }
  isLeader(topic: string, partition: number): boolean {
    return this.target?.isLeader(topic, partition) ?? false;
  }
  createTopic(creation: TopicCreation): Promise<TopicRecord> {
    if (this.target === null) {
      return Promise.reject(
        new PyralogError(KafkaErrorCode.REQUEST_TIMED_OUT, 'this broker has not joined the cluster yet'),
      );
    }
    return this.target.createTopic(creation);
  }
  alterTopicConfig(name: string, config: Readonly<Record<string, string>>): Promise<TopicRecord> {
    if (this.target === null) {
      return Promise.reject(
        new PyralogError(KafkaErrorCode.REQUEST_TIMED_OUT, 'this broker has not joined the cluster yet'),
      );
    }
    return this.target.alterTopicConfig(name, config);
  }
  addPartitions(name: string, partitionCount: number): Promise<TopicRecord> {
    if (this.target === null) {
      return Promise.reject(
        new PyralogError(KafkaErrorCode.REQUEST_TIMED_OUT, 'this broker has not joined the cluster yet'),
      );
    }
    return this.target.addPartitions(name, partitionCount);
  }
  deleteTopic(name: string): Promise<TopicRecord> {
    if (this.target === null) {
      return Promise.reject(
        new PyralogError(KafkaErrorCode.REQUEST_TIMED_OUT, 'this broker has not joined the cluster yet'),
      );
    }
    return this.target.deleteTopic(name);
  }
}
