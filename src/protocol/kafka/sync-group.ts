import type { SyncGroupRequest, SyncGroupResult } from '../../groups/group-coordinator-api.js';
import { ApiKey, type KafkaApi } from './api.js';

/**
 * SyncGroup (key 14), versions 0–1. Grammar (non-flexible):
 *   Request:  group_id STRING, generation_id INT32, member_id STRING,
 *             assignments [member_id STRING, assignment BYTES]
 *   Response: throttle_time_ms INT32 (v1+), error_code INT16, assignment BYTES
 * Followers' requests wait until the leader's arrives with the assignments.
 */
export const syncGroup: KafkaApi<SyncGroupRequest, SyncGroupResult> = {
  apiKey: ApiKey.SYNC_GROUP,
  name: 'SyncGroup',
  minVersion: 0,
  maxVersion: 1,
  decode(reader) {
    return {
      groupId: reader.string(),
      generationId: reader.int32(),
      memberId: reader.string(),
      assignments: reader.array((r) => ({ memberId: r.string(), assignment: r.bytesField().slice() })),
    };
  },
  handle(request, context) {
    return context.deps.groups.syncGroup(request);
  },
  encode(writer, response, version) {
    if (version >= 1) writer.int32(0);
    writer.int16(response.errorCode).bytesField(response.assignment);
  },
};
