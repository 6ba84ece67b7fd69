import type { GroupDescription } from '../../groups/group-coordinator-api.js';
import { ApiKey, type KafkaApi } from './api.js';
import { namesTooManyTopics, REQUEST_LIMIT_ERROR } from './request-limits.js';

/**
 * DescribeGroups (key 15), version 0. Grammar (non-flexible):
 *   Request:  groups [STRING]
 *   Response: groups [error_code INT16, group_id STRING, group_state STRING, protocol_type STRING,
 *               protocol_data STRING, members [member_id STRING, client_id STRING,
 *               client_host STRING, member_metadata BYTES, member_assignment BYTES]]
 */
export const describeGroups: KafkaApi<string[], GroupDescription[]> = {
  apiKey: ApiKey.DESCRIBE_GROUPS,
  name: 'DescribeGroups',
  minVersion: 0,
  maxVersion: 0,
  decode(reader) {
    return reader.array((r) => r.string());
  },
  async handle(groupIds, context) {
    if (namesTooManyTopics(groupIds.length, context)) {
      return groupIds.map((groupId) => ({
        errorCode: REQUEST_LIMIT_ERROR,
        groupId,
        state: '',
        protocolType: '',
        protocolName: '',
        members: [],
      }));
    }
    // A group listed twice is described once: its members' metadata would otherwise be copied per mention.
    return [...new Set(groupIds)].map((groupId) => context.deps.groups.describeGroup(groupId));
  },
  encode(writer, groups) {
    writer.array(groups, (w, group) => {
      w.int16(group.errorCode).string(group.groupId).string(group.state).string(group.protocolType);
      w.string(group.protocolName);
      w.array(group.members, (mw, member) =>
        mw
          .string(member.memberId)
          .string(member.clientId)
          .string(member.clientHost)
          .bytesField(member.metadata)
          .bytesField(member.assignment),
      );
    });
  },
};
