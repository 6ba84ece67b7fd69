import type { ClusterMetadata } from '../cluster/cluster-metadata.js';
import { errorMessage, PyralogError } from '../common/errors.js';
import { KafkaErrorCode } from '../common/kafka-error-code.js';

/**
 * DeleteTopics and `DELETE /topics/:topic` for a topic in etcd (cluster
 * mode): its record and partition records go from etcd in one transaction,
 * and every replica's broker removes its replicas from its watch (a broker
 * that was down, when it returns). NONE means etcd no longer has the topic;
 * its files go within the watch delay. Internal topics (`__…`) hold brokers'
 * own state and are refused POLICY_VIOLATION, as on a single node.
 */
export async function deleteClusterTopic(
  cluster: ClusterMetadata,
  name: string,
): Promise<{ errorCode: KafkaErrorCode; errorMessage: string | null }> {
  if (name.startsWith('__')) {
    return { errorCode: KafkaErrorCode.POLICY_VIOLATION, errorMessage: 'internal topics cannot be deleted' };
  }
  try {
    await cluster.deleteTopic(name);
    return { errorCode: KafkaErrorCode.NONE, errorMessage: null };
  } catch (error) {
    if (error instanceof PyralogError) return { errorCode: error.kafkaCode, errorMessage: error.message };
    return {
      errorCode: KafkaErrorCode.REQUEST_TIMED_OUT,
      errorMessage: `etcd did not take the change: ${errorMessage(error)}`,
    };
  }
}
