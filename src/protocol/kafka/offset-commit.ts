import { KafkaErrorCode } from '../../common/kafka-error-code.js';
import type { OffsetCommitRequest, OffsetCommitResult } from '../../groups/group-coordinator-api.js';
import { AclOperation, AclResourceType } from '../../security/acl.js';
import { ApiKey, describedVersions, type KafkaApi } from './api.js';
import { field, type MessageDescription, structs } from './message/description.js';
import { messageCodec } from './message/message-codec.js';
import { requestAllowed } from './request-authorization.js';
import { namesTooManyPartitions, REQUEST_LIMIT_ERROR } from './request-limits.js';

/**
 * OffsetCommit (key 8), versions 1–8 (flexible from 8). Commit timestamps
 * (v1), retention times (v2–4) and leader epochs (v6+) are accepted and
 * ignored: committed offsets are kept until overwritten. A commit naming a
 * static member's group_instance_id (v7+) with another member id is
 * answered FENCED_INSTANCE_ID. A
 * partition of a topic that does not exist, or beyond its partition count,
 * is answered UNKNOWN_TOPIC_OR_PARTITION and nothing is committed for it, as
 * Kafka does. v0 (offsets kept in ZooKeeper) is not served.
 */
/** Every partition of a commit answered with one refusal. */
function refusedCommit(request: OffsetCommitRequest, errorCode: KafkaErrorCode) {
  return {
    topics: request.topics.map((topic) => ({
      topic: topic.topic,
      partitions: topic.partitions.map((p) => ({ partition: p.partition, errorCode })),
    })),
  };
}

export const offsetCommitRequestDescription: MessageDescription = {
  name: 'OffsetCommitRequest',
  validVersions: '1-8',
  flexibleVersions: '8+',
  fields: [
    field('groupId', 'string', '0+'),
    field('generationId', 'int32', '1+', { default: -1 }),
    field('memberId', 'string', '1+'),
    field('groupInstanceId', 'string', '7+', { nullableVersions: '7+', default: null }),
    field('retentionTimeMs', 'int64', '2-4', { default: -1 }),
    structs('topics', '0+', [
      field('topic', 'string', '0+'),
      structs('partitions', '0+', [
        field('partition', 'int32', '0+'),
        field('offset', 'int64', '0+'),
        field('committedLeaderEpoch', 'int32', '6+', { default: -1 }),
        field('commitTimestamp', 'int64', '1', { default: -1 }),
        field('metadata', 'string', '0+', { nullableVersions: '0+' }),
      ]),
    ]),
  ],
};

export const offsetCommitResponseDescription: MessageDescription = {
  name: 'OffsetCommitResponse',
  validVersions: '1-8',
  flexibleVersions: '8+',
  fields: [
    field('throttleTimeMs', 'int32', '3+'),
    structs('topics', '0+', [
      field('topic', 'string', '0+'),
      structs('partitions', '0+', [field('partition', 'int32', '0+'), field('errorCode', 'int16', '0+')]),
    ]),
  ],
};

const request = messageCodec<OffsetCommitRequest>(offsetCommitRequestDescription);
const response = messageCodec<OffsetCommitResult>(offsetCommitResponseDescription);

export const offsetCommit: KafkaApi<OffsetCommitRequest, OffsetCommitResult> = {
  apiKey: ApiKey.OFFSET_COMMIT,
  name: 'OffsetCommit',
  ...describedVersions(request, response),
  decode: request.decode,
  async handle(request, context) {
    if (namesTooManyPartitions(request.topics, context)) return refusedCommit(request, REQUEST_LIMIT_ERROR);
    if (!requestAllowed(context, AclOperation.READ, AclResourceType.GROUP, request.groupId, 'OffsetCommit')) {
      return refusedCommit(request, KafkaErrorCode.GROUP_AUTHORIZATION_FAILED);
    }
    const engine = context.deps.engine;
    const exists = (topic: string, partition: number) => {
      const description = engine.describeTopic(topic);
      return description !== undefined && partition >= 0 && partition < description.partitionCount;
    };
    const missing = request.topics.some((topic) =>
      topic.partitions.some((p) => !exists(topic.topic, p.partition)),
    );
    if (!missing) return context.deps.groups.commitOffsets(request);
    // Commit what exists; answer the rest UNKNOWN_TOPIC_OR_PARTITION, in the order asked.
    const known = request.topics
      .map((topic) => ({
        ...topic,
        partitions: topic.partitions.filter((p) => exists(topic.topic, p.partition)),
      }))
      .filter((topic) => topic.partitions.length > 0);
    const committed =
      known.length === 0
        ? { topics: [] }
        : await context.deps.groups.commitOffsets({ ...request, topics: known });
    const codes = new Map<string, KafkaErrorCode>();
    for (const topic of committed.topics) {
      for (const p of topic.partitions) codes.set(`${p.partition}:${topic.topic}`, p.errorCode);
    }
    return {
      topics: request.topics.map((topic) => ({
        topic: topic.topic,
        partitions: topic.partitions.map((p) => ({
          partition: p.partition,
          errorCode: codes.get(`${p.partition}:${topic.topic}`) ?? KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        })),
      })),
    };
  },
  encode: response.encode,
};
