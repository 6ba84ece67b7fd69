import { KafkaErrorCode } from '../../common/kafka-error-code.js';
import type { Acks } from '../../engine/engine-api.js';
import { BatchHeader, batchCodec, batchSizeBytes, CompressionCodec } from '../../record/batch-header.js';
import { AclOperation, AclResourceType } from '../../security/acl.js';
import { ApiKey, describedVersions, type KafkaApi, type KafkaRequestContext } from './api.js';
import { field, type MessageDescription, structs } from './message/description.js';
import { messageCodec } from './message/message-codec.js';
import { accessOpen, clusterRequestAllowed, requestAllowed } from './request-authorization.js';
import { namesTooManyPartitions, REQUEST_LIMIT_ERROR } from './request-limits.js';
import { transactionalIdWritable, transactionalProduceCheck } from './txn-request.js';

/**
 * Produce (key 0), versions 0–9 (flexible from 9), of which 0–2 are
 * advertised but refused. Versions 3–9 differ in layout only by
 * log_start_offset (v5+), record_errors and error_message (v8+, KIP-467: a
 * refused batch carries the validator's message, and the record it names
 * when one record caused it; the batch is refused whole, as in Kafka) and
 * the flexible encoding (v9), and otherwise by what the broker promises
 * about errors.
 *
 * Versions 0–2 (no transactional_id; v0 has no log_append_time_ms and no
 * throttle_time_ms, v1 adds the throttle, v2 the append time) are decoded
 * and every partition answered UNSUPPORTED_VERSION, as Kafka 4 does: they
 * are advertised only because librdkafka before 2.11.1 (Debian 12's kcat
 * among them) looks for Produce v0 in ApiVersions to decide whether the
 * broker takes compressed batches, and silently sends uncompressed ones
 * when it is missing (KAFKA-18659).
 * A request with a transactional_id needs Write on it (and a transaction
 * coordinator); each transactional batch is checked against the
 * coordinator, which must hold the partition in the producer's ongoing
 * transaction (INVALID_TXN_STATE otherwise; txn-request.ts).
 * `records` is a view into the request frame: the engine copies it once, into
 * the owning shard's ring. acks=0 gets no response at all.
 */
/** Produce versions below this may not carry zstd batches (KIP-110). */
const FIRST_ZSTD_VERSION = 7;

/** Versions below this are advertised (for librdkafka's compression probe) but answered UNSUPPORTED_VERSION. */
export const FIRST_SERVED_VERSION = 3;

export const produceRequestDescription: MessageDescription = {
  name: 'ProduceRequest',
  validVersions: '0-9',
  flexibleVersions: '9+',
  fields: [
    field('transactionalId', 'string', '3+', { nullableVersions: '3+', default: null }),
    field('acks', 'int16', '0+'),
    field('timeoutMs', 'int32', '0+'),
    structs('topics', '0+', [
      field('name', 'string', '0+'),
      structs('partitions', '0+', [
        field('index', 'int32', '0+'),
        field('records', 'records', '0+', { nullableVersions: '0+' }),
      ]),
    ]),
  ],
};

export const produceResponseDescription: MessageDescription = {
  name: 'ProduceResponse',
  validVersions: '0-9',
  flexibleVersions: '9+',
  fields: [
    structs('topics', '0+', [
      field('name', 'string', '0+'),
      structs('partitions', '0+', [
        field('index', 'int32', '0+'),
        field('errorCode', 'int16', '0+'),
        field('baseOffset', 'int64', '0+'),
        field('logAppendTimeMs', 'int64', '2+', { default: -1 }),
        field('logStartOffset', 'int64', '5+', { default: -1 }),
        structs('recordErrors', '8+', [
          field('batchIndex', 'int32', '8+'),
          field('batchIndexErrorMessage', 'string', '8+', { nullableVersions: '8+', default: null }),
        ]),
        field('errorMessage', 'string', '8+', { nullableVersions: '8+', default: null }),
      ]),
    ]),
    field('throttleTimeMs', 'int32', '1+'),
  ],
};

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

export interface RecordError {
  batchIndex: number;
  batchIndexErrorMessage: string | null;
}

export interface ProducePartitionResponse {
  index: number;
  errorCode: number;
  baseOffset: number;
  logAppendTimeMs: number;
  logStartOffset: number;
  /** v8+ (KIP-467): the records that made the batch be refused; absent when none is named. */
  recordErrors?: readonly RecordError[];
  /** v8+: why the batch was refused; absent or null on success. */
  errorMessage?: string | null;
}

/**
 * The record a refusal names. The batch validator (src/record/validate.ts) starts the message of
 * every refusal caused by one record with "record <index within the batch> ".
 */
const RECORD_REFUSAL = /^record (\d+) /;

