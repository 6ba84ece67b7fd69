import { KafkaErrorCode } from '../../common/kafka-error-code.js';
import type { MemberRef } from '../../groups/group-coordinator-api.js';
import { AclOperation, AclResourceType } from '../../security/acl.js';
import { ApiKey, describedVersions, type KafkaApi } from './api.js';
import { field, type MessageDescription } from './message/description.js';
import { messageCodec } from './message/message-codec.js';
import { requestAllowed } from './request-authorization.js';

/**
 * Heartbeat (key 12), versions 0–4 (flexible from 4). The smallest described
 * API: a model for adding one (see message/description.ts).
 * group_instance_id (v3+): a static member's heartbeat from a fenced-off
 * instance is answered FENCED_INSTANCE_ID (docs/groups.md).
 */
export const heartbeatRequestDescription: MessageDescription = {
  name: 'HeartbeatRequest',
  validVersions: '0-4',
  flexibleVersions: '4+',
  fields: [
    field('groupId', 'string', '0+'),
    field('generationId', 'int32', '0+'),
    field('memberId', 'string', '0+'),
    field('groupInstanceId', 'string', '3+', { nullableVersions: '3+', default: null }),
  ],
};

export const heartbeatResponseDescription: MessageDescription = {
  name: 'HeartbeatResponse',
  validVersions: '0-4',
  flexibleVersions: '4+',
  fields: [field('throttleTimeMs', 'int32', '1+'), field('errorCode', 'int16', '0+')],
};

export interface HeartbeatRequest extends MemberRef {
  groupInstanceId: string | null;
}

export interface HeartbeatResponse {
  errorCode: number;
}

const request = messageCodec<HeartbeatRequest>(heartbeatRequestDescription);
const response = messageCodec<HeartbeatResponse>(heartbeatResponseDescription);

export const heartbeat: KafkaApi<HeartbeatRequest, HeartbeatResponse> = {
  apiKey: ApiKey.HEARTBEAT,
  name: 'Heartbeat',
  ...describedVersions(request, response),
  decode: request.decode,
  async handle(request, context) {
    const { groupId, generationId, memberId, groupInstanceId } = request;
    if (!requestAllowed(context, AclOperation.READ, AclResourceType.GROUP, groupId, 'Heartbeat')) {
      return { errorCode: KafkaErrorCode.GROUP_AUTHORIZATION_FAILED };
    }
    return {
      errorCode: await context.deps.groups.heartbeat({ groupId, generationId, memberId, groupInstanceId }),
    };
  },
  encode: response.encode,
};
