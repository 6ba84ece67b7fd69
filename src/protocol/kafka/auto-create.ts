import type { ClusterMetadata } from '../../cluster/cluster-metadata.js';
import { defaultReplicationFactor } from '../../common/broker-config.js';
import { PyralogError } from '../../common/errors.js';
import { KafkaErrorCode } from '../../common/kafka-error-code.js';
import { AclOperation, AclResourceType, CLUSTER_RESOURCE_NAME } from '../../security/acl.js';
import type { KafkaRequestContext } from './api.js';
import { requestAllowed, requestMayDescribe } from './request-authorization.js';

/**
 * Makes sure a topic exists, creating it with the broker's default partition
 * count when `--auto-create-topics` is on and the client allows it (as Kafka
 * does on Metadata). Returns NONE when the topic exists afterwards.
 */
export async function ensureTopic(
  context: KafkaRequestContext,
  name: string,
  allowCreate = true,
): Promise<number> {
  const { engine, config, cluster } = context.deps;
  if (cluster !== undefined) return ensureClusterTopic(context, cluster, name, allowCreate);
  if (engine.describeTopic(name) !== undefined) return KafkaErrorCode.NONE;
  if (!config.autoCreateTopics || !allowCreate) return KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
  // Creating needs Create on the cluster or on the topic (Kafka's rule).
  if (
    !requestMayDescribe(context, AclOperation.CREATE, AclResourceType.CLUSTER, CLUSTER_RESOURCE_NAME) &&
    !requestAllowed(context, AclOperation.CREATE, AclResourceType.TOPIC, name, 'auto-create')
  ) {
    return KafkaErrorCode.TOPIC_AUTHORIZATION_FAILED;
  }
  const code = await engine.createTopic(name, config.defaultPartitions);
  if (code === KafkaErrorCode.NONE || code === KafkaErrorCode.TOPIC_ALREADY_EXISTS)
    return KafkaErrorCode.NONE;
  return code;
}

/**
 * Cluster mode: the topic must be in etcd (created there when auto-creation is on, with the default partition
 * count and replication factor) and, on this broker, have its local partitions; until they exist (the control
 * plane creates them when it sees the topic) the answer is LEADER_NOT_AVAILABLE, which clients retry.
 */
async function ensureClusterTopic(
  context: KafkaRequestContext,
  cluster: ClusterMetadata,
  name: string,
  allowCreate: boolean,
): Promise<number> {
  const { engine, config } = context.deps;
  if (cluster.topic(name) === undefined) {
    if (!config.autoCreateTopics || !allowCreate) return KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    if (
      !requestMayDescribe(context, AclOperation.CREATE, AclResourceType.CLUSTER, CLUSTER_RESOURCE_NAME) &&
      !requestAllowed(context, AclOperation.CREATE, AclResourceType.TOPIC, name, 'auto-create')
    ) {
      return KafkaErrorCode.TOPIC_AUTHORIZATION_FAILED;
    }
    try {
      await cluster.createTopic({
        name,
        partitionCount: config.defaultPartitions,
        replicationFactor: defaultReplicationFactor(config, true),
        config: {},
      });
    } catch (error) {
      if (!(error instanceof PyralogError)) return KafkaErrorCode.LEADER_NOT_AVAILABLE;
      if (error.kafkaCode !== KafkaErrorCode.TOPIC_ALREADY_EXISTS) return error.kafkaCode;
    }
    return KafkaErrorCode.LEADER_NOT_AVAILABLE;
  }
  return engine.describeTopic(name) === undefined ? KafkaErrorCode.LEADER_NOT_AVAILABLE : KafkaErrorCode.NONE;
}
