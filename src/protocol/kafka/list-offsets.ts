import { ApiKey, type KafkaApi, NOT_FLEXIBLE } from './api.js';
import { namesTooManyPartitions, REQUEST_LIMIT_ERROR } from './request-limits.js';

/**
 * ListOffsets (key 2), versions 1–2. Grammar (non-flexible):
 *   Request:  replica_id INT32, isolation_level INT8 (v2+),
 *             topics [name STRING, partitions [partition_index INT32, timestamp INT64]]
 *   Response: throttle_time_ms INT32 (v2+),
 *             topics [name STRING, partitions [partition_index INT32, error_code INT16,
 *               timestamp INT64, offset INT64]]
 * timestamp -1 asks for the log end offset, -2 for the log start offset, and
 * anything else for the first offset whose timestamp is at or after it (time index).
 */
export interface ListOffsetsRequest {
  topics: { name: string; partitions: { partitionIndex: number; timestampMs: number }[] }[];
}

export interface ListOffsetsResponse {
  topics: {
    name: string;
    partitions: { partitionIndex: number; errorCode: number; timestampMs: number; offset: number }[];
  }[];
}

export const listOffsets: KafkaApi<ListOffsetsRequest, ListOffsetsResponse> = {
  apiKey: ApiKey.LIST_OFFSETS,
  name: 'ListOffsets',
  minVersion: 1,
  maxVersion: 2,
  firstFlexibleVersion: NOT_FLEXIBLE,
  decode(reader, version) {
    reader.int32(); // replica_id
    if (version >= 2) reader.int8(); // isolation_level
    return {
      topics: reader.array((r) => ({
        name: r.string(),
        partitions: r.array((p) => ({ partitionIndex: p.int32(), timestampMs: p.int64() })),
      })),
    };
  },
  async handle(request, context) {
    const engine = context.deps.engine;
    if (namesTooManyPartitions(request.topics, context)) {
      return {
        topics: request.topics.map((topic) => ({
          name: topic.name,
          partitions: topic.partitions.map((partition) => ({
            partitionIndex: partition.partitionIndex,
            errorCode: REQUEST_LIMIT_ERROR,
            timestampMs: -1,
            offset: -1,
          })),
        })),
      };
    }
    return {
      topics: await Promise.all(
        request.topics.map(async (topic) => ({
          name: topic.name,
          partitions: await Promise.all(
            topic.partitions.map(async (partition) => {
              const outcome = await engine.listOffsets(
                topic.name,
                partition.partitionIndex,
                partition.timestampMs,
              );
              return {
                partitionIndex: partition.partitionIndex,
                errorCode: outcome.errorCode,
                timestampMs: outcome.timestampMs,
                offset: outcome.offset,
              };
            }),
          ),
        })),
      ),
    };
  },
  encode(writer, response, version) {
    if (version >= 2) writer.int32(0);
    writer.array(response.topics, (w, topic) => {
      w.string(topic.name);
      w.array(topic.partitions, (pw, p) =>
        pw.int32(p.partitionIndex).int16(p.errorCode).int64(p.timestampMs).int64(p.offset),
      );
    });
  },
};
