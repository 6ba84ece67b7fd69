import { KafkaErrorCode } from '../../common/kafka-error-code.js';
import type { OffsetFetchRequest, OffsetFetchResult } from '../../groups/group-coordinator-api.js';
import { AclOperation, AclResourceType } from '../../security/acl.js';
import { ApiKey, describedVersions, type KafkaApi, type KafkaRequestContext } from './api.js';
import { field, type MessageDescription, structs } from './message/description.js';
import { messageCodec } from './message/message-codec.js';
import { requestAllowed } from './request-authorization.js';
import { namesTooManyPartitions, REQUEST_LIMIT_ERROR } from './request-limits.js';

/**
 * OffsetFetch (key 9), versions 1–8 (flexible from 6). v1 names the
 * partitions; v2+ may send a null topic list for every partition the group
 * has committed; v8 asks for several groups in one request, each answered
 * with its own error code. A partition with nothing committed answers offset
 * -1 and no error. require_stable (v7+, KIP-447): a partition whose offset an
 * open transaction is committing (TxnOffsetCommit) answers
 * UNSTABLE_OFFSET_COMMIT, which the client retries; without it the last
 * committed offset is answered. Leader epochs are -1 (unknown).
 */
const topicsFields = (versions: string) =>
  structs('topics', versions, [field('topic', 'string', '0+'), field('partitions', '[]int32', '0+')], {
    nullableVersions: versions === '0-7' ? '2-7' : '8+',
  });

const partitionResponseFields = (epochVersions: string) => [
  field('partition', 'int32', '0+'),
  field('offset', 'int64', '0+'),
  field('committedLeaderEpoch', 'int32', epochVersions, { default: -1 }),
  field('metadata', 'string', '0+', { nullableVersions: '0+' }),
  field('errorCode', 'int16', '0+'),
];

export const offsetFetchRequestDescription: MessageDescription = {
  name: 'OffsetFetchRequest',
  validVersions: '1-8',
  flexibleVersions: '6+',
  fields: [
    field('groupId', 'string', '0-7'),
    topicsFields('0-7'),
    structs('groups', '8+', [field('groupId', 'string', '8+'), topicsFields('8+')]),
    field('requireStable', 'bool', '7+'),
  ],
};

export const offsetFetchResponseDescription: MessageDescription = {
  name: 'OffsetFetchResponse',
  validVersions: '1-8',
  flexibleVersions: '6+',
  fields: [
    field('throttleTimeMs', 'int32', '3+'),
    structs('topics', '0-7', [
      field('topic', 'string', '0+'),
      structs('partitions', '0+', partitionResponseFields('5-7')),
    ]),
    field('errorCode', 'int16', '2-7'),
    structs('groups', '8+', [
      field('groupId', 'string', '8+'),
      structs('topics', '8+', [
        field('topic', 'string', '8+'),
        structs('partitions', '8+', partitionResponseFields('8+')),
      ]),
      field('errorCode', 'int16', '8+'),
    ]),
  ],
};

export interface OffsetFetchRequestData extends OffsetFetchRequest {
  /** v8+: the groups asked for, each with its topics (null: every partition committed). */
  groups: OffsetFetchRequest[];
}

export interface OffsetFetchResponseData extends OffsetFetchResult {
  groups: (OffsetFetchResult & { groupId: string })[];
}

const request = messageCodec<OffsetFetchRequestData>(offsetFetchRequestDescription);
const response = messageCodec<OffsetFetchResponseData>(offsetFetchResponseDescription);

async function fetchGroup(
  request: OffsetFetchRequest,
  context: KafkaRequestContext,
): Promise<OffsetFetchResult> {
  if (request.topics !== null && namesTooManyPartitions(request.topics, context)) {
    return {
      errorCode: REQUEST_LIMIT_ERROR,
      topics: request.topics.map((topic) => ({
        topic: topic.topic,
        partitions: topic.partitions.map((partition) => ({
          partition,
          offset: -1,
          metadata: null,
          errorCode: REQUEST_LIMIT_ERROR,
        })),
      })),
    };
  }
  if (
    !requestAllowed(context, AclOperation.DESCRIBE, AclResourceType.GROUP, request.groupId, 'OffsetFetch')
  ) {
    return { errorCode: KafkaErrorCode.GROUP_AUTHORIZATION_FAILED, topics: [] };
  }
  return context.deps.groups.fetchOffsets(request);
}

export const offsetFetch: KafkaApi<OffsetFetchRequestData, OffsetFetchResponseData> = {
  apiKey: ApiKey.OFFSET_FETCH,
  name: 'OffsetFetch',
  ...describedVersions(request, response),
  decode: request.decode,
  async handle(request, context) {
    if (context.apiVersion < 8) return { ...(await fetchGroup(request, context)), groups: [] };
    const groups = [];
    for (const group of request.groups)
      groups.push({
        groupId: group.groupId,
        ...(await fetchGroup({ ...group, requireStable: request.requireStable === true }, context)),
      });
    return { errorCode: KafkaErrorCode.NONE, topics: [], groups };
  },
  encode: response.encode,
};
