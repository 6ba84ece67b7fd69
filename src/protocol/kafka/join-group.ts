import type { JoinGroupResult } from '../../groups/group-coordinator-api.js';
import { ApiKey, type KafkaApi } from './api.js';

/**
 * JoinGroup (key 11), versions 0–2. Grammar (non-flexible):
 *   Request:  group_id STRING, session_timeout_ms INT32, rebalance_timeout_ms INT32 (v1+),
 *             member_id STRING, protocol_type STRING,
 *             protocols [name STRING, metadata BYTES]
 *   Response: throttle_time_ms INT32 (v2+), error_code INT16, generation_id INT32,
 *             protocol_name STRING, leader STRING, member_id STRING,
 *             members [member_id STRING, metadata BYTES]
 * The coordinator holds the request until the rebalance completes.
 */
export interface JoinGroupRequestData {
  groupId: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  memberId: string;
  protocolType: string;
  protocols: { name: string; metadata: Uint8Array }[];
}

export const joinGroup: KafkaApi<JoinGroupRequestData, JoinGroupResult> = {
  apiKey: ApiKey.JOIN_GROUP,
  name: 'JoinGroup',
  minVersion: 0,
  maxVersion: 2,
  decode(reader, version) {
    const groupId = reader.string();
    const sessionTimeoutMs = reader.int32();
    const rebalanceTimeoutMs = version >= 1 ? reader.int32() : sessionTimeoutMs;
    const memberId = reader.string();
    const protocolType = reader.string();
    // Metadata is kept past this request (the leader receives it), so copy it out of the frame.
    const protocols = reader.array((r) => ({ name: r.string(), metadata: r.bytesField().slice() }));
    return { groupId, sessionTimeoutMs, rebalanceTimeoutMs, memberId, protocolType, protocols };
  },
  handle(request, context) {
    return context.deps.groups.joinGroup({
      ...request,
      clientId: context.clientId,
      clientHost: context.clientHost,
    });
  },
  encode(writer, response, version) {
    if (version >= 2) writer.int32(0);
    writer.int16(response.errorCode).int32(response.generationId);
    writer.string(response.protocolName).string(response.leaderId).string(response.memberId);
    writer.array(response.members, (w, member) => w.string(member.memberId).bytesField(member.metadata));
  },
};
