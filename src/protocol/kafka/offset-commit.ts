import type { OffsetCommitRequest, OffsetCommitResult } from '../../groups/group-coordinator-api.js';
import { ApiKey, type KafkaApi, NOT_FLEXIBLE } from './api.js';
import { namesTooManyPartitions, REQUEST_LIMIT_ERROR } from './request-limits.js';

/**
 * OffsetCommit (key 8), versions 1–2. Grammar (non-flexible):
 *   Request v1: group_id STRING, generation_id INT32, member_id STRING,
 *               topics [name STRING, partitions [partition_index INT32, committed_offset INT64,
 *                 commit_timestamp INT64, committed_metadata NULLABLE_STRING]]
 *   Request v2: group_id STRING, generation_id INT32, member_id STRING, retention_time_ms INT64,
 *               topics [name STRING, partitions [partition_index INT32, committed_offset INT64,
 *                 committed_metadata NULLABLE_STRING]]
 *   Response:   topics [name STRING, partitions [partition_index INT32, error_code INT16]]
 * Commit timestamps and retention times are accepted and ignored: committed
 * offsets are kept until overwritten.
 */
export const offsetCommit: KafkaApi<OffsetCommitRequest, OffsetCommitResult> = {
  apiKey: ApiKey.OFFSET_COMMIT,
  name: 'OffsetCommit',
  minVersion: 1,
  maxVersion: 2,
  firstFlexibleVersion: NOT_FLEXIBLE,
  decode(reader, version) {
    const groupId = reader.string();
    const generationId = reader.int32();
    const memberId = reader.string();
    if (version >= 2) reader.int64(); // retention_time_ms
    const topics = reader.array((r) => ({
      topic: r.string(),
      partitions: r.array((p) => {
        const partition = p.int32();
        const offset = p.int64();
        if (version === 1) p.int64(); // commit_timestamp
        return { partition, offset, metadata: p.nullableString() };
      }),
    }));
    return { groupId, generationId, memberId, topics };
  },
  async handle(request, context) {
    if (namesTooManyPartitions(request.topics, context)) {
      return {
        topics: request.topics.map((topic) => ({
          topic: topic.topic,
          partitions: topic.partitions.map((p) => ({
            partition: p.partition,
            errorCode: REQUEST_LIMIT_ERROR,
          })),
        })),
      };
    }
    return context.deps.groups.commitOffsets(request);
  },
  encode(writer, response) {
    writer.array(response.topics, (w, topic) => {
      w.string(topic.topic);
      w.array(topic.partitions, (pw, p) => pw.int32(p.partition).int16(p.errorCode));
    });
  },
};
