import { KafkaErrorCode } from '../../common/kafka-error-code.js';
import { AclOperation, AclResourceType } from '../../security/acl.js';
import { deleteClusterTopic } from '../cluster-topic-deletion.js';
import { ApiKey, describedVersions, type KafkaApi } from './api.js';
import { field, type MessageDescription, structs } from './message/description.js';
import { messageCodec } from './message/message-codec.js';
import { auditAdminChange, requestAllowed } from './request-authorization.js';
import { namesTooManyTopics, REQUEST_LIMIT_ERROR } from './request-limits.js';
import { isZeroUuid, topicByUuid, topicUuid } from './topic-id.js';

/**
 * DeleteTopics (key 20), versions 0–6 (flexible from 4). v0–5 name topics;
 * v6 names each by name or by topic id (topic-id.ts), and is answered with
 * both; an id no topic has is UNKNOWN_TOPIC_ID. v5+ carries an error message.
 */
export const deleteTopicsRequestDescription: MessageDescription = {
  name: 'DeleteTopicsRequest',
  validVersions: '0-6',
  flexibleVersions: '4+',
  fields: [
    structs('topics', '6+', [
      field('name', 'string', '6+', { nullableVersions: '6+', default: null }),
      field('topicId', 'uuid', '6+'),
    ]),
    field('names', '[]string', '0-5'),
    field('timeoutMs', 'int32', '0+'),
  ],
};

export const deleteTopicsResponseDescription: MessageDescription = {
  name: 'DeleteTopicsResponse',
  validVersions: '0-6',
  flexibleVersions: '4+',
  fields: [
    field('throttleTimeMs', 'int32', '1+'),
    structs('topics', '0+', [
      field('name', 'string', '0+', { nullableVersions: '6+' }),
      field('topicId', 'uuid', '6+'),
      field('errorCode', 'int16', '0+'),
      field('errorMessage', 'string', '5+', { nullableVersions: '5+', default: null }),
    ]),
  ],
};

export interface DeleteTopicsRequest {
  /** v0–5. */
  names: string[];
  /** v6+. */
  topics: { name: string | null; topicId: Uint8Array }[];
}

export interface DeletedTopic {
  name: string | null;
  topicId?: Uint8Array;
  errorCode: number;
  errorMessage?: string | null;
}

export interface DeleteTopicsResponse {
  topics: DeletedTopic[];
}

const request = messageCodec<DeleteTopicsRequest>(deleteTopicsRequestDescription);
const response = messageCodec<DeleteTopicsResponse>(deleteTopicsResponseDescription);

export const deleteTopics: KafkaApi<DeleteTopicsRequest, DeleteTopicsResponse> = {
  apiKey: ApiKey.DELETE_TOPICS,
  name: 'DeleteTopics',
  ...describedVersions(request, response),
  decode: request.decode,
  async handle(request, context) {
    const engine = context.deps.engine;
    const asked =
      context.apiVersion >= 6 ? request.topics : request.names.map((name) => ({ name, topicId: null }));
    if (namesTooManyTopics(asked.length, context)) {
      return {
        topics: asked.map((topic) => ({ name: topic.name, errorCode: REQUEST_LIMIT_ERROR })),
      };
    }
    const topics: DeletedTopic[] = [];
    for (const topic of asked) {
      let name = topic.name;
      if (name === null) {
        const byId =
          topic.topicId === null || isZeroUuid(topic.topicId)
            ? undefined
            : topicByUuid(engine, topic.topicId);
        if (byId === undefined) {
          topics.push({
            name: null,
            topicId: topic.topicId ?? undefined,
            errorCode: KafkaErrorCode.UNKNOWN_TOPIC_ID,
            errorMessage: 'no topic has this id',
          });
          continue;
        }
        name = byId.name;
      }
      if (!requestAllowed(context, AclOperation.DELETE, AclResourceType.TOPIC, name, 'DeleteTopics')) {
        topics.push({ name, errorCode: KafkaErrorCode.TOPIC_AUTHORIZATION_FAILED });
        continue;
      }
      const clusterTopic = context.deps.cluster?.topic(name);
      if (clusterTopic !== undefined) {
        const deleted = await deleteClusterTopic(context.deps.cluster!, name);
        if (deleted.errorCode === KafkaErrorCode.NONE)
          auditAdminChange(context, 'delete topic', { topic: name });
        topics.push({ name, topicId: topicUuid(clusterTopic.topicId), ...deleted });
        continue;
      }
      if (context.deps.cluster !== undefined) {
        // Not in etcd: deleting on this broker alone would not be seen by the others.
        topics.push({
          name,
          errorCode: KafkaErrorCode.POLICY_VIOLATION,
          errorMessage: 'only topics in etcd are deleted in cluster mode; this one is local to one broker',
        });
        continue;
      }
      const described = engine.describeTopic(name);
      const errorCode = await engine.deleteTopic(name);
      if (errorCode === KafkaErrorCode.NONE) auditAdminChange(context, 'delete topic', { topic: name });
      topics.push({
        name,
        ...(described === undefined ? {} : { topicId: topicUuid(described.topicId) }),
        errorCode,
      });
    }
    return { topics };
  },
  encode: response.encode,
};
