import { ApiKey, type KafkaApi } from './api.js';

/**
 * LeaveGroup (key 13), versions 0–1. Grammar (non-flexible):
 *   Request:  group_id STRING, member_id STRING
 *   Response: throttle_time_ms INT32 (v1+), error_code INT16
 */
export const leaveGroup: KafkaApi<{ groupId: string; memberId: string }, number> = {
  apiKey: ApiKey.LEAVE_GROUP,
  name: 'LeaveGroup',
  minVersion: 0,
  maxVersion: 1,
  decode(reader) {
    return { groupId: reader.string(), memberId: reader.string() };
  },
  handle(request, context) {
    return context.deps.groups.leaveGroup(request.groupId, request.memberId);
  },
  encode(writer, errorCode, version) {
    if (version >= 1) writer.int32(0);
    writer.int16(errorCode);
  },
};
