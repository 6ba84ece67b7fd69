import { ConfigError } from '../../common/errors.js';
import { KafkaErrorCode } from '../../common/kafka-error-code.js';
import { ApiKey, type KafkaApi, NOT_FLEXIBLE } from './api.js';
import { namesTooManyTopics, REQUEST_LIMIT_ERROR } from './request-limits.js';
import { topicConfigFromKafka } from './topic-config-keys.js';

/**
 * CreateTopics (key 19), versions 0–3. Grammar (non-flexible):
 *   Request:  topics [name STRING, num_partitions INT32, replication_factor INT16,
 *               assignments [partition_index INT32, broker_ids [INT32]],
 *               configs [name STRING, value NULLABLE_STRING]],
 *             timeout_ms INT32, validate_only BOOLEAN (v1+)
 *   Response: throttle_time_ms INT32 (v2+),
 *             topics [name STRING, error_code INT16, error_message NULLABLE_STRING (v1+)]
 * One broker: replication factor must be 1 or -1 (default); -1 partitions
 * means the broker's default; manual assignments are not supported.
 */
export interface CreateTopicsRequest {
  topics: {
    name: string;
    numPartitions: number;
    replicationFactor: number;
    assignmentCount: number;
    configs: { name: string; value: string | null }[];
  }[];
  validateOnly: boolean;
}

export interface CreateTopicsResponse {
  topics: { name: string; errorCode: number; errorMessage: string | null }[];
}

export const createTopics: KafkaApi<CreateTopicsRequest, CreateTopicsResponse> = {
  apiKey: ApiKey.CREATE_TOPICS,
  name: 'CreateTopics',
  minVersion: 0,
  maxVersion: 3,
  firstFlexibleVersion: NOT_FLEXIBLE,
  decode(reader, version) {
    const topics = reader.array((r) => ({
      name: r.string(),
      numPartitions: r.int32(),
      replicationFactor: r.int16(),
      assignmentCount: r.array((a) => {
        a.int32();
        a.array((b) => b.int32());
        return null;
      }).length,
      configs: r.array((c) => ({ name: c.string(), value: c.nullableString() })),
    }));
    reader.int32(); // timeout_ms
    return { topics, validateOnly: version >= 1 ? reader.boolean() : false };
  },
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
    for (const topic of request.topics) {
      const fail = (errorCode: number, errorMessage: string) => ({
        name: topic.name,
        errorCode,
        errorMessage,
      });
      if (topic.replicationFactor !== -1 && topic.replicationFactor !== 1) {
        results.push(
          fail(KafkaErrorCode.INVALID_REPLICATION_FACTOR, 'this broker keeps one replica of each partition'),
        );
        continue;
      }
      if (topic.assignmentCount > 0) {
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
      if (request.validateOnly) {
        const exists = engine.describeTopic(topic.name) !== undefined;
        results.push(
          exists
            ? fail(KafkaErrorCode.TOPIC_ALREADY_EXISTS, 'topic exists')
            : { name: topic.name, errorCode: 0, errorMessage: null },
        );
        continue;
      }
      const errorCode = await engine.createTopic(topic.name, partitions, topicConfig);
      results.push({
        name: topic.name,
        errorCode,
        errorMessage: errorCode === KafkaErrorCode.NONE ? null : describeCreateError(errorCode),
      });
    }
    return { topics: results };
  },
  encode(writer, response, version) {
    if (version >= 2) writer.int32(0);
    writer.array(response.topics, (w, topic) => {
      w.string(topic.name).int16(topic.errorCode);
      if (version >= 1) w.nullableString(topic.errorMessage);
    });
  },
};

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
