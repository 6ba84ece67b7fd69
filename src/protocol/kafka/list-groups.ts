import { KafkaErrorCode } from '../../common/kafka-error-code.js';
import { AclOperation, AclResourceType, CLUSTER_RESOURCE_NAME } from '../../security/acl.js';
import { ApiKey, describedVersions, type KafkaApi } from './api.js';
import { field, type MessageDescription, structs } from './message/description.js';
import { messageCodec } from './message/message-codec.js';
import { requestMayDescribe } from './request-authorization.js';

/**
 * ListGroups (key 16), versions 0–4 (flexible from 3). v4 adds a filter by
 * state (Kafka's state names; empty = every group) and each group's state.
 */
export const listGroupsRequestDescription: MessageDescription = {
  name: 'ListGroupsRequest',
  validVersions: '0-4',
  flexibleVersions: '3+',
  fields: [field('statesFilter', '[]string', '4+')],
};

export const listGroupsResponseDescription: MessageDescription = {
  name: 'ListGroupsResponse',
  validVersions: '0-4',
  flexibleVersions: '3+',
  fields: [
    field('throttleTimeMs', 'int32', '1+'),
    field('errorCode', 'int16', '0+'),
    structs('groups', '0+', [
      field('groupId', 'string', '0+'),
      field('protocolType', 'string', '0+'),
      field('groupState', 'string', '4+'),
    ]),
  ],
};

export interface ListGroupsRequest {
  statesFilter: string[];
}

export interface ListGroupsResponse {
  errorCode: number;
  groups: { groupId: string; protocolType: string; groupState: string }[];
}

const request = messageCodec<ListGroupsRequest>(listGroupsRequestDescription);
const response = messageCodec<ListGroupsResponse>(listGroupsResponseDescription);

export const listGroups: KafkaApi<ListGroupsRequest, ListGroupsResponse> = {
  apiKey: ApiKey.LIST_GROUPS,
  name: 'ListGroups',
  ...describedVersions(request, response),
  decode: request.decode,
  async handle(request, context) {
    const groups = context.deps.groups;
    const wanted = new Set(request.statesFilter.map((state) => state.toLowerCase()));
    // Describe on the cluster lists every group; otherwise only those the principal may Describe.
    const everyGroup = requestMayDescribe(
      context,
      AclOperation.DESCRIBE,
      AclResourceType.CLUSTER,
      CLUSTER_RESOURCE_NAME,
    );
    const visible = groups
      .listGroups()
      .filter(
        (group) =>
          everyGroup ||
          requestMayDescribe(context, AclOperation.DESCRIBE, AclResourceType.GROUP, group.groupId),
      );
    const listed = visible.map((group) => ({
      ...group,
      groupState: context.apiVersion >= 4 || wanted.size > 0 ? groups.describeGroup(group.groupId).state : '',
    }));
    return {
      errorCode: KafkaErrorCode.NONE,
      // Kafka compares states without regard to case.
      groups:
        wanted.size === 0 ? listed : listed.filter((group) => wanted.has(group.groupState.toLowerCase())),
    };
  },
  encode: response.encode,
};
