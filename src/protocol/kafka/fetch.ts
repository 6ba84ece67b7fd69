import { KafkaErrorCode } from '../../common/kafka-error-code.js';
import type { Offset } from '../../common/offset.js';
import type { FetchPartitionRequest } from '../../engine/engine-api.js';
import { anyBatchInCodec, CompressionCodec } from '../../record/batch-header.js';
import { ApiKey, type KafkaApi, NOT_FLEXIBLE } from './api.js';

/** Fetch versions below this are answered UNSUPPORTED_COMPRESSION_TYPE instead of zstd batches (KIP-110). */
const FIRST_ZSTD_VERSION = 10;

import type { KafkaReader } from './primitives.js';
import { namesTooManyPartitions, REQUEST_LIMIT_ERROR } from './request-limits.js';

/**
 * Fetch (key 1), versions 4–11. Grammar (non-flexible):
 *   Request:  replica_id INT32, max_wait_ms INT32, min_bytes INT32, max_bytes INT32,
 *             isolation_level INT8, session_id INT32 (v7+), session_epoch INT32 (v7+),
 *             topics [topic STRING, partitions [partition INT32,
 *               current_leader_epoch INT32 (v9+), fetch_offset INT64,
 *               log_start_offset INT64 (v5+), partition_max_bytes INT32]],
 *             forgotten_topics_data [topic STRING, partitions [INT32]] (v7+),
 *             rack_id STRING (v11+)
 *   Response: throttle_time_ms INT32, error_code INT16 (v7+), session_id INT32 (v7+),
 *             responses [topic STRING, partitions [partition_index INT32, error_code INT16,
 *               high_watermark INT64, last_stable_offset INT64, log_start_offset INT64 (v5+),
 *               aborted_transactions NULLABLE [producer_id INT64, first_offset INT64],
 *               preferred_read_replica INT32 (v11+), records NULLABLE_BYTES]]
 * No fetch sessions: session id 0 always (a full fetch each time). The
 * long-poll (max_wait_ms, min_bytes) is held by the shards. Records go to the
 * socket as views of what the shards returned, without a copy.
 */
export interface FetchRequestData {
  maxWaitMs: number;
  minBytes: number;
  maxBytes: number;
  topics: {
    topic: string;
    partitions: { partition: number; fetchOffset: number; partitionMaxBytes: number }[];
  }[];
}

export interface FetchPartitionData {
  partition: number;
  errorCode: number;
  highWatermark: number;
  lastStableOffset: number;
  logStartOffset: number;
  records: Uint8Array;
}

export interface FetchResponseData {
  topics: { topic: string; partitions: FetchPartitionData[] }[];
}

