import type { ClusterMetadata } from '../../cluster/cluster-metadata.js';
import { defaultReplicationFactor, type TopicConfig } from '../../common/broker-config.js';
import { ConfigError, PyralogError } from '../../common/errors.js';
import { KafkaErrorCode } from '../../common/kafka-error-code.js';
import { describeTopicConfig } from '../../common/topic-config-table.js';
import { AclOperation, AclResourceType, CLUSTER_RESOURCE_NAME } from '../../security/acl.js';
import { ApiKey, describedVersions, type KafkaApi, type KafkaRequestContext } from './api.js';
import { field, type MessageDescription, structs, tagged } from './message/description.js';
import { messageCodec } from './message/message-codec.js';
import { auditAdminChange, requestAllowed, requestMayDescribe } from './request-authorization.js';
import { namesTooManyTopics, REQUEST_LIMIT_ERROR } from './request-limits.js';
import { topicConfigFromKafka } from './topic-config-keys.js';
import { topicUuid } from './topic-id.js';

/**
 * CreateTopics (key 19), versions 0–7 (flexible from 5). One broker:
 * replication factor must be 1 or -1 (v4+: the broker's default, 1); in
 * cluster mode any factor up to the live brokers (-1: --default-replication-factor,
 * 3 unless set), created in etcd; -1
 * partitions means the broker's default; manual assignments are not
 * supported. v5+ answers the topic's partition count, replication factor
 * and every config with its source; v7+ its topic id (topic-id.ts).
 */
export const createTopicsRequestDescription: MessageDescription = {
  name: 'CreateTopicsRequest',
  validVersions: '0-7',
  flexibleVersions: '5+',
  fields: [
    structs('topics', '0+', [
      field('name', 'string', '0+'),
      field('numPartitions', 'int32', '0+'),
      field('replicationFactor', 'int16', '0+'),
      structs('assignments', '0+', [
        field('partitionIndex', 'int32', '0+'),
        field('brokerIds', '[]int32', '0+'),
      ]),
      structs('configs', '0+', [
        field('name', 'string', '0+'),
        field('value', 'string', '0+', { nullableVersions: '0+' }),
      ]),
    ]),
    field('timeoutMs', 'int32', '0+'),
    field('validateOnly', 'bool', '1+'),
  ],
};

export const createTopicsResponseDescription: MessageDescription = {
  name: 'CreateTopicsResponse',
  validVersions: '0-7',
  flexibleVersions: '5+',
  fields: [
    field('throttleTimeMs', 'int32', '2+'),
    structs('topics', '0+', [
      field('name', 'string', '0+'),
      field('topicId', 'uuid', '7+'),
      field('errorCode', 'int16', '0+'),
      field('errorMessage', 'string', '1+', { nullableVersions: '0+', default: null }),
      tagged('topicConfigErrorCode', 'int16', '5+', 0),
      field('numPartitions', 'int32', '5+', { default: -1 }),
      field('replicationFactor', 'int16', '5+', { default: -1 }),
      structs(
        'configs',
        '5+',
        [
          field('name', 'string', '5+'),
          field('value', 'string', '5+', { nullableVersions: '5+' }),
          field('readOnly', 'bool', '5+'),
          field('configSource', 'int8', '5+', { default: -1 }),
          field('isSensitive', 'bool', '5+'),
        ],
        { nullableVersions: '5+', default: null },
      ),
    ]),
  ],
};

export interface CreateTopicsRequest {
  topics: {
    name: string;
    numPartitions: number;
    replicationFactor: number;
    assignments: unknown[];
    configs: { name: string; value: string | null }[];
  }[];
  validateOnly: boolean;
}

export interface CreatedTopicConfig {
  name: string;
  value: string | null;
  readOnly: boolean;
  configSource: number;
  isSensitive: boolean;
}

export interface CreatedTopic {
  name: string;
  errorCode: number;
  errorMessage: string | null;
  topicId?: Uint8Array;
  numPartitions?: number;
  replicationFactor?: number;
  configs?: CreatedTopicConfig[] | null;
}

