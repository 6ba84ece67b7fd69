import { type BrokerConfig, DEFAULT_TOPIC_CONFIG, type TopicConfig } from '../../common/broker-config.js';
import { KafkaErrorCode } from '../../common/kafka-error-code.js';
import { describeTopicConfig, type TopicConfigType } from '../../common/topic-config-table.js';
import { AclOperation } from '../../security/acl.js';
import { ApiKey, describedVersions, type KafkaApi } from './api.js';
import { field, type MessageDescription, structs } from './message/description.js';
import { messageCodec } from './message/message-codec.js';
import { configResourceAllowed } from './request-authorization.js';
import { namesTooManyTopics, REQUEST_LIMIT_ERROR } from './request-limits.js';

/**
 * DescribeConfigs (key 32), versions 0–4 (flexible from 4). Topics (type 2)
 * report every standard setting under Kafka's names (the topic config table),
 * the broker (type 4) a few facts, read-only. Other resource types:
 * INVALID_REQUEST.
 *
 * Sources (v1+): a topic value that differs from the broker's default for
 * topics is TOPIC_CONFIG (1); otherwise STATIC_BROKER_CONFIG (4) when the
 * broker was started with a topic default other than Kafka's, else
 * DEFAULT_CONFIG (5); broker facts are STATIC_BROKER_CONFIG. v0's is_default
 * is true for DEFAULT_CONFIG and STATIC_BROKER_CONFIG alike (not set on the topic).
 * Synonyms (v1+, when asked for): the topic's own value (if set) and then the
 * broker's default, both under the topic setting's name (Pyralog has no
 * separate broker-level names such as log.retention.ms). Types (v3+) from the
 * table; documentation (v3+) only when include_documentation is set.
 */
export const describeConfigsRequestDescription: MessageDescription = {
  name: 'DescribeConfigsRequest',
  validVersions: '0-4',
  flexibleVersions: '4+',
  fields: [
    structs('resources', '0+', [
      field('resourceType', 'int8', '0+'),
      field('resourceName', 'string', '0+'),
      field('keys', '[]string', '0+', { nullableVersions: '0+' }),
    ]),
    field('includeSynonyms', 'bool', '1+'),
    field('includeDocumentation', 'bool', '3+'),
  ],
};

export const describeConfigsResponseDescription: MessageDescription = {
  name: 'DescribeConfigsResponse',
  validVersions: '0-4',
  flexibleVersions: '4+',
  fields: [
    field('throttleTimeMs', 'int32', '0+'),
    structs('results', '0+', [
      field('errorCode', 'int16', '0+'),
      field('errorMessage', 'string', '0+', { nullableVersions: '0+' }),
      field('resourceType', 'int8', '0+'),
      field('resourceName', 'string', '0+'),
      structs('configs', '0+', [
        field('name', 'string', '0+'),
        field('value', 'string', '0+', { nullableVersions: '0+' }),
        field('readOnly', 'bool', '0+'),
        field('isDefault', 'bool', '0'),
        field('configSource', 'int8', '1+', { default: -1 }),
        field('isSensitive', 'bool', '0+'),
        structs('synonyms', '1+', [
          field('name', 'string', '1+'),
          field('value', 'string', '1+', { nullableVersions: '1+' }),
          field('source', 'int8', '1+'),
        ]),
        field('configType', 'int8', '3+'),
        field('documentation', 'string', '3+', { nullableVersions: '3+', default: null }),
      ]),
    ]),
  ],
};

type DescribeConfigsResource = { resourceType: number; resourceName: string; keys: string[] | null };

export interface DescribeConfigsRequest {
  resources: DescribeConfigsResource[];
  includeSynonyms: boolean;
  includeDocumentation: boolean;
}

const request = messageCodec<DescribeConfigsRequest>(describeConfigsRequestDescription);
const response = messageCodec<{ results: DescribeConfigsResult[] }>(describeConfigsResponseDescription);

const RESOURCE_TOPIC = 2;
const RESOURCE_BROKER = 4;

/** Kafka's ConfigSource numbers. */
export const ConfigSource = { TOPIC_CONFIG: 1, STATIC_BROKER_CONFIG: 4, DEFAULT_CONFIG: 5 } as const;

/** Kafka's ConfigType numbers (v3+), by the table's type names. */
const CONFIG_TYPE: Readonly<Record<TopicConfigType, number>> = {
  boolean: 1,
  string: 2,
  int: 3,
  long: 5,
  double: 6,
  list: 7,
};

export interface DescribedConfigEntry {
  name: string;
  value: string | null;
  readOnly: boolean;
  isDefault?: boolean;
  configSource?: number;
  isSensitive?: boolean;
  synonyms?: { name: string; value: string | null; source: number }[];
  configType?: number;
  documentation?: string | null;
}

export interface DescribeConfigsResult {
  errorCode: number;
  errorMessage: string | null;
  resourceType: number;
  resourceName: string;
  configs: DescribedConfigEntry[];
}

/** Kafka's own defaults for topics, formatted, to tell a broker-set default from a built-in one. */
const BUILT_IN_DEFAULTS = new Map(
  describeTopicConfig(DEFAULT_TOPIC_CONFIG, DEFAULT_TOPIC_CONFIG).map((entry) => [entry.name, entry.value]),
);

