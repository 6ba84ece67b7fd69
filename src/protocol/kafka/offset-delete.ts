import { KafkaErrorCode } from '../../common/kafka-error-code.js';
import type { OffsetDeleteResult } from '../../groups/group-coordinator-api.js';
import { AclOperation, AclResourceType } from '../../security/acl.js';
import { ApiKey, describedVersions, type KafkaApi } from './api.js';
import { field, type MessageDescription, structs } from './message/description.js';
import { messageCodec } from './message/message-codec.js';
import { requestAllowed } from './request-authorization.js';
import { namesTooManyPartitions, REQUEST_LIMIT_ERROR } from './request-limits.js';

/**
 * OffsetDelete (key 47), version 0 (not flexible). Deletes a group's
 * committed offsets of the named partitions. A topic the broker does not
 * have answers UNKNOWN_TOPIC_OR_PARTITION per partition (as Kafka's request
 * handler does); the coordinator refuses partitions of topics a live
 * consumer group subscribes to with GROUP_SUBSCRIBED_TO_TOPIC, a live
 * non-consumer group with NON_EMPTY_GROUP, an unknown group with
 * GROUP_ID_NOT_FOUND.
 */
export const offsetDeleteRequestDescription: MessageDescription = {
  name: 'OffsetDeleteRequest',
  validVersions: '0',
  flexibleVersions: 'none',
  fields: [
    field('groupId', 'string', '0+'),
    structs('topics', '0+', [
      field('name', 'string', '0+'),
      structs('partitions', '0+', [field('partitionIndex', 'int32', '0+')]),
    ]),
  ],
};

export const offsetDeleteResponseDescription: MessageDescription = {
  name: 'OffsetDeleteResponse',
  validVersions: '0',
  flexibleVersions: 'none',
  fields: [
    field('errorCode', 'int16', '0+'),
    field('throttleTimeMs', 'int32', '0+'),
    structs('topics', '0+', [
      field('name', 'string', '0+'),
      structs('partitions', '0+', [
        field('partitionIndex', 'int32', '0+'),
        field('errorCode', 'int16', '0+'),
      ]),
    ]),
  ],
};

export interface OffsetDeleteRequest {
  groupId: string;
  topics: { name: string; partitions: { partitionIndex: number }[] }[];
}

export interface OffsetDeleteResponse {
  errorCode: number;
  topics: { name: string; partitions: { partitionIndex: number; errorCode: number }[] }[];
}

const request = messageCodec<OffsetDeleteRequest>(offsetDeleteRequestDescription);
const response = messageCodec<OffsetDeleteResponse>(offsetDeleteResponseDescription);

function everyPartition(request: OffsetDeleteRequest, errorCode: number): OffsetDeleteResponse['topics'] {
  return request.topics.map((topic) => ({
    name: topic.name,
    partitions: topic.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })),
  }));
}

export const offsetDelete: KafkaApi<OffsetDeleteRequest, OffsetDeleteResponse> = {
  apiKey: ApiKey.OFFSET_DELETE,
  name: 'OffsetDelete',
  ...describedVersions(request, response),
  decode: request.decode,
  async handle(request, context) {
    const { engine, groups } = context.deps;
    if (namesTooManyPartitions(request.topics, context)) {
      return { errorCode: KafkaErrorCode.NONE, topics: everyPartition(request, REQUEST_LIMIT_ERROR) };
    }
    if (
      !requestAllowed(context, AclOperation.DELETE, AclResourceType.GROUP, request.groupId, 'OffsetDelete')
    ) {
      return { errorCode: KafkaErrorCode.GROUP_AUTHORIZATION_FAILED, topics: [] };
    }
    const known = request.topics.filter((topic) => engine.describeTopic(topic.name) !== undefined);
    let result: OffsetDeleteResult = { errorCode: KafkaErrorCode.NONE, topics: [] };
    if (known.length > 0 || request.topics.length === 0) {
      result = await groups.deleteOffsets({
        groupId: request.groupId,
        topics: known.map((topic) => ({
          topic: topic.name,
          partitions: topic.partitions.map((p) => p.partitionIndex),
        })),
      });
    }
    if (result.errorCode !== KafkaErrorCode.NONE) return { errorCode: result.errorCode, topics: [] };
    const byTopic = new Map(result.topics.map((topic) => [topic.topic, topic.partitions]));
    return {
      errorCode: KafkaErrorCode.NONE,
      topics: request.topics.map((topic) => {
        const answered = byTopic.get(topic.name);
        return {
          name: topic.name,
          partitions: topic.partitions.map((p, i) => ({
            partitionIndex: p.partitionIndex,
            errorCode: answered?.[i]?.errorCode ?? KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          })),
        };
      }),
    };
  },
  encode: response.encode,
};
