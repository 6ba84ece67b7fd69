import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { ClusterAgent } from '../cluster/cluster-agent.js';
import { ClusterKeys, partitionStateOf } from '../cluster/cluster-records.js';
import { EtcdClient } from '../cluster/etcd/etcd-client.js';
import { etcdTransportOf } from '../cluster/etcd/etcd-transport.js';
import type { PartitionState, ReplicaRoleSink } from '../cluster/partition-state.js';
import { ProducerIdBlocks } from '../cluster/producer-id-blocks.js';
import type { BrokerConfig, TopicConfig } from '../common/broker-config.js';
import { KafkaErrorCode } from '../common/kafka-error-code.js';
import { usesSasl, usesTls } from '../common/security-config.js';
import type { FetchPartitionOutcome, FollowerFetchObserver } from '../engine/engine-api.js';
import type { ShardedEngine } from '../engine/sharded-engine.js';
import { topicConfigFromKafka, topicConfigToKafka } from '../protocol/kafka/topic-config-keys.js';
import type { PeerSecurity } from '../replication/peer-connection.js';
import { ReplicaManager } from '../replication/replica-manager.js';
import { isSaslClientMechanism } from '../security/sasl-client.js';
import { ClusterTopicLedger } from './cluster-topic-ledger.js';

/**
 * Joins the cluster named in the config (docs/cluster.md): registers this
 * broker in etcd under its lease, starts its control plane, and its data path
 * (ReplicaManager: leading, following, the ISR). Every partition this broker
 * replicates gets a local topic (same name, partition count and configs as
 * in etcd) before the data path is told its role.
 */

/** How long a follower's fetch may wait at the leader for new records. */
const FOLLOWER_FETCH_MAX_WAIT_MS = 500;
const FOLLOWER_RETRY_BACKOFF_MS = 100;
const MIN_INSYNC_REPLICAS = 'min.insync.replicas';

/**
 * The front doors' follower-fetch observer before the data path exists (front doors are given their
 * dependencies before the broker joins); it passes fetches on once attached.
 */
export class LateFollowerFetches implements FollowerFetchObserver {
  private target: FollowerFetchObserver | null = null;

  attach(target: FollowerFetchObserver): void {
    this.target = target;
  }

  onFollowerFetch(
    topic: string,
    partition: number,
    replicaId: number,
    fetchOffset: number,
    outcome: FetchPartitionOutcome,
  ): void {
    this.target?.onFollowerFetch(topic, partition, replicaId, fetchOffset, outcome);
  }
}

export interface ClusterMember {
  agent: ClusterAgent;
  replicas: ReplicaManager;
  /** Leaves the cluster (lease revoked first, so the controller moves this broker's partitions at once). */
  leave(): Promise<void>;
}

/**
 * Told each partition state after the data path has applied it (the shard leads or follows): how
 * the group coordinator learns it leads an offsets partition. Must not throw; need not be awaited.
 */
export type PartitionRoleListener = (state: PartitionState, partitionCount: number) => void;

/** An etcd client for the broker's endpoints, over TLS with the configured CA and client certificate when given. */
export function etcdClientOf(config: BrokerConfig): EtcdClient {
  const security = config.security;
  return new EtcdClient({
    endpoints: config.etcdEndpoints,
    transport: etcdTransportOf({
      caFile: security.etcdTlsCaFile,
      certFile: security.etcdTlsCertFile,
      keyFile: security.etcdTlsKeyFile,
    }),
  });
}

/**
 * How this broker's followers connect to leaders: the inter-broker listener's TLS (CA:
 * --inter-broker-tls-ca-file, else --tls-ca-file; an optional client certificate) and SASL (the
 * broker user, its password read from a file here, once). Plain TCP without an inter-broker listener.
 */
