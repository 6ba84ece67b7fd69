import type { Logger } from 'pino';
import type { ClusterMetadata } from '../cluster/cluster-metadata.js';
import type { Engine } from '../engine/engine-api.js';
import type { GroupCoordinator, OffsetsLeadership } from '../groups/group-coordinator.js';
import { CLUSTER_OFFSETS_PARTITIONS, OFFSETS_TOPIC } from '../groups/offsets-topic.js';
import type { PartitionRoleListener } from './cluster-join.js';

/**
 * Cluster mode: how the group coordinator follows leadership of the
 * `__consumer_offsets` partitions (docs/cluster.md, Consumer groups). Two
 * sources, on purpose: the role changes the control plane hands the data path
 * (a new leader epoch starts a load; losing leadership unloads), and, checked
 * on every request, etcd's current view with this broker's lease
 * (`isLeader` and the leader epoch), so a broker that has fenced itself or
 * been replaced answers NOT_COORDINATOR at once, before any role change
 * reaches it, and one named leader under a newer epoch than it has loaded
 * answers COORDINATOR_LOAD_IN_PROGRESS until it has loaded again.
 */
export function offsetsLeadership(cluster: ClusterMetadata): OffsetsLeadership {
  return {
    localBrokerId: cluster.localBrokerId,
    leaderEpoch: (partition) => {
      const topic = cluster.topic(OFFSETS_TOPIC);
      if (topic === undefined || !cluster.isLeader(OFFSETS_TOPIC, partition)) return -1;
      return cluster.partition(topic.topicId, partition)?.leaderEpoch ?? -1;
    },
  };
}

/** Passes every applied role of an offsets partition on to the group coordinator. */
export function offsetsRoleListener(
  groups: GroupCoordinator,
  localBrokerId: number,
  logger: Logger,
): PartitionRoleListener {
  return (state, partitionCount) => {
    if (state.topic !== OFFSETS_TOPIC || partitionCount < 1) return;
    groups
      .onOffsetsPartitionState({
        partition: state.partition,
        partitionCount,
        leading: state.leader === localBrokerId,
        leaderEpoch: state.leaderEpoch,
      })
      .catch((error: unknown) =>
        logger.error(
          { partition: state.partition, error: String(error) },
          'offsets partition role not applied',
        ),
      );
  };
}

/**
 * A cluster broker whose data directory already holds a `__consumer_offsets` of another partition
 * count (a single node's, or one a cluster broker made locally before the topic lived in etcd)
 * keeps it: the partitions etcd has and it lacks cannot be replicated here, and their groups never
 * load on this broker. Said once at start, with the way out.
 */
export function warnOfLocalOffsetsTopic(engine: Engine, logger: Logger): void {
  const local = engine.describeTopic(OFFSETS_TOPIC);
  if (local === undefined || local.partitionCount === CLUSTER_OFFSETS_PARTITIONS) return;
  logger.warn(
    {
      topic: OFFSETS_TOPIC,
      localPartitions: local.partitionCount,
      clusterPartitions: CLUSTER_OFFSETS_PARTITIONS,
    },
    'this data directory holds a committed-offsets topic from a single node or an earlier version; ' +
      'groups of the partitions it lacks cannot be coordinated here: start this broker on a fresh data directory',
  );
}
