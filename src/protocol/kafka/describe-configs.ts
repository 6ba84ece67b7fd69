import { KafkaErrorCode } from '../../common/kafka-error-code.js';
import { describeTopicConfig } from '../../common/topic-config-table.js';
import { ApiKey, describedVersions, type KafkaApi } from './api.js';
import { field, type MessageDescription, structs } from './message/description.js';
import { messageCodec } from './message/message-codec.js';
import { namesTooManyTopics, REQUEST_LIMIT_ERROR } from './request-limits.js';

/**
 * DescribeConfigs (key 32), version 0 served. Topics (type 2) report their
 * settings under Kafka's names; the broker (type 4) reports a few facts.
 * Other resource types are not known here. The descriptions below cover
 * versions 0–4 (synonyms and sources from v1, types and documentation from
 * v3, flexible from v4) so that serving them is a matter of the handler;
 * only v0 is advertised until it fills synonyms, sources and documentation.
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

const request = messageCodec<{ resources: DescribeConfigsResource[] }>(describeConfigsRequestDescription);
const response = messageCodec<{ results: DescribeConfigsResult[] }>(describeConfigsResponseDescription);

const RESOURCE_TOPIC = 2;
const RESOURCE_BROKER = 4;

export interface DescribeConfigsResult {
  errorCode: number;
  errorMessage: string | null;
  resourceType: number;
  resourceName: string;
  configs: { name: string; value: string; readOnly: boolean; isDefault?: boolean }[];
}

export const describeConfigs: KafkaApi<DescribeConfigsResource[], DescribeConfigsResult[]> = {
  apiKey: ApiKey.DESCRIBE_CONFIGS,
  name: 'DescribeConfigs',
  ...describedVersions(request, response),
  maxVersion: 0,
  decode: (reader, version) => request.decode(reader, version).resources,
  async handle(resources, context) {
    const { engine, config } = context.deps;
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
      let configs: DescribeConfigsResult['configs'];
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
        configs = describeTopicConfig(topic.config, config.topicDefaults).map((entry) => ({
          name: entry.name,
          value: entry.value,
          readOnly: entry.readOnly,
          isDefault: entry.source === 'DEFAULT_CONFIG',
        }));
      } else if (resource.resourceType === RESOURCE_BROKER) {
        configs = [
          { name: 'broker.id', value: String(config.nodeId), readOnly: true },
          { name: 'num.partitions', value: String(config.defaultPartitions), readOnly: true },
          { name: 'auto.create.topics.enable', value: String(config.autoCreateTopics), readOnly: true },
          { name: 'message.max.bytes', value: String(config.topicDefaults.maxMessageBytes), readOnly: true },
        ];
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
