import { KafkaErrorCode } from '../../common/kafka-error-code.js';
import { AclOperation, AclResourceType } from '../../security/acl.js';
import { ApiKey, describedVersions, type KafkaApi } from './api.js';
import { field, type MessageDescription, structs } from './message/description.js';
import { messageCodec } from './message/message-codec.js';
import { requestAllowed } from './request-authorization.js';

/**
 * LeaveGroup (key 13), versions 0–4 (flexible from 4). v0–2 name one member;
 * v3+ a batch of members, each answered on its own (the top-level error is
 * set only when the coordinator itself is unavailable). A static member may
 * be named by its group_instance_id alone (docs/groups.md).
 */
export const leaveGroupRequestDescription: MessageDescription = {
  name: 'LeaveGroupRequest',
  validVersions: '0-4',
  flexibleVersions: '4+',
  fields: [
    field('groupId', 'string', '0+'),
    field('memberId', 'string', '0-2'),
    structs('members', '3+', [
      field('memberId', 'string', '3+'),
      field('groupInstanceId', 'string', '3+', { nullableVersions: '3+', default: null }),
    ]),
  ],
};

export const leaveGroupResponseDescription: MessageDescription = {
  name: 'LeaveGroupResponse',
  validVersions: '0-4',
  flexibleVersions: '4+',
  fields: [
    field('throttleTimeMs', 'int32', '1+'),
    field('errorCode', 'int16', '0+'),
    structs('members', '3+', [
      field('memberId', 'string', '3+'),
      field('groupInstanceId', 'string', '3+', { nullableVersions: '3+' }),
      field('errorCode', 'int16', '3+'),
    ]),
  ],
};

export interface LeaveGroupMember {
  memberId: string;
  groupInstanceId: string | null;
}

export interface LeaveGroupRequest {
  groupId: string;
  /** v0–2 only ('' from v3). */
  memberId: string;
  /** v3+ only ([] before). */
  members: LeaveGroupMember[];
}

export interface LeaveGroupResponse {
  errorCode: number;
  members: (LeaveGroupMember & { errorCode: number })[];
}

const request = messageCodec<LeaveGroupRequest>(leaveGroupRequestDescription);
const response = messageCodec<LeaveGroupResponse>(leaveGroupResponseDescription);

export const leaveGroup: KafkaApi<LeaveGroupRequest, LeaveGroupResponse> = {
  apiKey: ApiKey.LEAVE_GROUP,
  name: 'LeaveGroup',
  ...describedVersions(request, response),
  decode: request.decode,
  async handle(request, context) {
    if (!requestAllowed(context, AclOperation.READ, AclResourceType.GROUP, request.groupId, 'LeaveGroup')) {
      return { errorCode: KafkaErrorCode.GROUP_AUTHORIZATION_FAILED, members: [] };
    }
    const groups = context.deps.groups;
    if (context.apiVersion < 3) {
      return { errorCode: await groups.leaveGroup(request.groupId, request.memberId), members: [] };
    }
    const members = [];
    for (const member of request.members) {
      const errorCode = await groups.leaveGroup(request.groupId, member.memberId, member.groupInstanceId);
      members.push({ ...member, errorCode });
    }
    // A member's own failure (UNKNOWN_MEMBER_ID) is its own; only the coordinator's is the group's.
    const groupLevel = members.some(
      (member) => member.errorCode === KafkaErrorCode.COORDINATOR_NOT_AVAILABLE,
    );
    return {
      errorCode: groupLevel ? KafkaErrorCode.COORDINATOR_NOT_AVAILABLE : KafkaErrorCode.NONE,
      members,
    };
  },
  encode: response.encode,
};
