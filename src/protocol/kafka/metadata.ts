import type { ClusterMetadata } from '../../cluster/cluster-metadata.js';
import { KafkaErrorCode } from '../../common/kafka-error-code.js';
import type { Engine } from '../../engine/engine-api.js';
import { AclOperation, AclResourceType, CLUSTER_RESOURCE_NAME } from '../../security/acl.js';
import { ApiKey, describedVersions, type KafkaApi, type KafkaRequestContext } from './api.js';
import { ensureTopic } from './auto-create.js';
import { field, type MessageDescription, structs } from './message/description.js';
import { messageCodec } from './message/message-codec.js';
import {
  clusterBrokers,
  clusterPartitions,
  type MetadataBroker,
  type MetadataPartition,
} from './metadata-cluster.js';
import { requestAllowed, requestAuthorizedOperations, requestMayDescribe } from './request-authorization.js';
import { namesTooManyTopics, REQUEST_LIMIT_ERROR } from './request-limits.js';
import { isZeroUuid, topicByUuid, topicIdOf, topicUuid } from './topic-id.js';

/**
 * Metadata (key 3), versions 0–12 (flexible from 9). One broker: it is the
 * controller and leads every partition, with itself as the only replica.
 * Host and port are the advertised ones. v0: an empty topic list means all
 * topics; v1+: null means all, empty none. v10+ topics carry ids
 * (topic-id.ts) and v12 may ask by id alone (name null), answered with the
 * name, or UNKNOWN_TOPIC_ID. The leader epoch (v7+) is -1, unknown, so
 * clients skip epoch validation (no OffsetForLeaderEpoch here). Authorized
 * operations (v8+) are -2147483648 unless asked for; when asked, what the
 * principal's ACLs allow on each topic it may describe (and on the cluster,
 * v8-10), computed per topic and never per partition. In cluster mode
 * (`deps.cluster`, docs/cluster.md) brokers, controller, topics and partitions
 * (leader, leader epoch, replicas, ISR, offline replicas) come from etcd
 * instead (metadata-cluster.ts).
 */
export const metadataRequestDescription: MessageDescription = {
  name: 'MetadataRequest',
  validVersions: '0-12',
  flexibleVersions: '9+',
  fields: [
    structs(
      'topics',
      '0+',
      [field('topicId', 'uuid', '10+'), field('name', 'string', '0+', { nullableVersions: '10+' })],
      { nullableVersions: '1+' },
    ),
    field('allowAutoTopicCreation', 'bool', '4+', { default: true }),
    field('includeClusterAuthorizedOperations', 'bool', '8-10'),
    field('includeTopicAuthorizedOperations', 'bool', '8+'),
  ],
};

const NOT_REQUESTED = -2147483648;

/** Response topic names are nullable from this version on (an unknown topic id asked for alone). */
const FIRST_NULLABLE_NAME_VERSION = 12;

export const metadataResponseDescription: MessageDescription = {
  name: 'MetadataResponse',
  validVersions: '0-12',
  flexibleVersions: '9+',
  fields: [
    field('throttleTimeMs', 'int32', '3+'),
    structs('brokers', '0+', [
      field('nodeId', 'int32', '0+'),
      field('host', 'string', '0+'),
      field('port', 'int32', '0+'),
      field('rack', 'string', '1+', { nullableVersions: '1+', default: null }),
    ]),
    field('clusterId', 'string', '2+', { nullableVersions: '2+', default: null }),
    field('controllerId', 'int32', '1+', { default: -1 }),
    structs('topics', '0+', [
      field('errorCode', 'int16', '0+'),
      field('name', 'string', '0+', { nullableVersions: '12+' }),
      field('topicId', 'uuid', '10+'),
      field('isInternal', 'bool', '1+'),
      structs('partitions', '0+', [
        field('errorCode', 'int16', '0+'),
        field('partitionIndex', 'int32', '0+'),
        field('leaderId', 'int32', '0+'),
        field('leaderEpoch', 'int32', '7+', { default: -1 }),
        field('replicaNodes', '[]int32', '0+'),
        field('isrNodes', '[]int32', '0+'),
        field('offlineReplicas', '[]int32', '5+'),
      ]),
      field('topicAuthorizedOperations', 'int32', '8+', { default: NOT_REQUESTED }),
    ]),
    field('clusterAuthorizedOperations', 'int32', '8-10', { default: NOT_REQUESTED }),
  ],
};

