import { KafkaErrorCode } from '../../common/kafka-error-code.js';
import type { JoinGroupResult } from '../../groups/group-coordinator-api.js';
import { AclOperation, AclResourceType } from '../../security/acl.js';
import { ApiKey, describedVersions, type KafkaApi } from './api.js';
import { field, type MessageDescription, structs } from './message/description.js';
import { messageCodec } from './message/message-codec.js';
import { requestAllowed } from './request-authorization.js';

/**
 * JoinGroup (key 11), versions 0–9 (flexible from 6). The coordinator holds
 * the request until the rebalance completes. A group_instance_id (v5+) makes
 * the member static (KIP-345; docs/groups.md). A first join with an empty member id is given its id at
 * once, never MEMBER_ID_REQUIRED (KIP-394 lets the broker choose). v7+
 * answers the group's protocol type; v8's reason is read and not kept; v9's
 * skip_assignment is set for a static leader that rejoined a stable group.
 */
/** JoinGroup versions from which the answer may tell a static leader to skip the assignment (KIP-814). */
const FIRST_SKIP_ASSIGNMENT_VERSION = 9;

export const joinGroupRequestDescription: MessageDescription = {
  name: 'JoinGroupRequest',
  validVersions: '0-9',
  flexibleVersions: '6+',
  fields: [
    field('groupId', 'string', '0+'),
    field('sessionTimeoutMs', 'int32', '0+'),
    field('rebalanceTimeoutMs', 'int32', '1+', { default: -1 }),
    field('memberId', 'string', '0+'),
    field('groupInstanceId', 'string', '5+', { nullableVersions: '5+', default: null }),
    field('protocolType', 'string', '0+'),
    structs('protocols', '0+', [field('name', 'string', '0+'), field('metadata', 'bytes', '0+')]),
    field('reason', 'string', '8+', { nullableVersions: '8+', default: null }),
  ],
};

export const joinGroupResponseDescription: MessageDescription = {
  name: 'JoinGroupResponse',
  validVersions: '0-9',
  flexibleVersions: '6+',
  fields: [
    field('throttleTimeMs', 'int32', '2+'),
    field('errorCode', 'int16', '0+'),
    field('generationId', 'int32', '0+', { default: -1 }),
    field('protocolType', 'string', '7+', { nullableVersions: '7+', default: null }),
    field('protocolName', 'string', '0+', { nullableVersions: '7+' }),
    field('leaderId', 'string', '0+'),
    field('skipAssignment', 'bool', '9+'),
    field('memberId', 'string', '0+'),
    structs('members', '0+', [
      field('memberId', 'string', '0+'),
      field('groupInstanceId', 'string', '5+', { nullableVersions: '5+', default: null }),
      field('metadata', 'bytes', '0+'),
    ]),
  ],
};

export interface JoinGroupRequestData {
  groupId: string;
  sessionTimeoutMs: number;
  /** -1 when the version has none (v0): the session timeout stands in. */
  rebalanceTimeoutMs: number;
  memberId: string;
  groupInstanceId: string | null;
  protocolType: string;
  protocols: { name: string; metadata: Uint8Array }[];
  reason: string | null;
}

export interface JoinGroupResponseData extends JoinGroupResult {
  protocolType: string | null;
}

const request = messageCodec<JoinGroupRequestData>(joinGroupRequestDescription);
const response = messageCodec<JoinGroupResponseData>(joinGroupResponseDescription);

export const joinGroup: KafkaApi<JoinGroupRequestData, JoinGroupResponseData> = {
  apiKey: ApiKey.JOIN_GROUP,
  name: 'JoinGroup',
  ...describedVersions(request, response),
  decode: request.decode,
  async handle(request, context) {
    if (!requestAllowed(context, AclOperation.READ, AclResourceType.GROUP, request.groupId, 'JoinGroup')) {
      return {
        errorCode: KafkaErrorCode.GROUP_AUTHORIZATION_FAILED,
        generationId: -1,
        protocolName: '',
        leaderId: '',
        memberId: request.memberId,
        members: [],
        protocolType: null,
      };
    }
    const result = await context.deps.groups.joinGroup({
      groupId: request.groupId,
      memberId: request.memberId,
      groupInstanceId: request.groupInstanceId,
      canSkipAssignment: context.apiVersion >= FIRST_SKIP_ASSIGNMENT_VERSION,
      sessionTimeoutMs: request.sessionTimeoutMs,
      rebalanceTimeoutMs: context.apiVersion >= 1 ? request.rebalanceTimeoutMs : request.sessionTimeoutMs,
      protocolType: request.protocolType,
      // Metadata is kept past this request (the leader receives it): copied out of the frame.
      protocols: request.protocols.map((protocol) => ({
        name: protocol.name,
        metadata: protocol.metadata.slice(),
      })),
      clientId: context.clientId,
      clientHost: context.clientHost,
    });
    return {
      ...result,
      protocolType: result.errorCode === KafkaErrorCode.NONE ? request.protocolType : null,
    };
  },
  encode: response.encode,
};
