import type { ClusterMetadata } from '../cluster/cluster-metadata.js';
import { type ClusterChangeOutcome, clusterChange } from './cluster-change.js';

/**
 * CreatePartitions and `POST /topics/:topic/partitions` for a topic in etcd
 * (cluster mode): the topic grows in etcd (cluster/topic-partition-addition.ts)
 * and every replica's broker creates its new replicas from its watch. NONE
 * means etcd holds the new count and the new partitions' records; their
 * leaders take produces once their brokers have applied them (a client that
 * asks too early is told NOT_LEADER_OR_FOLLOWER or UNKNOWN_TOPIC_OR_PARTITION
 * and refreshes its metadata).
 */
export async function addClusterPartitions(
  cluster: ClusterMetadata,
  name: string,
  partitionCount: number,
): Promise<ClusterChangeOutcome> {
  return clusterChange(() => cluster.addPartitions(name, partitionCount));
}