interface MetadataRequestWire {
  topics: { topicId: Uint8Array; name: string | null }[] | null;
  allowAutoTopicCreation: boolean;
  includeClusterAuthorizedOperations: boolean;
  includeTopicAuthorizedOperations: boolean;
}

export interface MetadataRequest {
  /** null: every topic. A topic asked for by id alone (v12) has a null name. */
  topics: { topicId: Uint8Array; name: string | null }[] | null;
  allowAutoTopicCreation: boolean;
  includeClusterAuthorizedOperations: boolean;
  includeTopicAuthorizedOperations: boolean;
}

export interface MetadataTopic {
  errorCode: number;
  /** null only for an unknown id asked for without a name. */
  name: string | null;
  /** The topic's sequencer id (see topic-id.ts); -1 when unknown. */
  topicId: number;
  isInternal: boolean;
  partitionCount: number;
  /** Partitions offline after a storage failure (this broker listed as their offline replica); none when absent. */
  offlinePartitions?: readonly number[];
  /** Kafka's authorized operations bit set, when asked for and the topic may be described. */
  authorizedOperations?: number;
  /** Cluster mode: each partition as etcd has it (else this broker leads all, as the only replica). */
  partitions?: readonly MetadataPartition[];
}

const NONE_OFFLINE: readonly number[] = [];
const ZERO_UUID = new Uint8Array(16);

function offlineOf(engine: Engine, name: string, partitionCount: number): readonly number[] {
  if (engine.offlineReason === undefined) return NONE_OFFLINE;
  let offline: number[] | null = null;
  for (let partition = 0; partition < partitionCount; partition++) {
    if (engine.offlineReason(name, partition) === undefined) continue;
    offline ??= [];
    offline.push(partition);
  }
  return offline ?? NONE_OFFLINE;
}

export interface MetadataResponse {
  nodeId: number;
  host: string;
  port: number;
  topics: MetadataTopic[];
  /** The principal's authorized operations on the cluster, when asked for (v8-10). */
  clusterAuthorizedOperations?: number;
  /** Cluster mode: every live broker (else this broker alone). */
  brokers?: readonly MetadataBroker[];
  /** Cluster mode: the elected controller, -1 when none (else this broker). */
  controllerId?: number;
}

export const CLUSTER_ID = 'pyralog';

const request = messageCodec<MetadataRequestWire>(metadataRequestDescription);
const response = messageCodec<unknown>(metadataResponseDescription);

/** A named topic the principal may not describe: nothing about it is told, not even whether it exists. */
function unauthorizedTopic(name: string): MetadataTopic {
  return {
    errorCode: KafkaErrorCode.TOPIC_AUTHORIZATION_FAILED,
    name,
    topicId: -1,
    isInternal: false,
    partitionCount: 0,
    offlinePartitions: NONE_OFFLINE,
  };
}

function describedTopic(engine: Engine, name: string, errorCode: number): MetadataTopic {
  const topic = engine.describeTopic(name);
  return {
    errorCode:
      topic === undefined ? errorCode || KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION : KafkaErrorCode.NONE,
    name,
    topicId: topic?.topicId ?? -1,
    isInternal: name.startsWith('__'),
    partitionCount: topic?.partitionCount ?? 0,
    offlinePartitions: offlineOf(engine, name, topic?.partitionCount ?? 0),
  };
}

