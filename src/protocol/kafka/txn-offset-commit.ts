import { KafkaErrorCode } from '../../common/kafka-error-code.js';
import { AclOperation, AclResourceType } from '../../security/acl.js';
import { ApiKey, describedVersions, type KafkaApi } from './api.js';
import { field, type MessageDescription, structs } from './message/description.js';
import { messageCodec } from './message/message-codec.js';
import { requestAllowed } from './request-authorization.js';
import { namesTooManyPartitions, REQUEST_LIMIT_ERROR } from './request-limits.js';
import { versionedTxnError, writableCoordinator } from './txn-request.js';

/**
 * TxnOffsetCommit (key 28), versions 0–3 (flexible from 3): offsets of a
 * consumer group committed inside a transaction (consume-transform-produce).
 * They are stored durably but stay invisible to OffsetFetch until the
 * transaction commits, and are dropped if it aborts. The producer must be the
 * transactional id's current one, with a transaction under way that
 * AddOffsetsToTxn joined to the group (INVALID_TXN_STATE otherwise). v3
 * (KIP-447) names the consumer's generation and member: checked as
 * OffsetCommit checks them. Needs Write on the transactional id, Read on the
 * group and Read on each topic. A fenced producer is answered
 * INVALID_PRODUCER_EPOCH (no version of this API knows PRODUCER_FENCED).
 */
export const txnOffsetCommitRequestDescription: MessageDescription = {
  name: 'TxnOffsetCommitRequest',
  validVersions: '0-3',
  flexibleVersions: '3+',
  fields: [
    field('transactionalId', 'string', '0+'),
    field('groupId', 'string', '0+'),
    field('producerId', 'int64', '0+'),
    field('producerEpoch', 'int16', '0+'),
    field('generationId', 'int32', '3+', { default: -1 }),
    field('memberId', 'string', '3+', { default: '' }),
    field('groupInstanceId', 'string', '3+', { nullableVersions: '3+', default: null }),
    structs('topics', '0+', [
      field('name', 'string', '0+'),
      structs('partitions', '0+', [
        field('partitionIndex', 'int32', '0+'),
        field('committedOffset', 'int64', '0+'),
        field('committedLeaderEpoch', 'int32', '2+', { default: -1 }),
        field('committedMetadata', 'string', '0+', { nullableVersions: '0+' }),
      ]),
    ]),
  ],
};

export const txnOffsetCommitResponseDescription: MessageDescription = {
  name: 'TxnOffsetCommitResponse',
  validVersions: '0-3',
  flexibleVersions: '3+',
  fields: [
    field('throttleTimeMs', 'int32', '0+'),
    structs('topics', '0+', [
      field('name', 'string', '0+'),
      structs('partitions', '0+', [
        field('partitionIndex', 'int32', '0+'),
        field('errorCode', 'int16', '0+'),
      ]),
    ]),
  ],
};

export interface TxnOffsetCommitWireRequest {
  transactionalId: string;
  groupId: string;
  producerId: number;
  producerEpoch: number;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  topics: {
    name: string;
    partitions: { partitionIndex: number; committedOffset: number; committedMetadata: string | null }[];
  }[];
}

export interface TxnOffsetCommitResponse {
  topics: { name: string; partitions: { partitionIndex: number; errorCode: number }[] }[];
}

const request = messageCodec<TxnOffsetCommitWireRequest>(txnOffsetCommitRequestDescription);
const response = messageCodec<TxnOffsetCommitResponse>(txnOffsetCommitResponseDescription);

function answer(
  request: TxnOffsetCommitWireRequest,
  codeOf: (topic: string, partition: number) => number,
): TxnOffsetCommitResponse {
  return {
    topics: request.topics.map((topic) => ({
      name: topic.name,
      partitions: topic.partitions.map((p) => ({
        partitionIndex: p.partitionIndex,
        errorCode: codeOf(topic.name, p.partitionIndex),
      })),
    })),
  };
}

export const txnOffsetCommit: KafkaApi<TxnOffsetCommitWireRequest, TxnOffsetCommitResponse> = {
  apiKey: ApiKey.TXN_OFFSET_COMMIT,
  name: 'TxnOffsetCommit',
  ...describedVersions(request, response),
  decode: request.decode,
  async handle(request, context) {
    if (namesTooManyPartitions(request.topics, context)) return answer(request, () => REQUEST_LIMIT_ERROR);
    const transactions = writableCoordinator(context, request.transactionalId, 'TxnOffsetCommit');
    if (transactions === undefined)
      return answer(request, () => KafkaErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    if (
      !requestAllowed(context, AclOperation.READ, AclResourceType.GROUP, request.groupId, 'TxnOffsetCommit')
    )
      return answer(request, () => KafkaErrorCode.GROUP_AUTHORIZATION_FAILED);
    const engine = context.deps.engine;
    const refused = new Map<string, number>();
    const topics: {
      topic: string;
      partitions: { partition: number; offset: number; metadata: string | null }[];
    }[] = [];
    for (const topic of request.topics) {
      const description = engine.describeTopic(topic.name);
      const readable = requestAllowed(
        context,
        AclOperation.READ,
        AclResourceType.TOPIC,
        topic.name,
        'TxnOffsetCommit',
      );
      const partitions: { partition: number; offset: number; metadata: string | null }[] = [];
      for (const p of topic.partitions) {
        const code = !readable
          ? KafkaErrorCode.TOPIC_AUTHORIZATION_FAILED
          : description === undefined ||
              p.partitionIndex < 0 ||
              p.partitionIndex >= description.partitionCount
            ? KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            : KafkaErrorCode.NONE;
        if (code !== KafkaErrorCode.NONE) refused.set(`${p.partitionIndex}:${topic.name}`, code);
        else
          partitions.push({
            partition: p.partitionIndex,
            offset: p.committedOffset,
            metadata: p.committedMetadata,
          });
      }
      if (partitions.length > 0) topics.push({ topic: topic.name, partitions });
    }
    const codes = new Map<string, number>();
    if (topics.length > 0) {
      const stored = await transactions.commitOffsets({
        transactionalId: request.transactionalId,
        producerId: request.producerId,
        producerEpoch: request.producerEpoch,
        groupId: request.groupId,
        generationId: request.generationId,
        memberId: request.memberId,
        groupInstanceId: request.groupInstanceId,
        topics,
      });
      for (const topic of stored.topics) {
        for (const p of topic.partitions) {
          codes.set(
            `${p.partition}:${topic.topic}`,
            versionedTxnError(p.errorCode, context.apiVersion, Number.POSITIVE_INFINITY),
          );
        }
      }
    }
    return answer(
      request,
      (topic, partition) =>
        refused.get(`${partition}:${topic}`) ??
        codes.get(`${partition}:${topic}`) ??
        KafkaErrorCode.UNKNOWN_SERVER_ERROR,
    );
  },
  encode: response.encode,
};
