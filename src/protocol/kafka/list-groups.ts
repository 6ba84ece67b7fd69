import { KafkaErrorCode } from '../../common/kafka-error-code.js';
import { ApiKey, type KafkaApi } from './api.js';

/**
 * ListGroups (key 16), versions 0–1. Grammar (non-flexible):
 *   Request:  (empty)
 *   Response: throttle_time_ms INT32 (v1+), error_code INT16,
 *             groups [group_id STRING, protocol_type STRING]
 */
export const listGroups: KafkaApi<null, { groupId: string; protocolType: string }[]> = {
  apiKey: ApiKey.LIST_GROUPS,
  name: 'ListGroups',
  minVersion: 0,
  maxVersion: 1,
  decode: () => null,
  async handle(_request, context) {
    return context.deps.groups.listGroups();
  },
  encode(writer, groups, version) {
    if (version >= 1) writer.int32(0);
    writer.int16(KafkaErrorCode.NONE);
    writer.array(groups, (w, group) => w.string(group.groupId).string(group.protocolType));
  },
};