export function peerSecurityOf(config: BrokerConfig): PeerSecurity {
  const security = config.security;
  const protocol = security.interBrokerListener;
  if (protocol === null) return { tls: null, sasl: null };
  const caFile = security.interBrokerTlsCaFile ?? security.tlsCaFile;
  const tls = usesTls(protocol)
    ? {
        ...(caFile === null ? {} : { ca: readFileSync(caFile) }),
        ...(security.interBrokerTlsCertFile === null
          ? {}
          : { cert: readFileSync(security.interBrokerTlsCertFile) }),
        ...(security.interBrokerTlsKeyFile === null
          ? {}
          : { key: readFileSync(security.interBrokerTlsKeyFile) }),
      }
    : null;
  let sasl: PeerSecurity['sasl'] = null;
  if (usesSasl(protocol)) {
    const mechanism = security.interBrokerSaslMechanism;
    const username = security.interBrokerSaslUsername;
    const passwordFile = security.interBrokerSaslPasswordFile;
    if (!isSaslClientMechanism(mechanism) || username === null || passwordFile === null) {
      throw new Error(`--inter-broker-listener ${protocol} needs a SASL mechanism, user and password file`);
    }
    // A trailing newline (echo pw > file) is not part of the password.
    const password = readFileSync(passwordFile, 'utf8').replace(/\r?\n$/, '');
    sasl = { mechanism, username, password };
  }
  return { tls, sasl };
}

