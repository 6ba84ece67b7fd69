import type { Logger } from 'pino';
import { ClusterAgent } from '../cluster/cluster-agent.js';
import { EtcdClient } from '../cluster/etcd/etcd-client.js';
import type { PartitionState, ReplicaRoleSink } from '../cluster/partition-state.js';
import type { BrokerConfig } from '../common/broker-config.js';
import { KafkaErrorCode } from '../common/kafka-error-code.js';
import type { Engine } from '../engine/engine-api.js';
import { topicConfigFromKafka } from '../protocol/kafka/topic-config-keys.js';

/**
 * Joins the cluster named in the config (docs/cluster.md): registers this
 * broker in etcd under its lease and starts its control plane. Every
 * partition this broker replicates gets a local topic (same name, partition
 * count and configs as in etcd) before the data path is told its role.
 */
export async function joinCluster(
  config: BrokerConfig,
  engine: Engine,
  logger: Logger,
  advertisedPort: number,
  dataPath: ReplicaRoleSink | null,
): Promise<ClusterAgent> {
  const sink: ReplicaRoleSink = {
    async applyPartitionState(state: PartitionState): Promise<void> {
      if (engine.describeTopic(state.topic) === undefined) {
        const topic = agent.topic(state.topic);
        if (topic === undefined) return;
        const code = await engine.createTopic(
          topic.name,
          topic.partitionCount,
          topicConfigFromKafka(Object.entries(topic.config).map(([name, value]) => ({ name, value }))),
        );
        if (code !== KafkaErrorCode.NONE && code !== KafkaErrorCode.TOPIC_ALREADY_EXISTS) {
          throw new Error(`local topic ${topic.name} not created: error ${code}`);
        }
      }
      logger.info(
        {
          topic: state.topic,
          partition: state.partition,
          leader: state.leader,
          leaderEpoch: state.leaderEpoch,
          isr: state.isr,
        },
        'partition state',
      );
      await dataPath?.applyPartitionState(state);
    },
  };
  const agent: ClusterAgent = ClusterAgent.create({
    client: new EtcdClient({ endpoints: config.etcdEndpoints }),
    cluster: config.clusterName,
    brokerId: config.nodeId,
    host: config.advertisedHost,
    port: advertisedPort,
    sink,
    log: logger,
    leaseTtlMs: config.etcdLeaseTtlMs,
  });
  await agent.join();
  return agent;
}
