import type { OffsetFetchRequest, OffsetFetchResult } from '../../groups/group-coordinator-api.js';
import { ApiKey, type KafkaApi, NOT_FLEXIBLE } from './api.js';
import { namesTooManyPartitions, REQUEST_LIMIT_ERROR } from './request-limits.js';

/**
 * OffsetFetch (key 9), version 1. Grammar (non-flexible):
 *   Request:  group_id STRING, topics [name STRING, partition_indexes [INT32]]
 *   Response: topics [name STRING, partitions [partition_index INT32, committed_offset INT64,
 *               metadata NULLABLE_STRING, error_code INT16]]
 * A partition with nothing committed answers offset -1 and no error.
 */
export const offsetFetch: KafkaApi<OffsetFetchRequest, OffsetFetchResult> = {
  apiKey: ApiKey.OFFSET_FETCH,
  name: 'OffsetFetch',
  minVersion: 1,
  maxVersion: 1,
  firstFlexibleVersion: NOT_FLEXIBLE,
  decode(reader) {
    return {
      groupId: reader.string(),
      topics: reader.array((r) => ({ topic: r.string(), partitions: r.array((p) => p.int32()) })),
    };
  },
  async handle(request, context) {
    if (request.topics !== null && namesTooManyPartitions(request.topics, context)) {
      return {
        errorCode: REQUEST_LIMIT_ERROR,
        topics: request.topics.map((topic) => ({
          topic: topic.topic,
          partitions: topic.partitions.map((partition) => ({
            partition,
            offset: -1,
            metadata: null,
            errorCode: REQUEST_LIMIT_ERROR,
          })),
        })),
      };
    }
    return context.deps.groups.fetchOffsets(request);
  },
  encode(writer, response) {
    writer.array(response.topics, (w, topic) => {
      w.string(topic.topic);
      w.array(topic.partitions, (pw, p) =>
        pw.int32(p.partition).int64(p.offset).nullableString(p.metadata).int16(p.errorCode),
      );
    });
  },
};
