import { KafkaErrorCode } from '../../common/kafka-error-code.js';
import type { Acks } from '../../engine/engine-api.js';
import { batchCodec, CompressionCodec } from '../../record/batch-header.js';
import { ApiKey, type KafkaApi, type KafkaRequestContext, NOT_FLEXIBLE } from './api.js';
import { namesTooManyPartitions, REQUEST_LIMIT_ERROR } from './request-limits.js';

/**
 * Produce (key 0), versions 0–7, of which 0–2 are advertised but refused.
 * Grammar (non-flexible):
 *   Request:  transactional_id NULLABLE_STRING, acks INT16, timeout_ms INT32,
 *             topic_data [name STRING, partition_data [index INT32, records NULLABLE_BYTES]]
 *   Response: responses [name STRING, partition_responses [index INT32, error_code INT16,
 *               base_offset INT64, log_append_time_ms INT64, log_start_offset INT64 (v5+)]],
 *             throttle_time_ms INT32
 * Versions 3–7 differ only by log_start_offset (v5+) and by what the broker
 * promises about errors, so one decoder and encoder serve them all.
 *
 * Versions 0–2 (no transactional_id; v0 has no log_append_time_ms and no
 * throttle_time_ms, v1 adds the throttle, v2 the append time) are decoded
 * and every partition answered UNSUPPORTED_VERSION, as Kafka 4 does: they
 * are advertised only because librdkafka before 2.11.1 (Debian 12's kcat
 * among them) looks for Produce v0 in ApiVersions to decide whether the
 * broker takes compressed batches, and silently sends uncompressed ones
 * when it is missing (KAFKA-18659).
 * `records` is a view into the request frame: the engine copies it once, into
 * the owning shard's ring. acks=0 gets no response at all.
 */
/** Produce versions below this may not carry zstd batches (KIP-110). */
const FIRST_ZSTD_VERSION = 7;

/** Versions below this are advertised (for librdkafka's compression probe) but answered UNSUPPORTED_VERSION. */
export const FIRST_SERVED_VERSION = 3;

export interface ProducePartitionData {
  index: number;
  records: Uint8Array | null;
}

export interface ProduceRequest {
  transactionalId: string | null;
  acks: number;
  timeoutMs: number;
  topics: { name: string; partitions: ProducePartitionData[] }[];
}

export interface ProducePartitionResponse {
  index: number;
  errorCode: number;
  baseOffset: number;
  logAppendTimeMs: number;
  logStartOffset: number;
}

export interface ProduceResponse {
  topics: { name: string; partitions: ProducePartitionResponse[] }[];
}

function failed(index: number, errorCode: number): ProducePartitionResponse {
  return { index, errorCode, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1 };
}

async function producePartition(
  context: KafkaRequestContext,
  topic: string,
  topicKnown: number,
  partition: ProducePartitionData,
  acks: Acks,
): Promise<ProducePartitionResponse> {
  if (topicKnown !== KafkaErrorCode.NONE) return failed(partition.index, topicKnown);
  if (partition.records === null || partition.records.length === 0) {
    return failed(partition.index, KafkaErrorCode.INVALID_RECORD);
  }
  if (context.apiVersion < FIRST_ZSTD_VERSION && batchCodec(partition.records) === CompressionCodec.ZSTD) {
    // KIP-110: zstd only from Produce v7, so a client that can read it back is the one writing it.
    return failed(partition.index, KafkaErrorCode.UNSUPPORTED_COMPRESSION_TYPE);
  }
  const outcome = await context.deps.engine.produce(topic, partition.index, partition.records, acks);
  return {
    index: partition.index,
    errorCode: outcome.errorCode,
    baseOffset: outcome.baseOffset,
    logAppendTimeMs: outcome.logAppendTimeMs,
    logStartOffset: outcome.logStartOffset,
  };
}

export const produce: KafkaApi<ProduceRequest, ProduceResponse> = {
  apiKey: ApiKey.PRODUCE,
  name: 'Produce',
  minVersion: 0,
  maxVersion: 7,
  firstFlexibleVersion: NOT_FLEXIBLE,
  decode(reader, version) {
    return {
      transactionalId: version >= FIRST_SERVED_VERSION ? reader.nullableString() : null,
      acks: reader.int16(),
      timeoutMs: reader.int32(),
      topics: reader.array((r) => ({
        name: r.string(),
        partitions: r.array((p) => ({ index: p.int32(), records: p.nullableBytes() })),
      })),
    };
  },
  async handle(request, context) {
    const acks = request.acks;
    const validAcks = acks === 0 || acks === 1 || acks === -1;
    // Kafka creates topics on Metadata, not on Produce: an unknown topic is
    // UNKNOWN_TOPIC_OR_PARTITION from the engine, which clients answer with a
    // Metadata request (and so the auto-creation) before they retry.
    const code =
      context.apiVersion < FIRST_SERVED_VERSION
        ? KafkaErrorCode.UNSUPPORTED_VERSION
        : !validAcks
          ? KafkaErrorCode.INVALID_REQUIRED_ACKS
          : request.transactionalId !== null
            ? KafkaErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
            : namesTooManyPartitions(request.topics, context)
              ? REQUEST_LIMIT_ERROR
              : KafkaErrorCode.NONE;
    // timeout_ms bounds how long acks=-1 waits for durability (Kafka: for the replicas); past it a
    // partition still waiting is answered REQUEST_TIMED_OUT. The engine bounds every request by the
    // broker's request timeout anyway, so a timer is only needed for a shorter timeout_ms.
    const waitMs =
      acks === -1 && request.timeoutMs > 0 && request.timeoutMs < context.deps.config.requestTimeoutMs
        ? request.timeoutMs
        : -1;
    let timer: NodeJS.Timeout | undefined;
    const expired =
      waitMs < 0
        ? null
        : new Promise<null>((resolve) => {
            timer = setTimeout(() => resolve(null), waitMs);
          });
    const within = (index: number, answer: Promise<ProducePartitionResponse>) =>
      expired === null
        ? answer
        : Promise.race([answer, expired]).then(
            (response) => response ?? failed(index, KafkaErrorCode.REQUEST_TIMED_OUT),
          );
    try {
      const responses = await Promise.all(
        request.topics.map(async (topic) => ({
          name: topic.name,
          partitions: await Promise.all(
            topic.partitions.map((partition) =>
              within(partition.index, producePartition(context, topic.name, code, partition, acks as Acks)),
            ),
          ),
        })),
      );
      return acks === 0 ? null : { topics: responses };
    } finally {
      clearTimeout(timer);
    }
  },
  encode(writer, response, version) {
    writer.array(response.topics, (w, topic) => {
      w.string(topic.name);
      w.array(topic.partitions, (pw, partition) => {
        pw.int32(partition.index).int16(partition.errorCode).int64(partition.baseOffset);
        if (version >= 2) pw.int64(partition.logAppendTimeMs);
        if (version >= 5) pw.int64(partition.logStartOffset);
      });
    });
    if (version >= 1) writer.int32(0);
  },
};