/** The wire form of a response: the broker, and every partition led by it with itself as the only replica. */
function toWire(metadata: MetadataResponse, version: number): unknown {
  const self = [metadata.nodeId];
  const none: number[] = [];
  return {
    brokers: (
      metadata.brokers ?? [{ nodeId: metadata.nodeId, host: metadata.host, port: metadata.port }]
    ).map((broker) => ({ ...broker, rack: null })),
    clusterId: CLUSTER_ID,
    controllerId: metadata.controllerId ?? metadata.nodeId,
    topics: metadata.topics.map((topic) => {
      const partitions =
        topic.partitions === undefined ? new Array(topic.partitionCount) : [...topic.partitions];
      for (
        let partition = 0;
        topic.partitions === undefined && partition < topic.partitionCount;
        partition++
      ) {
        // An offline replica is out of the ISR and listed in offline_replicas (v5+). The partition keeps
        // no error code and this broker as its leader, unlike Kafka's LEADER_NOT_AVAILABLE: clients such as
        // kafkajs fail a whole topic's metadata on a partition error, which would stop its other partitions
        // too. Requests to it are answered KAFKA_STORAGE_ERROR.
        const offline = topic.offlinePartitions?.includes(partition) === true;
        partitions[partition] = {
          errorCode: KafkaErrorCode.NONE,
          partitionIndex: partition,
          leaderId: metadata.nodeId,
          replicaNodes: self,
          isrNodes: offline ? none : self,
          offlineReplicas: offline ? self : none,
        };
      }
      return {
        errorCode: topic.errorCode,
        // A topic asked for by id alone has no name; names may be null only from v12.
        name: topic.name === null && version < FIRST_NULLABLE_NAME_VERSION ? '' : topic.name,
        topicId: topic.topicId >= 0 ? topicUuid(topic.topicId) : ZERO_UUID,
        isInternal: topic.isInternal,
        partitions,
        topicAuthorizedOperations: topic.authorizedOperations ?? NOT_REQUESTED,
      };
    }),
    clusterAuthorizedOperations: metadata.clusterAuthorizedOperations ?? NOT_REQUESTED,
  };
}

/** A topic as etcd has it; `missing` answers a topic etcd does not know. */
function clusterTopic(cluster: ClusterMetadata, name: string, missing: number): MetadataTopic {
  const topic = cluster.topic(name);
  if (topic === undefined) {
    return { errorCode: missing, name, topicId: -1, isInternal: false, partitionCount: 0, partitions: [] };
  }
  return {
    errorCode: KafkaErrorCode.NONE,
    name,
    topicId: topic.topicId,
    isInternal: name.startsWith('__'),
    partitionCount: topic.partitionCount,
    partitions: clusterPartitions(cluster, topic.topicId, topic.partitionCount),
  };
}

/**
 * Cluster mode: topics and partitions from the control plane's copy of etcd. A topic auto-created here (in
 * etcd) is seen by this broker a moment later: LEADER_NOT_AVAILABLE (retriable) until then.
 */
async function clusterTopics(
  request: MetadataRequest,
  context: KafkaRequestContext,
  cluster: ClusterMetadata,
): Promise<MetadataTopic[]> {
  if (request.topics === null) {
    return cluster
      .topics()
      .filter((topic) =>
        requestMayDescribe(context, AclOperation.DESCRIBE, AclResourceType.TOPIC, topic.name),
      )
      .map((topic) => clusterTopic(cluster, topic.name, KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION));
  }
  if (namesTooManyTopics(request.topics.length, context)) {
    return request.topics.map((topic) => ({
      errorCode: REQUEST_LIMIT_ERROR,
      name: topic.name,
      topicId: -1,
      isInternal: false,
      partitionCount: 0,
      partitions: [],
    }));
  }
  const names = new Set<string>();
  const topics: MetadataTopic[] = [];
  for (const topic of request.topics) {
    if (topic.name !== null) {
      names.add(topic.name);
      continue;
    }
    const id = isZeroUuid(topic.topicId) ? -1 : topicIdOf(topic.topicId);
    const byId = id < 0 ? undefined : cluster.topics().find((candidate) => candidate.topicId === id);
    if (byId !== undefined) names.add(byId.name);
    else {
      topics.push({
        errorCode: KafkaErrorCode.UNKNOWN_TOPIC_ID,
        name: null,
        topicId: -1,
        isInternal: false,
        partitionCount: 0,
        partitions: [],
      });
    }
  }
  for (const name of names) {
    if (!requestAllowed(context, AclOperation.DESCRIBE, AclResourceType.TOPIC, name, 'Metadata')) {
      topics.push({ ...unauthorizedTopic(name), partitions: [] });
      continue;
    }
    const missing =
      cluster.topic(name) === undefined
        ? await ensureTopic(context, name, request.allowAutoTopicCreation)
        : KafkaErrorCode.NONE;
    topics.push(clusterTopic(cluster, name, missing || KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION));
  }
  return topics;
}

