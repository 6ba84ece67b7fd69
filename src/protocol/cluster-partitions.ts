import type { ClusterMetadata } from '../cluster/cluster-metadata.js';
import { errorMessage, PyralogError } from '../common/errors.js';
import { KafkaErrorCode } from '../common/kafka-error-code.js';

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
): Promise<{ errorCode: KafkaErrorCode; errorMessage: string | null }> {
  try {
    await cluster.addPartitions(name, partitionCount);
    return { errorCode: KafkaErrorCode.NONE, errorMessage: null };
  } catch (error) {
    if (error instanceof PyralogError) return { errorCode: error.kafkaCode, errorMessage: error.message };
    return {
      errorCode: KafkaErrorCode.REQUEST_TIMED_OUT,
      errorMessage: `etcd did not take the change: ${errorMessage(error)}`,
    };
  }
}
