import type { ClusterMetadata } from '../cluster/cluster-metadata.js';
import { type BrokerConfig, defaultReplicationFactor } from '../common/broker-config.js';
import { OFFSETS_TOPIC, offsetsTopicCreation } from '../groups/offsets-topic.js';

/**
 * Cluster mode: `__consumer_offsets` is created in etcd, as Kafka creates it,
 * when a client first asks for a group's coordinator (FindCoordinator), so
 * that the brokers of a cluster starting up are usually all live by then and
 * the topic gets its full replication factor. Any broker may create it; etcd's
 * create-once transaction makes one topic of concurrent attempts. One attempt
 * at a time per broker; a failed one (no quorum, too few brokers) is tried
 * again on the next FindCoordinator, which answers COORDINATOR_NOT_AVAILABLE
 * (retriable) meanwhile.
 */
const creating = new WeakMap<ClusterMetadata, Promise<void>>();

export function ensureOffsetsTopic(cluster: ClusterMetadata, config: BrokerConfig): void {
  if (cluster.topic(OFFSETS_TOPIC) !== undefined || creating.has(cluster)) return;
  const creation = offsetsTopicCreation(
    defaultReplicationFactor(config, true),
    cluster.liveBrokerEndpoints().length,
  );
  const attempt = cluster
    .createTopic(creation)
    .then(
      () => undefined,
      // TOPIC_ALREADY_EXISTS: another broker made it. Anything else: the next FindCoordinator tries again.
      () => undefined,
    )
    .finally(() => creating.delete(cluster));
  creating.set(cluster, attempt);
}