export const metadata: KafkaApi<MetadataRequest, MetadataResponse> = {
  apiKey: ApiKey.METADATA,
  name: 'Metadata',
  ...describedVersions(request, response),
  decode(reader, version) {
    const wire = request.decode(reader, version);
    // v0 has no null list: empty means every topic.
    return version === 0 && wire.topics !== null && wire.topics.length === 0
      ? { ...wire, topics: null }
      : wire;
  },
  async handle(request, context) {
    const { engine, config, cluster } = context.deps;
    let topics: MetadataTopic[];
    if (cluster !== undefined) {
      topics = await clusterTopics(request, context, cluster);
    } else if (request.topics === null) {
      topics = engine
        .listTopics()
        .filter((topic) =>
          requestMayDescribe(context, AclOperation.DESCRIBE, AclResourceType.TOPIC, topic.name),
        )
        .map((topic) => ({
          errorCode: KafkaErrorCode.NONE,
          name: topic.name,
          topicId: topic.topicId,
          isInternal: topic.name.startsWith('__'),
          partitionCount: topic.partitionCount,
          offlinePartitions: offlineOf(engine, topic.name, topic.partitionCount),
        }));
    } else if (namesTooManyTopics(request.topics.length, context)) {
      topics = request.topics.map((topic) => ({
        errorCode: REQUEST_LIMIT_ERROR,
        name: topic.name,
        topicId: -1,
        isInternal: false,
        partitionCount: 0,
        offlinePartitions: NONE_OFFLINE,
      }));
    } else {
      const names = new Set<string>();
      const unknownIds: MetadataTopic[] = [];
      for (const topic of request.topics) {
        if (topic.name !== null) {
          names.add(topic.name);
          continue;
        }
        const byId = isZeroUuid(topic.topicId) ? undefined : topicByUuid(engine, topic.topicId);
        if (byId !== undefined) names.add(byId.name);
        else {
          unknownIds.push({
            errorCode: KafkaErrorCode.UNKNOWN_TOPIC_ID,
            name: null,
            topicId: -1,
            isInternal: false,
            partitionCount: 0,
          });
        }
      }
      // A name listed twice is answered once, as Kafka does: a request repeating one large topic
      // would otherwise make the response that many times its size.
      topics = await Promise.all(
        [...names].map(async (name) =>
          requestAllowed(context, AclOperation.DESCRIBE, AclResourceType.TOPIC, name, 'Metadata')
            ? describedTopic(engine, name, await ensureTopic(context, name, request.allowAutoTopicCreation))
            : unauthorizedTopic(name),
        ),
      );
      topics.push(...unknownIds);
    }
    if (request.includeTopicAuthorizedOperations) {
      for (const topic of topics) {
        if (topic.errorCode === KafkaErrorCode.NONE && topic.name !== null) {
          topic.authorizedOperations = requestAuthorizedOperations(
            context,
            AclResourceType.TOPIC,
            topic.name,
          );
        }
      }
    }
    return {
      nodeId: config.nodeId,
      host: config.advertisedHost,
      port: config.advertisedPort,
      topics,
      ...(cluster === undefined
        ? {}
        : { brokers: clusterBrokers(cluster), controllerId: cluster.controllerId() }),
      ...(request.includeClusterAuthorizedOperations
        ? {
            clusterAuthorizedOperations: requestAuthorizedOperations(
              context,
              AclResourceType.CLUSTER,
              CLUSTER_RESOURCE_NAME,
            ),
          }
        : {}),
    };
  },
  encode(writer, metadata, version) {
    response.encode(writer, toWire(metadata, version), version);
  },
};
