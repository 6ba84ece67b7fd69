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
  const { engine, config } = context.deps;
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