export interface CreateTopicsResponse {
  topics: CreatedTopic[];
}

/** Kafka's DescribeConfigs config_source values used here. */
const CONFIG_SOURCE_TOPIC = 1;
const CONFIG_SOURCE_DEFAULT = 5;

function configsOf(topicConfig: TopicConfig, defaults: TopicConfig): CreatedTopicConfig[] {
  return describeTopicConfig(topicConfig, defaults).map((entry) => ({
    name: entry.name,
    value: entry.value,
    readOnly: entry.readOnly,
    configSource: entry.source === 'DEFAULT_CONFIG' ? CONFIG_SOURCE_DEFAULT : CONFIG_SOURCE_TOPIC,
    isSensitive: false,
  }));
}

const request = messageCodec<CreateTopicsRequest>(createTopicsRequestDescription);
const response = messageCodec<CreateTopicsResponse>(createTopicsResponseDescription);

export const createTopics: KafkaApi<CreateTopicsRequest, CreateTopicsResponse> = {
  apiKey: ApiKey.CREATE_TOPICS,
  name: 'CreateTopics',
  ...describedVersions(request, response),
  decode: request.decode,

  async handle(request, context) {
    const { engine, config } = context.deps;
    const results = [];
    if (namesTooManyTopics(request.topics.length, context)) {
      const errorMessage = `at most ${config.maxTopicsPerRequest} topics per request`;
      return {
        topics: request.topics.map((topic) => ({
          name: topic.name,
          errorCode: REQUEST_LIMIT_ERROR,
          errorMessage,
        })),
      };
    }
    // Create on the cluster allows every topic; otherwise Create on the topic itself (Kafka's rule).
    const clusterCreate = requestMayDescribe(
      context,
      AclOperation.CREATE,
      AclResourceType.CLUSTER,
      CLUSTER_RESOURCE_NAME,
    );
    const mayCreate = (name: string) =>
      clusterCreate ||
      requestAllowed(context, AclOperation.CREATE, AclResourceType.TOPIC, name, 'CreateTopics');
    for (const topic of request.topics) {
      const fail = (errorCode: number, errorMessage: string) => ({
        name: topic.name,
        errorCode,
        errorMessage,
      });
      if (!mayCreate(topic.name)) {
        results.push(
          fail(KafkaErrorCode.TOPIC_AUTHORIZATION_FAILED, 'no Create permission on the cluster or topic'),
        );
        continue;
      }
      if (
        context.deps.cluster === undefined &&
        topic.replicationFactor !== -1 &&
        topic.replicationFactor !== 1
      ) {
        results.push(
          fail(KafkaErrorCode.INVALID_REPLICATION_FACTOR, 'this broker keeps one replica of each partition'),
        );
        continue;
      }
      if (topic.assignments.length > 0) {
        results.push(fail(KafkaErrorCode.INVALID_REQUEST, 'manual replica assignment is not supported'));
        continue;
      }
      const partitions = topic.numPartitions === -1 ? config.defaultPartitions : topic.numPartitions;
      if (partitions < 1) {
        results.push(
          fail(KafkaErrorCode.INVALID_PARTITIONS, `partition count must be at least 1, got ${partitions}`),
        );
        continue;
      }
      let topicConfig: ReturnType<typeof topicConfigFromKafka>;
      try {
        topicConfig = topicConfigFromKafka(topic.configs);
      } catch (error) {
        results.push(
          fail(KafkaErrorCode.INVALID_CONFIG, error instanceof ConfigError ? error.message : String(error)),
        );
        continue;
      }
      const cluster = context.deps.cluster;
      if (cluster !== undefined) {
        results.push(await createInCluster(context, cluster, topic, partitions, request.validateOnly));
        continue;
      }
      if (request.validateOnly) {
        const exists = engine.describeTopic(topic.name) !== undefined;
        results.push(
          exists
            ? fail(KafkaErrorCode.TOPIC_ALREADY_EXISTS, 'topic exists')
            : {
                name: topic.name,
                errorCode: KafkaErrorCode.NONE,
                errorMessage: null,
                numPartitions: partitions,
                replicationFactor: 1,
                configs: configsOf({ ...config.topicDefaults, ...topicConfig }, config.topicDefaults),
              },
        );
        continue;
      }
      const errorCode = await engine.createTopic(topic.name, partitions, topicConfig);
      if (errorCode === KafkaErrorCode.NONE)
        auditAdminChange(context, 'create topic', { topic: topic.name, partitions });
      const created = errorCode === KafkaErrorCode.NONE ? engine.describeTopic(topic.name) : undefined;
      results.push(
        created === undefined
          ? fail(errorCode || KafkaErrorCode.UNKNOWN_SERVER_ERROR, describeCreateError(errorCode))
          : {
              name: topic.name,
              errorCode,
              errorMessage: null,
              topicId: topicUuid(created.topicId),
              numPartitions: created.partitionCount,
              replicationFactor: 1,
              configs: configsOf(created.config, config.topicDefaults),
            },
      );
    }
    return { topics: results };
  },
  encode: response.encode,
};

