import type { MemberRef } from '../../groups/group-coordinator-api.js';
import { ApiKey, type KafkaApi } from './api.js';

/**
 * Heartbeat (key 12), versions 0–1. Grammar (non-flexible):
 *   Request:  group_id STRING, generation_id INT32, member_id STRING
 *   Response: throttle_time_ms INT32 (v1+), error_code INT16
 */
export const heartbeat: KafkaApi<MemberRef, number> = {
  apiKey: ApiKey.HEARTBEAT,
  name: 'Heartbeat',
  minVersion: 0,
  maxVersion: 1,
  decode(reader) {
    return { groupId: reader.string(), generationId: reader.int32(), memberId: reader.string() };
  },
  handle(request, context) {
    return context.deps.groups.heartbeat(request);
  },
  encode(writer, errorCode, version) {
    if (version >= 1) writer.int32(0);
    writer.int16(errorCode);
  },
};
