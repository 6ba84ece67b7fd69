import { KafkaErrorCode } from '../../common/kafka-error-code.js';
import type { SyncGroupResult } from '../../groups/group-coordinator-api.js';
import { AclOperation, AclResourceType } from '../../security/acl.js';
import { ApiKey, describedVersions, type KafkaApi } from './api.js';
import { field, type MessageDescription, structs } from './message/description.js';
import { messageCodec } from './message/message-codec.js';
import { requestAllowed } from './request-authorization.js';

/**
 * SyncGroup (key 14), versions 0–5 (flexible from 4). Followers' requests
 * wait until the leader's arrives with the assignments. group_instance_id
 * (v3+) is checked against the static member's (FENCED_INSTANCE_ID). v5 sends
 * the protocol type and name; the answer echoes the group's.
 */
export const syncGroupRequestDescription: MessageDescription = {
  name: 'SyncGroupRequest',
  validVersions: '0-5',
  flexibleVersions: '4+',
  fields: [
    field('groupId', 'string', '0+'),
    field('generationId', 'int32', '0+'),
    field('memberId', 'string', '0+'),
    field('groupInstanceId', 'string', '3+', { nullableVersions: '3+', default: null }),
    field('protocolType', 'string', '5+', { nullableVersions: '5+', default: null }),
    field('protocolName', 'string', '5+', { nullableVersions: '5+', default: null }),
    structs('assignments', '0+', [field('memberId', 'string', '0+'), field('assignment', 'bytes', '0+')]),
  ],
};

export const syncGroupResponseDescription: MessageDescription = {
  name: 'SyncGroupResponse',
  validVersions: '0-5',
  flexibleVersions: '4+',
  fields: [
    field('throttleTimeMs', 'int32', '1+'),
    field('errorCode', 'int16', '0+'),
    field('protocolType', 'string', '5+', { nullableVersions: '5+', default: null }),
    field('protocolName', 'string', '5+', { nullableVersions: '5+', default: null }),
    field('assignment', 'bytes', '0+'),
  ],
};

export interface SyncGroupRequestData {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  protocolType: string | null;
  protocolName: string | null;
  assignments: { memberId: string; assignment: Uint8Array }[];
}

export interface SyncGroupResponseData extends SyncGroupResult {
  protocolType: string | null;
  protocolName: string | null;
}

const request = messageCodec<SyncGroupRequestData>(syncGroupRequestDescription);
const response = messageCodec<SyncGroupResponseData>(syncGroupResponseDescription);

export const syncGroup: KafkaApi<SyncGroupRequestData, SyncGroupResponseData> = {
  apiKey: ApiKey.SYNC_GROUP,
  name: 'SyncGroup',
  ...describedVersions(request, response),
  decode: request.decode,
  async handle(request, context) {
    if (!requestAllowed(context, AclOperation.READ, AclResourceType.GROUP, request.groupId, 'SyncGroup')) {
      return {
        errorCode: KafkaErrorCode.GROUP_AUTHORIZATION_FAILED,
        assignment: new Uint8Array(0),
        protocolType: null,
        protocolName: null,
      };
    }
    const groups = context.deps.groups;
    const result = await groups.syncGroup({
      groupId: request.groupId,
      generationId: request.generationId,
      memberId: request.memberId,
      groupInstanceId: request.groupInstanceId,
      // Assignments are handed to other members later: copied out of the frame.
      assignments: request.assignments.map((entry) => ({
        memberId: entry.memberId,
        assignment: entry.assignment.slice(),
      })),
    });
    if (result.errorCode !== KafkaErrorCode.NONE || context.apiVersion < 5) {
      return { ...result, protocolType: null, protocolName: null };
    }
    const group = groups.describeGroup(request.groupId);
    return { ...result, protocolType: group.protocolType, protocolName: group.protocolName };
  },
  encode: response.encode,
};
