import type { ClusterMetadata } from '../../cluster/cluster-metadata.js';
import type { BrokerConfig } from '../../common/broker-config.js';
import { KafkaErrorCode } from '../../common/kafka-error-code.js';
import { OFFSETS_TOPIC, offsetsPartitionFor } from '../../groups/offset-store.js';
import { AclOperation, AclResourceType } from '../../security/acl.js';
import { ensureOffsetsTopic } from '../offsets-topic-creation.js';
import { ApiKey, describedVersions, type KafkaApi } from './api.js';
import { field, type MessageDescription, structs } from './message/description.js';
import { messageCodec } from './message/message-codec.js';
import { requestAllowed } from './request-authorization.js';

/**
 * FindCoordinator (key 10), versions 0–4 (flexible from 3). v0–3 ask for one
 * key and answer one coordinator; v4 asks for several keys at once
 * (coordinator_keys) and answers one coordinator per key. This broker
 * coordinates every group (key_type 0) and every transactional id
 * (key_type 1, when it runs a transaction coordinator). A group is told only
 * to who may Describe it, a transactional id to who may Describe that id.
 * In cluster mode a group's coordinator is the leader of its partition of
 * `__consumer_offsets` in etcd (COORDINATOR_NOT_AVAILABLE, retriable, while
 * that partition has no live leader, or while the topic does not exist yet:
 * the first such question creates it, offsets-topic-creation.ts). A
 * transactional id is still coordinated by the broker asked.
 */
export const findCoordinatorRequestDescription: MessageDescription = {
  name: 'FindCoordinatorRequest',
  validVersions: '0-4',
  flexibleVersions: '3+',
  fields: [
    field('key', 'string', '0-3'),
    field('keyType', 'int8', '1+'),
    field('coordinatorKeys', '[]string', '4+'),
  ],
};

const coordinatorFields = [
  field('nodeId', 'int32', '0-3'),
  field('host', 'string', '0-3'),
  field('port', 'int32', '0-3'),
];

export const findCoordinatorResponseDescription: MessageDescription = {
  name: 'FindCoordinatorResponse',
  validVersions: '0-4',
  flexibleVersions: '3+',
  fields: [
    field('throttleTimeMs', 'int32', '1+'),
    field('errorCode', 'int16', '0-3'),
    field('errorMessage', 'string', '1-3', { nullableVersions: '1-3', default: null }),
    ...coordinatorFields,
    structs('coordinators', '4+', [
      field('key', 'string', '4+'),
      field('nodeId', 'int32', '4+'),
      field('host', 'string', '4+'),
      field('port', 'int32', '4+'),
      field('errorCode', 'int16', '4+'),
      field('errorMessage', 'string', '4+', { nullableVersions: '4+', default: null }),
    ]),
  ],
};

export interface FindCoordinatorRequest {
  /** v0–3 ('' from v4). */
  key: string;
  keyType: number;
  /** v4+ ([] before). */
  coordinatorKeys: string[];
}

export interface Coordinator {
  errorCode: number;
  errorMessage: string | null;
  nodeId: number;
  host: string;
  port: number;
}

export interface FindCoordinatorResponse extends Coordinator {
  coordinators: (Coordinator & { key: string })[];
}

const KeyType = { GROUP: 0, TRANSACTION: 1 } as const;

function coordinatorFor(keyType: number, config: BrokerConfig, transactions: boolean): Coordinator {
  if (keyType !== KeyType.GROUP && !(keyType === KeyType.TRANSACTION && transactions)) {
    return {
      errorCode:
        keyType === KeyType.TRANSACTION
          ? KafkaErrorCode.COORDINATOR_NOT_AVAILABLE
          : KafkaErrorCode.INVALID_REQUEST,
      errorMessage:
        keyType === KeyType.TRANSACTION ? 'transactions are not supported' : `unknown key type ${keyType}`,
      nodeId: -1,
      host: '',
      port: -1,
    };
  }
  return {
    errorCode: KafkaErrorCode.NONE,
    errorMessage: null,
    nodeId: config.nodeId,
    host: config.advertisedHost,
    port: config.advertisedPort,
  };
}

const NO_COORDINATOR = { nodeId: -1, host: '', port: -1 } as const;

/** Cluster mode: the live leader of the group's offsets partition in etcd. */
function clusterCoordinator(cluster: ClusterMetadata, config: BrokerConfig, groupId: string): Coordinator {
  const offsets = cluster.topic(OFFSETS_TOPIC);
  if (offsets === undefined) {
    ensureOffsetsTopic(cluster, config);
    return {
      errorCode: KafkaErrorCode.COORDINATOR_NOT_AVAILABLE,
      errorMessage: `${OFFSETS_TOPIC} is being created`,
      ...NO_COORDINATOR,
    };
  }
  const state = cluster.partition(offsets.topicId, offsetsPartitionFor(groupId, offsets.partitionCount));
  const leader =
    state === undefined || state.leader === -1
      ? undefined
      : cluster.liveBrokerEndpoints().find((b) => b.brokerId === state.leader);
  if (leader === undefined) {
    return {
      errorCode: KafkaErrorCode.COORDINATOR_NOT_AVAILABLE,
      errorMessage: 'the group offsets partition has no leader',
      ...NO_COORDINATOR,
    };
  }
  return {
    errorCode: KafkaErrorCode.NONE,
    errorMessage: null,
    nodeId: leader.brokerId,
    host: leader.host,
    port: leader.port,
  };
}

const request = messageCodec<FindCoordinatorRequest>(findCoordinatorRequestDescription);
const response = messageCodec<FindCoordinatorResponse>(findCoordinatorResponseDescription);

export const findCoordinator: KafkaApi<FindCoordinatorRequest, FindCoordinatorResponse> = {
  apiKey: ApiKey.FIND_COORDINATOR,
  name: 'FindCoordinator',
  ...describedVersions(request, response),
  decode: request.decode,
  async handle(request, context) {
    const coordinator = coordinatorFor(
      request.keyType,
      context.deps.config,
      context.deps.transactions !== undefined,
    );
    const isTransaction = request.keyType === KeyType.TRANSACTION;
    // A group's coordinator is told only to who may Describe the group; a transactional id's
    // only to who may Describe the id.
    const cluster = context.deps.cluster;
    const forKey = (key: string): Coordinator =>
      coordinator.errorCode === KafkaErrorCode.NONE &&
      !requestAllowed(
        context,
        AclOperation.DESCRIBE,
        isTransaction ? AclResourceType.TRANSACTIONAL_ID : AclResourceType.GROUP,
        key,
        'FindCoordinator',
      )
        ? {
            errorCode: isTransaction
              ? KafkaErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
              : KafkaErrorCode.GROUP_AUTHORIZATION_FAILED,
            errorMessage: null,
            nodeId: -1,
            host: '',
            port: -1,
          }
        : coordinator.errorCode === KafkaErrorCode.NONE && cluster !== undefined && !isTransaction
          ? clusterCoordinator(cluster, context.deps.config, key)
          : coordinator;
    return {
      ...(context.apiVersion < 4 ? forKey(request.key) : coordinator),
      coordinators: request.coordinatorKeys.map((key) => ({ key, ...forKey(key) })),
    };
  },
  encode: response.encode,
};
