import type { ClusterMetadata } from '../cluster/cluster-metadata.js';
import { KafkaErrorCode } from '../common/kafka-error-code.js';
import { type ClusterChangeOutcome, clusterChange } from './cluster-change.js';

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
): Promise<ClusterChangeOutcome> {
  if (name.startsWith('__')) {
    return { errorCode: KafkaErrorCode.POLICY_VIOLATION, errorMessage: 'internal topics cannot be deleted' };
  }
  return clusterChange(() => cluster.deleteTopic(name));
}