export const fetch: KafkaApi<FetchRequestData, FetchResponseData> = {
  apiKey: ApiKey.FETCH,
  name: 'Fetch',
  minVersion: 4,
  maxVersion: 11,
  firstFlexibleVersion: NOT_FLEXIBLE,
  decode(reader, version) {
    reader.int32(); // replica_id: consumers send -1; followers do not exist here
    const maxWaitMs = reader.int32();
    const minBytes = reader.int32();
    const maxBytes = reader.int32();
    reader.int8(); // isolation_level: no transactions, so both levels read the same
    if (version >= 7) {
      reader.int32(); // session_id
      reader.int32(); // session_epoch
    }
    const topics = reader.array((r) => ({
      topic: r.string(),
      partitions: r.array((p) => {
        const partition = p.int32();
        if (version >= 9) p.int32(); // current_leader_epoch
        const fetchOffset = p.int64();
        if (version >= 5) p.int64(); // log_start_offset (followers only)
        return { partition, fetchOffset, partitionMaxBytes: p.int32() };
      }),
    }));
    if (version >= 7) skipForgottenTopics(reader);
    if (version >= 11) reader.string(); // rack_id
    return { maxWaitMs, minBytes, maxBytes, topics };
  },
  async handle(request, context) {
    const config = context.deps.config;
    if (namesTooManyPartitions(request.topics, context)) return refusedFetch(request);
    const partitions: FetchPartitionRequest[] = [];
    for (const topic of request.topics) {
      for (const partition of topic.partitions) {
        partitions.push({
          topic: topic.topic,
          partition: partition.partition,
          offset: partition.fetchOffset as Offset,
          maxBytes: Math.max(0, Math.min(partition.partitionMaxBytes, config.fetchMaxBytes)),
        });
      }
    }
    // The bytes this response may hold come from the connection's and the broker's budgets; when
    // those are short the fetch gets less (still the first batch whole), never more.
    const grantedBytes = context.responseBytes.grant(
      Math.max(
        1,
        Math.min(request.maxBytes <= 0 ? config.fetchMaxBytes : request.maxBytes, config.fetchMaxBytes),
      ),
    );
    for (const partition of partitions) partition.maxBytes = Math.min(partition.maxBytes, grantedBytes);
    let outcome: Awaited<ReturnType<typeof context.deps.engine.fetch>>;
    try {
      outcome = await context.deps.engine.fetch({
        partitions,
        maxWaitMs: Math.max(0, Math.min(request.maxWaitMs, config.maxWaitMsMax)),
        minBytes: Math.max(0, request.minBytes),
        maxBytes: grantedBytes,
      });
    } finally {
      context.responseBytes.giveBack(grantedBytes);
    }
    let i = 0;
    return {
      topics: request.topics.map((topic) => ({
        topic: topic.topic,
        partitions: topic.partitions.map((partition) => {
          const result = outcome.partitions[i++];
          if (result === undefined) {
            return {
              partition: partition.partition,
              errorCode: KafkaErrorCode.UNKNOWN_SERVER_ERROR,
              highWatermark: -1,
              lastStableOffset: -1,
              logStartOffset: -1,
              records: new Uint8Array(0),
            };
          }
          if (
            context.apiVersion < FIRST_ZSTD_VERSION &&
            anyBatchInCodec(result.records, CompressionCodec.ZSTD)
          ) {
            // KIP-110: a client fetching below v10 cannot read zstd, so it gets this error instead.
            return {
              partition: partition.partition,
              ...result,
              errorCode: KafkaErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
              records: new Uint8Array(0),
            };
          }
          return { partition: partition.partition, ...result };
        }),
      })),
    };
  },
  encode(writer, response, version) {
    writer.int32(0); // throttle_time_ms
    if (version >= 7) writer.int16(KafkaErrorCode.NONE).int32(0); // error_code, session_id
    writer.array(response.topics, (w, topic) => {
      w.string(topic.topic);
      w.array(topic.partitions, (pw, p) => {
        pw.int32(p.partition).int16(p.errorCode).int64(p.highWatermark).int64(p.lastStableOffset);
        if (version >= 5) pw.int64(p.logStartOffset);
        pw.int32(-1); // aborted_transactions: null (no transactions)
        if (version >= 11) pw.int32(-1); // preferred_read_replica: none
        pw.bytesView(p.records);
      });
    });
  },
};

/** A fetch naming more partitions than one request may: every partition answers INVALID_REQUEST. */
function refusedFetch(request: FetchRequestData): FetchResponseData {
  const records = new Uint8Array(0);
  return {
    topics: request.topics.map((topic) => ({
      topic: topic.topic,
      partitions: topic.partitions.map((partition) => ({
        partition: partition.partition,
        errorCode: REQUEST_LIMIT_ERROR,
        highWatermark: -1,
        lastStableOffset: -1,
        logStartOffset: -1,
        records,
      })),
    })),
  };
}

/** forgotten_topics_data only matters with fetch sessions, which this broker does not keep. */
function skipForgottenTopics(reader: KafkaReader): void {
  reader.array((r) => {
    r.string();
    r.array((p) => p.int32());
    return null;
  });
}
