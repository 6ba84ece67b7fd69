import { KafkaErrorCode } from '../../common/kafka-error-code.js';
import type { GroupDescription } from '../../groups/group-coordinator-api.js';
import { AclOperation, AclResourceType } from '../../security/acl.js';
import { ApiKey, describedVersions, type KafkaApi } from './api.js';
import { field, type MessageDescription, structs } from './message/description.js';
import { messageCodec } from './message/message-codec.js';
import { requestAllowed, requestAuthorizedOperations } from './request-authorization.js';
import { namesTooManyTopics, REQUEST_LIMIT_ERROR } from './request-limits.js';

/**
 * DescribeGroups (key 15), versions 0–5 (flexible from 5). Authorized
 * operations (v3+): -2147483648 ("not requested") unless asked for, then the
 * group operations (Read, Describe, Delete) the principal's ACLs allow on each
 * group it may describe. group_instance_id (v4+): a static member's, null for
 * a dynamic one.
 */
export const describeGroupsRequestDescription: MessageDescription = {
  name: 'DescribeGroupsRequest',
  validVersions: '0-5',
  flexibleVersions: '5+',
  fields: [field('groups', '[]string', '0+'), field('includeAuthorizedOperations', 'bool', '3+')],
};

export const describeGroupsResponseDescription: MessageDescription = {
  name: 'DescribeGroupsResponse',
  validVersions: '0-5',
  flexibleVersions: '5+',
  fields: [
    field('throttleTimeMs', 'int32', '1+'),
    structs('groups', '0+', [
      field('errorCode', 'int16', '0+'),
      field('groupId', 'string', '0+'),
      field('state', 'string', '0+'),
      field('protocolType', 'string', '0+'),
      field('protocolName', 'string', '0+'),
      structs('members', '0+', [
        field('memberId', 'string', '0+'),
        field('groupInstanceId', 'string', '4+', { nullableVersions: '4+', default: null }),
        field('clientId', 'string', '0+'),
        field('clientHost', 'string', '0+'),
        field('metadata', 'bytes', '0+'),
        field('assignment', 'bytes', '0+'),
      ]),
      field('authorizedOperations', 'int32', '3+', { default: -2147483648 }),
    ]),
  ],
};

export interface DescribeGroupsRequest {
  groups: string[];
  includeAuthorizedOperations: boolean;
}

export interface DescribeGroupsResponse {
  groups: (GroupDescription & { authorizedOperations?: number })[];
}

const request = messageCodec<DescribeGroupsRequest>(describeGroupsRequestDescription);
const response = messageCodec<DescribeGroupsResponse>(describeGroupsResponseDescription);

export const describeGroups: KafkaApi<DescribeGroupsRequest, DescribeGroupsResponse> = {
  apiKey: ApiKey.DESCRIBE_GROUPS,
  name: 'DescribeGroups',
  ...describedVersions(request, response),
  decode: request.decode,
  async handle(request, context) {
    const groupIds = request.groups;
    if (namesTooManyTopics(groupIds.length, context)) {
      return {
        groups: groupIds.map((groupId) => ({
          errorCode: REQUEST_LIMIT_ERROR,
          groupId,
          state: '',
          protocolType: '',
          protocolName: '',
          members: [],
        })),
      };
    }
    // A group listed twice is described once: its members' metadata would otherwise be copied per mention.
    const groups = [...new Set(groupIds)].map((groupId) =>
      requestAllowed(context, AclOperation.DESCRIBE, AclResourceType.GROUP, groupId, 'DescribeGroups')
        ? context.deps.groups.describeGroup(groupId)
        : {
            errorCode: KafkaErrorCode.GROUP_AUTHORIZATION_FAILED,
            groupId,
            state: '',
            protocolType: '',
            protocolName: '',
            members: [],
          },
    );
    if (!request.includeAuthorizedOperations) return { groups };
    return {
      groups: groups.map((group) =>
        group.errorCode === KafkaErrorCode.GROUP_AUTHORIZATION_FAILED
          ? group
          : {
              ...group,
              authorizedOperations: requestAuthorizedOperations(
                context,
                AclResourceType.GROUP,
                group.groupId,
              ),
            },
      ),
    };
  },
  encode: response.encode,
};