function recordErrorsOf(errorMessage: string): readonly RecordError[] | undefined {
  const named = RECORD_REFUSAL.exec(errorMessage);
  return named === null
    ? undefined
    : [{ batchIndex: Number(named[1]), batchIndexErrorMessage: errorMessage }];
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
  transactionalId: string | null,
): Promise<ProducePartitionResponse> {
  if (topicKnown !== KafkaErrorCode.NONE) return failed(partition.index, topicKnown);
  // Cluster mode: only the partition's leader appends; clients refresh metadata and go there.
  const cluster = context.deps.cluster;
  if (cluster !== undefined && !cluster.isLeader(topic, partition.index)) {
    return failed(partition.index, KafkaErrorCode.NOT_LEADER_OR_FOLLOWER);
  }
  if (partition.records === null || partition.records.length === 0) {
    return failed(partition.index, KafkaErrorCode.INVALID_RECORD);
  }
  const txnCode = transactionalProduceCheck(
    context,
    transactionalId,
    topic,
    partition.index,
    partition.records,
  );
  if (txnCode !== KafkaErrorCode.NONE) return failed(partition.index, txnCode);
  if (context.apiVersion < FIRST_ZSTD_VERSION && batchCodec(partition.records) === CompressionCodec.ZSTD) {
    // KIP-110: zstd only from Produce v7, so a client that can read it back is the one writing it.
    return failed(partition.index, KafkaErrorCode.UNSUPPORTED_COMPRESSION_TYPE);
  }
  const outcome = await context.deps.engine.produce(topic, partition.index, partition.records, acks);
  if (outcome.errorCode !== KafkaErrorCode.NONE && outcome.errorMessage !== '') {
    return {
      index: partition.index,
      errorCode: outcome.errorCode,
      baseOffset: outcome.baseOffset,
      logAppendTimeMs: outcome.logAppendTimeMs,
      logStartOffset: outcome.logStartOffset,
      recordErrors: recordErrorsOf(outcome.errorMessage),
      errorMessage: outcome.errorMessage,
    };
  }
  return {
    index: partition.index,
    errorCode: outcome.errorCode,
    baseOffset: outcome.baseOffset,
    logAppendTimeMs: outcome.logAppendTimeMs,
    logStartOffset: outcome.logStartOffset,
  };
}

/** Whether any batch of the request has a producer id (an idempotent or transactional producer). */
function carriesProducerId(topics: ProduceRequest['topics']): boolean {
  for (const topic of topics) {
    for (const partition of topic.partitions) {
      const records = partition.records;
      if (records === null) continue;
      const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
      let position = 0;
      while (position + BatchHeader.PRODUCER_ID + 8 <= records.length) {
        if (view.getBigInt64(position + BatchHeader.PRODUCER_ID) >= 0n) return true;
        const sizeBytes = batchSizeBytes(view, position);
        if (sizeBytes <= 0) break;
        position += sizeBytes;
      }
    }
  }
  return false;
}

const request = messageCodec<ProduceRequest>(produceRequestDescription);
const response = messageCodec<ProduceResponse>(produceResponseDescription);

export const produce: KafkaApi<ProduceRequest, ProduceResponse> = {
  apiKey: ApiKey.PRODUCE,
  name: 'Produce',
  ...describedVersions(request, response),
  decode: request.decode,
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
          : request.transactionalId !== null &&
              (context.deps.transactions === undefined ||
                !transactionalIdWritable(context, request.transactionalId, 'Produce'))
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
    // Write on each topic; IdempotentWrite on the cluster when a batch carries a producer id outside a
    // transaction (a transactional produce needs Write on its transactional id instead, as in Kafka).
    const idempotentDenied =
      code === KafkaErrorCode.NONE &&
      request.transactionalId === null &&
      !accessOpen(context) &&
      carriesProducerId(request.topics) &&
      !clusterRequestAllowed(context, AclOperation.IDEMPOTENT_WRITE, 'Produce');
    const topicCode = (name: string) =>
      code !== KafkaErrorCode.NONE
        ? code
        : idempotentDenied
          ? KafkaErrorCode.CLUSTER_AUTHORIZATION_FAILED
          : requestAllowed(context, AclOperation.WRITE, AclResourceType.TOPIC, name, 'Produce')
            ? KafkaErrorCode.NONE
            : KafkaErrorCode.TOPIC_AUTHORIZATION_FAILED;
    try {
      const responses = await Promise.all(
        request.topics.map(async (topic) => {
          const known = topicCode(topic.name);
          return {
            name: topic.name,
            partitions: await Promise.all(
              topic.partitions.map((partition) =>
                within(
                  partition.index,
                  producePartition(
                    context,
                    topic.name,
                    known,
                    partition,
                    acks as Acks,
                    request.transactionalId,
                  ),
                ),
              ),
            ),
          };
        }),
      );
      return acks === 0 ? null : { topics: responses };
    } finally {
      clearTimeout(timer);
    }
  },
  encode: response.encode,
};
