import type { ClusterMetadata } from '../../cluster/cluster-metadata.js';
import { KafkaErrorCode } from '../../common/kafka-error-code.js';

/**
 * Metadata in cluster mode (docs/cluster.md): every live broker, the elected
 * controller, and per partition the leader, leader epoch, replicas, ISR and
 * offline replicas as etcd has them (from the broker's watched copy).
 */

export interface MetadataPartition {
  errorCode: number;
  partitionIndex: number;
  leaderId: number;
  leaderEpoch: number;
  replicaNodes: readonly number[];
  isrNodes: readonly number[];
  offlineReplicas: readonly number[];
}

export interface MetadataBroker {
  nodeId: number;
  host: string;
  port: number;
}

export function clusterBrokers(cluster: ClusterMetadata): MetadataBroker[] {
  return cluster
    .liveBrokerEndpoints()
    .map((broker) => ({ nodeId: broker.brokerId, host: broker.host, port: broker.port }));
}

/**
 * A topic's partitions as etcd has them. A partition without a leader is answered LEADER_NOT_AVAILABLE
 * (retriable: clients refresh and retry), as Kafka does; a partition record not seen yet likewise.
 */
export function clusterPartitions(
  cluster: ClusterMetadata,
  topicId: number,
  partitionCount: number,
): MetadataPartition[] {
  const live = new Set(cluster.liveBrokerEndpoints().map((broker) => broker.brokerId));
  const partitions: MetadataPartition[] = [];
  for (let partition = 0; partition < partitionCount; partition++) {
    const state = cluster.partition(topicId, partition);
    if (state === undefined) {
      partitions.push({
        errorCode: KafkaErrorCode.LEADER_NOT_AVAILABLE,
        partitionIndex: partition,
        leaderId: -1,
        leaderEpoch: -1,
        replicaNodes: [],
        isrNodes: [],
        offlineReplicas: [],
      });
      continue;
    }
    partitions.push({
      errorCode: state.leader === -1 ? KafkaErrorCode.LEADER_NOT_AVAILABLE : KafkaErrorCode.NONE,
      partitionIndex: partition,
      leaderId: state.leader,
      leaderEpoch: state.leaderEpoch,
      replicaNodes: state.replicas,
      isrNodes: state.isr,
      offlineReplicas: state.replicas.filter((id) => !live.has(id)),
    });
  }
  return partitions;
}