export async function joinCluster(
  config: BrokerConfig,
  engine: ShardedEngine,
  logger: Logger,
  advertisedPort: number,
  onRoleApplied: PartitionRoleListener = () => undefined,
  /** The bound port of the inter-broker listener (--inter-broker-listener); undefined: advertisedPort. */
  interBrokerPort?: number,
): Promise<ClusterMember> {
  const client = etcdClientOf(config);
  const agent = ClusterAgent.create({
    client,
    cluster: config.clusterName,
    brokerId: config.nodeId,
    host: config.advertisedHost,
    port: advertisedPort,
    ...(interBrokerPort === undefined
      ? {}
      : { interBroker: { host: config.advertisedHost, port: interBrokerPort } }),
    sink: {
      applyPartitionState: (state) => sink.applyPartitionState(state),
      applyTopicConfig: (name, topicConfig) => sink.applyTopicConfig!(name, topicConfig),
      removeTopic: (name, topicId) => sink.removeTopic!(name, topicId),
    },
    log: logger,
    leaseTtlMs: config.etcdLeaseTtlMs,
  });
  const replicas = new ReplicaManager(engine, agent, agent, {
    lagTimeMaxMs: config.replicaLagTimeMaxMs,
    requestTimeoutMs: config.requestTimeoutMs,
    fetchMaxWaitMs: FOLLOWER_FETCH_MAX_WAIT_MS,
    fetchMaxBytes: config.fetchMaxBytes,
    partitionMaxBytes: config.fetchMaxBytes,
    maxFrameBytes: config.fetchMaxBytes + 1024 * 1024,
    retryBackoffMs: FOLLOWER_RETRY_BACKOFF_MS,
    peerSecurity: peerSecurityOf(config),
    // The topic's min.insync.replicas as created in etcd; else 2, or the replication factor when smaller.
    minInsyncReplicas: (name) => {
      const topic = agent.topic(name);
      const configured = Number(topic?.config[MIN_INSYNC_REPLICAS]);
      if (Number.isSafeInteger(configured) && configured >= 1) return configured;
      return Math.min(2, topic?.replicationFactor ?? 1);
    },
    onError: (message) => logger.warn({ replication: true }, message),
    peerAddresses: config.peerAddresses,
  });
  const ledger = new ClusterTopicLedger(join(config.dataDir, 'meta', 'cluster-topics.json'));
  /** Stops replicating a topic and removes this broker's copy of it (deleted in etcd, or a stale copy). */
  const removeLocal = async (name: string): Promise<void> => {
    replicas.forgetTopic(name);
    if (engine.describeTopic(name) !== undefined) {
      const code = await engine.deleteTopic(name);
      if (code !== KafkaErrorCode.NONE && code !== KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION) {
        throw new Error(`local topic ${name} not deleted: error ${code}`);
      }
      logger.info({ topic: name }, 'local replicas of a topic deleted in etcd removed');
    }
    ledger.remove(name);
  };
  const sink: ReplicaRoleSink = {
    async applyPartitionState(state: PartitionState): Promise<void> {
      let local = engine.describeTopic(state.topic);
      const knownId = ledger.idOf(state.topic);
      if (local !== undefined && knownId !== undefined && knownId !== state.topicId) {
        // Deleted and created again under this name while this broker was away: the local copy is the old topic.
        await removeLocal(state.topic);
        local = undefined;
      }
      if (local !== undefined && state.partition >= local.partitionCount) {
        // Partitions added through etcd (CreatePartitions): the local topic grows to the count etcd holds.
        const count = Math.max(agent.topic(state.topic)?.partitionCount ?? 0, state.partition + 1);
        const code = await engine.addPartitions(state.topic, count);
        if (code !== KafkaErrorCode.NONE) {
          throw new Error(`local partitions of ${state.topic} not added up to ${count}: error ${code}`);
        }
      }
      if (local === undefined) {
        const topic = agent.topic(state.topic);
        if (topic === undefined) return;
        const settings = topicConfigFromKafka(
          Object.entries(topic.config).map(([name, value]) => ({ name, value })),
        );
        const code = await engine.createTopic(topic.name, topic.partitionCount, settings);
        if (code !== KafkaErrorCode.NONE && code !== KafkaErrorCode.TOPIC_ALREADY_EXISTS) {
          throw new Error(`local topic ${topic.name} not created: error ${code}`);
        }
      }
      ledger.set(state.topic, state.topicId);
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
      await replicas.applyPartitionState(state);
      onRoleApplied(state, agent.topic(state.topic)?.partitionCount ?? 0);
    },
    async removeTopic(name: string, topicId: number): Promise<void> {
      const knownId = ledger.idOf(name);
      if (knownId !== undefined && knownId !== topicId) return; // a later topic of that name is here now
      await removeLocal(name);
    },
    async applyTopicConfig(name: string, kafkaConfig: Readonly<Record<string, string>>): Promise<void> {
      const local = engine.describeTopic(name);
      if (local === undefined) return;
      const settings = topicConfigFromKafka(
        Object.entries(kafkaConfig).map(([entry, value]) => ({ name: entry, value })),
      );
      const wanted: TopicConfig = { ...config.topicDefaults, ...settings };
      if (sameTopicConfig(local.config, wanted)) return;
      const code = await engine.alterTopicConfig(name, wanted);
      if (code !== KafkaErrorCode.NONE) throw new Error(`config of ${name} not applied: error ${code}`);
      logger.info({ topic: name, config: kafkaConfig }, 'topic config applied from etcd');
      // min.insync.replicas may have changed: the partitions this broker leads take it with their role again.
      const topic = agent.topic(name);
      for (let partition = 0; partition < (topic?.partitionCount ?? 0); partition++) {
        const record = agent.partition(topic!.topicId, partition);
        if (record?.leader === config.nodeId && record.leaderBrokerEpoch === agent.brokerEpoch()) {
          await replicas.applyPartitionState(partitionStateOf(record));
        }
      }
    },
  };
  try {
    await agent.join();
  } catch (error) {
    await replicas.stop();
    throw error;
  }
  // Producer ids must be unique across brokers, not only on this one (producer-id-blocks.ts).
  const producerIds = new ProducerIdBlocks(client, new ClusterKeys(config.clusterName));
  engine.useProducerIdSource(() => producerIds.take());
  // Topics this broker replicated that were deleted from etcd while it was away.
  for (const name of ledger.names()) {
    if (agent.topic(name) === undefined) {
      await removeLocal(name).catch((error: unknown) =>
        logger.error({ topic: name, error: String(error) }, 'a topic deleted in etcd was not removed here'),
      );
    }
  }
  return {
    agent,
    replicas,
    async leave() {
      await agent.stop();
      await replicas.stop();
    },
  };
}

/** The same settings, as Kafka names them (what etcd holds). */
function sameTopicConfig(a: TopicConfig, b: TopicConfig): boolean {
  const bText = topicConfigToKafka(b);
  return topicConfigToKafka(a).every((entry, i) => entry.value === bText[i]!.value);
}
