import { KafkaErrorCode } from '../../common/kafka-error-code.js';
import { AclOperation, AclResourceType } from '../../security/acl.js';
import { ApiKey, describedVersions, type KafkaApi } from './api.js';
import { field, type MessageDescription, structs } from './message/description.js';
import { messageCodec } from './message/message-codec.js';
import { auditAdminChange, requestAllowed } from './request-authorization.js';
import { namesTooManyTopics, REQUEST_LIMIT_ERROR } from './request-limits.js';

/**
 * DeleteGroups (key 42), versions 0–2 (flexible from 2). Each group is
 * deleted by the coordinator with its committed offsets (tombstones written
 * durably first): NON_EMPTY_GROUP while members are joined,
 * GROUP_ID_NOT_FOUND for a group it does not know. A group named twice is
 * deleted once and answered for each mention.
 */
export const deleteGroupsRequestDescription: MessageDescription = {
  name: 'DeleteGroupsRequest',
  validVersions: '0-2',
  flexibleVersions: '2+',
  fields: [field('groupsNames', '[]string', '0+')],
};

export const deleteGroupsResponseDescription: MessageDescription = {
  name: 'DeleteGroupsResponse',
  validVersions: '0-2',
  flexibleVersions: '2+',
  fields: [
    field('throttleTimeMs', 'int32', '0+'),
    structs('results', '0+', [field('groupId', 'string', '0+'), field('errorCode', 'int16', '0+')]),
  ],
};

export interface DeleteGroupsRequest {
  groupsNames: string[];
}

export interface DeleteGroupsResponse {
  results: { groupId: string; errorCode: number }[];
}

const request = messageCodec<DeleteGroupsRequest>(deleteGroupsRequestDescription);
const response = messageCodec<DeleteGroupsResponse>(deleteGroupsResponseDescription);

export const deleteGroups: KafkaApi<DeleteGroupsRequest, DeleteGroupsResponse> = {
  apiKey: ApiKey.DELETE_GROUPS,
  name: 'DeleteGroups',
  ...describedVersions(request, response),
  decode: request.decode,
  async handle(request, context) {
    const names = request.groupsNames;
    if (namesTooManyTopics(names.length, context)) {
      return { results: names.map((groupId) => ({ groupId, errorCode: REQUEST_LIMIT_ERROR })) };
    }
    const codes = new Map<string, number>();
    for (const groupId of names) {
      if (codes.has(groupId)) continue;
      if (!requestAllowed(context, AclOperation.DELETE, AclResourceType.GROUP, groupId, 'DeleteGroups')) {
        codes.set(groupId, KafkaErrorCode.GROUP_AUTHORIZATION_FAILED);
        continue;
      }
      const code = await context.deps.groups.deleteGroup(groupId);
      if (code === KafkaErrorCode.NONE) auditAdminChange(context, 'delete group', { group: groupId });
      codes.set(groupId, code);
    }
    return { results: names.map((groupId) => ({ groupId, errorCode: codes.get(groupId) ?? 0 })) };
  },
  encode: response.encode,
};