/**
 * Cluster mode: the topic is created in etcd (docs/cluster.md, Topic creation), with its replicas placed over
 * the live brokers; each replica's broker then creates its local partitions when it sees the topic.
 */
async function createInCluster(
  context: KafkaRequestContext,
  cluster: ClusterMetadata,
  topic: CreateTopicsRequest['topics'][number],
  partitionCount: number,
  validateOnly: boolean,
): Promise<CreatedTopic> {
  const { config } = context.deps;
  const replicationFactor =
    topic.replicationFactor === -1 ? defaultReplicationFactor(config, true) : topic.replicationFactor;
  const settings: Record<string, string> = {};
  for (const entry of topic.configs) if (entry.value !== null) settings[entry.name] = entry.value;
  const fail = (errorCode: number, errorMessage: string): CreatedTopic => ({
    name: topic.name,
    errorCode,
    errorMessage,
  });
  if (validateOnly) {
    if (cluster.topic(topic.name) !== undefined)
      return fail(KafkaErrorCode.TOPIC_ALREADY_EXISTS, 'topic exists');
    if (replicationFactor < 1 || replicationFactor > cluster.liveBrokerEndpoints().length) {
      return fail(
        KafkaErrorCode.INVALID_REPLICATION_FACTOR,
        `replication factor ${replicationFactor} exceeds the live brokers`,
      );
    }
    return {
      name: topic.name,
      errorCode: KafkaErrorCode.NONE,
      errorMessage: null,
      numPartitions: partitionCount,
      replicationFactor,
    };
  }
  try {
    const created = await cluster.createTopic({
      name: topic.name,
      partitionCount,
      replicationFactor,
      config: settings,
    });
    auditAdminChange(context, 'create topic', {
      topic: topic.name,
      partitions: partitionCount,
      replicationFactor,
    });
    return {
      name: topic.name,
      errorCode: KafkaErrorCode.NONE,
      errorMessage: null,
      topicId: topicUuid(created.topicId),
      numPartitions: created.partitionCount,
      replicationFactor: created.replicationFactor,
      configs: configsOf(
        { ...config.topicDefaults, ...topicConfigFromKafka(topic.configs) },
        config.topicDefaults,
      ),
    };
  } catch (error) {
    if (error instanceof PyralogError) return fail(error.kafkaCode, error.message);
    // etcd unreachable or without quorum: retriable for the client.
    return fail(KafkaErrorCode.REQUEST_TIMED_OUT, `topic not created: ${(error as Error).message}`);
  }
}

function describeCreateError(code: number): string {
  switch (code) {
    case KafkaErrorCode.TOPIC_ALREADY_EXISTS:
      return 'topic already exists';
    case KafkaErrorCode.INVALID_TOPIC_EXCEPTION:
      return 'invalid topic name';
    case KafkaErrorCode.INVALID_CONFIG:
      return 'invalid topic config';
    default:
      return 'topic not created';
  }
}