function topicEntries(
  topicConfig: TopicConfig,
  defaults: TopicConfig,
  includeSynonyms: boolean,
  includeDocumentation: boolean,
): DescribedConfigEntry[] {
  return describeTopicConfig(topicConfig, defaults).map((entry) => {
    const defaultSource =
      BUILT_IN_DEFAULTS.get(entry.name) === entry.defaultValue
        ? ConfigSource.DEFAULT_CONFIG
        : ConfigSource.STATIC_BROKER_CONFIG;
    const setOnTopic = entry.source === 'TOPIC_CONFIG';
    const synonyms: DescribedConfigEntry['synonyms'] = [];
    if (includeSynonyms) {
      if (setOnTopic)
        synonyms.push({ name: entry.name, value: entry.value, source: ConfigSource.TOPIC_CONFIG });
      synonyms.push({ name: entry.name, value: entry.defaultValue, source: defaultSource });
    }
    return {
      name: entry.name,
      value: entry.sensitive ? null : entry.value,
      readOnly: entry.readOnly,
      isDefault: !setOnTopic,
      configSource: setOnTopic ? ConfigSource.TOPIC_CONFIG : defaultSource,
      isSensitive: entry.sensitive,
      synonyms,
      configType: CONFIG_TYPE[entry.type],
      documentation: includeDocumentation ? entry.doc : null,
    };
  });
}

function brokerEntries(config: BrokerConfig, includeDocumentation: boolean): DescribedConfigEntry[] {
  const fact = (name: string, value: string, configType: number, doc: string): DescribedConfigEntry => ({
    name,
    value,
    readOnly: true,
    isDefault: false,
    configSource: ConfigSource.STATIC_BROKER_CONFIG,
    isSensitive: false,
    synonyms: [],
    configType,
    documentation: includeDocumentation ? doc : null,
  });
  return [
    fact('broker.id', String(config.nodeId), CONFIG_TYPE.int, "This broker's node id (--node-id)."),
    fact(
      'num.partitions',
      String(config.defaultPartitions),
      CONFIG_TYPE.int,
      'Partitions of a topic created without a count (--default-partitions).',
    ),
    fact(
      'auto.create.topics.enable',
      String(config.autoCreateTopics),
      CONFIG_TYPE.boolean,
      'Whether Metadata and Produce create unknown topics (--auto-create-topics).',
    ),
    fact(
      'message.max.bytes',
      String(config.topicDefaults.maxMessageBytes),
      CONFIG_TYPE.int,
      'Largest record batch a topic takes by default (max.message.bytes of new topics).',
    ),
    fact(
      'log.cleaner.io.max.bytes.per.second',
      // Kafka's default, unlimited, is Double.MAX_VALUE; Pyralog's 0 means the same.
      config.logCleanerIoBytesPerSecond > 0
        ? String(config.logCleanerIoBytesPerSecond)
        : '1.7976931348623157E308',
      CONFIG_TYPE.double,
      "Read plus write bytes per second of each shard's log cleaner (--log-cleaner-io-bytes-per-second).",
    ),
  ];
}

export const describeConfigs: KafkaApi<DescribeConfigsRequest, DescribeConfigsResult[]> = {
  apiKey: ApiKey.DESCRIBE_CONFIGS,
  name: 'DescribeConfigs',
  ...describedVersions(request, response),
  decode: request.decode,
  async handle(request, context) {
    const { engine, config } = context.deps;
    const { resources } = request;
    // v0 has no include_synonyms field and answers none; v1+ answer them only when asked.
    const includeSynonyms = context.apiVersion >= 1 && request.includeSynonyms;
    if (namesTooManyTopics(resources.length, context)) {
      return resources.map((resource) => ({
        resourceType: resource.resourceType,
        resourceName: resource.resourceName,
        errorCode: REQUEST_LIMIT_ERROR,
        errorMessage: `at most ${config.maxTopicsPerRequest} resources per request`,
        configs: [],
      }));
    }
    return resources.map((resource) => {
      const base = { resourceType: resource.resourceType, resourceName: resource.resourceName };
      if (
        !configResourceAllowed(
          context,
          AclOperation.DESCRIBE_CONFIGS,
          resource.resourceType,
          resource.resourceName,
          'DescribeConfigs',
        )
      ) {
        return {
          ...base,
          errorCode:
            resource.resourceType === RESOURCE_TOPIC
              ? KafkaErrorCode.TOPIC_AUTHORIZATION_FAILED
              : KafkaErrorCode.CLUSTER_AUTHORIZATION_FAILED,
          errorMessage: null,
          configs: [],
        };
      }
      let configs: DescribedConfigEntry[];
      if (resource.resourceType === RESOURCE_TOPIC) {
        const topic = engine.describeTopic(resource.resourceName);
        if (topic === undefined) {
          return {
            ...base,
            errorCode: KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
            errorMessage: 'unknown topic',
            configs: [],
          };
        }
        configs = topicEntries(
          topic.config,
          config.topicDefaults,
          includeSynonyms,
          request.includeDocumentation,
        );
      } else if (resource.resourceType === RESOURCE_BROKER) {
        if (resource.resourceName !== '' && resource.resourceName !== String(config.nodeId)) {
          return {
            ...base,
            errorCode: KafkaErrorCode.INVALID_REQUEST,
            errorMessage: 'not this broker',
            configs: [],
          };
        }
        configs = brokerEntries(config, request.includeDocumentation);
      } else {
        return {
          ...base,
          errorCode: KafkaErrorCode.INVALID_REQUEST,
          errorMessage: 'unsupported resource type',
          configs: [],
        };
      }
      const keys = resource.keys;
      return {
        ...base,
        errorCode: KafkaErrorCode.NONE,
        errorMessage: null,
        configs: keys === null ? configs : configs.filter((entry) => keys.includes(entry.name)),
      };
    });
  },
  encode(writer, results, version) {
    response.encode(writer, { results }, version);
  },
};
