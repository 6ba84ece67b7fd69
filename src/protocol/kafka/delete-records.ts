import { KafkaErrorCode } from '../../common/kafka-error-code.js';
import { AclOperation, AclResourceType } from '../../security/acl.js';
import { ApiKey, describedVersions, type KafkaApi } from './api.js';
import { field, type MessageDescription, structs } from './message/description.js';
import { messageCodec } from './message/message-codec.js';
import { requestAllowed } from './request-authorization.js';
import { namesTooManyPartitions, REQUEST_LIMIT_ERROR } from './request-limits.js';

/**
 * DeleteRecords (key 21), versions 0–2 (flexible from 2). Moves each named
 * partition's log start offset up to the given offset (-1: the high
 * watermark) through the owning shard, which records it durably before it
 * takes effect (src/storage/log-start-offset.ts); answers the new log start
 * offset as low_watermark. An offset past the high watermark:
 * OFFSET_OUT_OF_RANGE; an unknown topic or partition:
 * UNKNOWN_TOPIC_OR_PARTITION; an internal topic (`__consumer_offsets`):
 * INVALID_TOPIC_EXCEPTION, as Kafka refuses. Partitions are asked of their shards at once.
 */
export const deleteRecordsRequestDescription: MessageDescription = {
  name: 'DeleteRecordsRequest',
  validVersions: '0-2',
  flexibleVersions: '2+',
  fields: [
    structs('topics', '0+', [
      field('name', 'string', '0+'),
      structs('partitions', '0+', [field('partitionIndex', 'int32', '0+'), field('offset', 'int64', '0+')]),
    ]),
    field('timeoutMs', 'int32', '0+'),
  ],
};

export const deleteRecordsResponseDescription: MessageDescription = {
  name: 'DeleteRecordsResponse',
  validVersions: '0-2',
  flexibleVersions: '2+',
  fields: [
    field('throttleTimeMs', 'int32', '0+'),
    structs('topics', '0+', [
      field('name', 'string', '0+'),
      structs('partitions', '0+', [
        field('partitionIndex', 'int32', '0+'),
        field('lowWatermark', 'int64', '0+'),
        field('errorCode', 'int16', '0+'),
      ]),
    ]),
  ],
};

export interface DeleteRecordsRequest {
  topics: { name: string; partitions: { partitionIndex: number; offset: number }[] }[];
  timeoutMs: number;
}

export interface DeleteRecordsResponse {
  topics: {
    name: string;
    partitions: { partitionIndex: number; lowWatermark: number; errorCode: number }[];
  }[];
}

const request = messageCodec<DeleteRecordsRequest>(deleteRecordsRequestDescription);
const response = messageCodec<DeleteRecordsResponse>(deleteRecordsResponseDescription);

export const deleteRecords: KafkaApi<DeleteRecordsRequest, DeleteRecordsResponse> = {
  apiKey: ApiKey.DELETE_RECORDS,
  name: 'DeleteRecords',
  ...describedVersions(request, response),
  decode: request.decode,
  async handle(request, context) {
    const { engine } = context.deps;
    if (namesTooManyPartitions(request.topics, context)) {
      return {
        topics: request.topics.map((topic) => ({
          name: topic.name,
          partitions: topic.partitions.map((p) => ({
            partitionIndex: p.partitionIndex,
            lowWatermark: -1,
            errorCode: REQUEST_LIMIT_ERROR,
          })),
        })),
      };
    }
    const topics = await Promise.all(
      request.topics.map(async (topic) => {
        const allowed = requestAllowed(
          context,
          AclOperation.DELETE,
          AclResourceType.TOPIC,
          topic.name,
          'DeleteRecords',
        );
        return {
          name: topic.name,
          partitions: await Promise.all(
            topic.partitions.map(async ({ partitionIndex, offset }) => {
              if (!allowed) {
                return {
                  partitionIndex,
                  lowWatermark: -1,
                  errorCode: KafkaErrorCode.TOPIC_AUTHORIZATION_FAILED,
                };
              }
              // The broker's own state (committed offsets) is read back from its start: never cut, as in Kafka.
              if (topic.name.startsWith('__')) {
                return {
                  partitionIndex,
                  lowWatermark: -1,
                  errorCode: KafkaErrorCode.INVALID_TOPIC_EXCEPTION,
                };
              }
              if (offset < -1) {
                return { partitionIndex, lowWatermark: -1, errorCode: KafkaErrorCode.OFFSET_OUT_OF_RANGE };
              }
              const outcome = await engine.deleteRecords(topic.name, partitionIndex, offset);
              return { partitionIndex, lowWatermark: outcome.lowWatermark, errorCode: outcome.errorCode };
            }),
          ),
        };
      }),
    );
    return { topics };
  },
  encode: response.encode,
};
