import { KafkaErrorCode } from '../../common/kafka-error-code.js';
import { describeTopicConfig } from '../../common/topic-config-table.js';
import { ApiKey, type KafkaApi, NOT_FLEXIBLE } from './api.js';
import { namesTooManyTopics, REQUEST_LIMIT_ERROR } from './request-limits.js';

/**
 * DescribeConfigs (key 32), version 0 — minimal, enough for common admin tools.
 * Grammar (non-flexible):
 *   Request:  resources [resource_type INT8, resource_name STRING,
 *               configuration_keys NULLABLE [STRING]]
 *   Response: throttle_time_ms INT32,
 *             results [error_code INT16, error_message NULLABLE_STRING, resource_type INT8,
 *               resource_name STRING, configs [name STRING, value NULLABLE_STRING,
 *               read_only BOOLEAN, is_default BOOLEAN, is_sensitive BOOLEAN]]
 * Topics (type 2) report their settings under Kafka's names; the broker
 * (type 4) reports a few facts. Other resource types are not known here.
 */
const RESOURCE_TOPIC = 2;
const RESOURCE_BROKER = 4;

export interface DescribeConfigsResult {
  errorCode: number;
  errorMessage: string | null;
  resourceType: number;
  resourceName: string;
  configs: { name: string; value: string; readOnly: boolean; isDefault?: boolean }[];
}

export const describeConfigs: KafkaApi<
  { resourceType: number; resourceName: string; keys: string[] | null }[],
  DescribeConfigsResult[]
> = {
  apiKey: ApiKey.DESCRIBE_CONFIGS,
  name: 'DescribeConfigs',
  minVersion: 0,
  maxVersion: 0,
  firstFlexibleVersion: NOT_FLEXIBLE,
  decode(reader) {
    return reader.array((r) => ({
      resourceType: r.int8(),
      resourceName: r.string(),
      keys: r.nullableArray((k) => k.string()),
    }));
  },
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
  encode(writer, results) {
    writer.int32(0);
    writer.array(results, (w, result) => {
      w.int16(result.errorCode)
        .nullableString(result.errorMessage)
        .int8(result.resourceType)
        .string(result.resourceName);
      w.array(result.configs, (cw, entry) =>
        cw
          .string(entry.name)
          .nullableString(entry.value)
          .boolean(entry.readOnly)
          .boolean(entry.isDefault === true)
          .boolean(false),
      );
    });
  },
};
