import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { ClusterAgent } from '../cluster/cluster-agent.js';
import { ClusterKeys } from '../cluster/cluster-records.js';
import { EtcdClient } from '../cluster/etcd/etcd-client.js';
import { etcdTransportOf } from '../cluster/etcd/etcd-transport.js';
import type { PartitionState, ReplicaRoleSink } from '../cluster/partition-state.js';
import { ProducerIdBlocks } from '../cluster/producer-id-blocks.js';
import type { BrokerConfig } from '../common/broker-config.js';
import { KafkaErrorCode } from '../common/kafka-error-code.js';
import { usesSasl, usesTls } from '../common/security-config.js';
import type { FetchPartitionOutcome, FollowerFetchObserver } from '../engine/engine-api.js';
import type { ShardedEngine } from '../engine/sharded-engine.js';
import { topicConfigFromKafka } from '../protocol/kafka/topic-config-keys.js';
import type { PeerSecurity } from '../replication/peer-connection.js';
import { ReplicaManager } from '../replication/replica-manager.js';
import { isSaslClientMechanism } from '../security/sasl-client.js';

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
    sink: { applyPartitionState: (state) => sink.applyPartitionState(state) },
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
  const sink: ReplicaRoleSink = {
    async applyPartitionState(state: PartitionState): Promise<void> {
      if (engine.describeTopic(state.topic) === undefined) {
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
  return {
    agent,
    replicas,
    async leave() {
      await agent.stop();
      await replicas.stop();
    },
  };
}
