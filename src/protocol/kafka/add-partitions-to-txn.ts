import { KafkaErrorCode } from '../../common/kafka-error-code.js';
import { AclOperation, AclResourceType } from '../../security/acl.js';
import { isInternalTopic } from '../internal-topics.js';
import { ApiKey, describedVersions, type KafkaApi } from './api.js';
import { field, type MessageDescription, structs } from './message/description.js';
import { messageCodec } from './message/message-codec.js';
import { requestAllowed } from './request-authorization.js';
import { namesTooManyPartitions, REQUEST_LIMIT_ERROR } from './request-limits.js';
import { versionedTxnError, writableCoordinator } from './txn-request.js';

/**
 * AddPartitionsToTxn (key 24), versions 0–3 (flexible from 3): a
 * transactional producer names the partitions it is about to write to, before
 * its first write to each; the coordinator records them (durably) so the
 * transaction's markers reach every one. Needs Write on the transactional id
 * and on each topic. When any partition is refused (unknown, internal, not
 * authorized) nothing is added: the others are answered
 * OPERATION_NOT_ATTEMPTED, as Kafka does. v4+ (brokers verifying a
 * partition, KIP-890) is not served.
 */
export const addPartitionsToTxnRequestDescription: MessageDescription = {
  name: 'AddPartitionsToTxnRequest',
  validVersions: '0-3',
  flexibleVersions: '3+',
  fields: [
    field('transactionalId', 'string', '0-3'),
    field('producerId', 'int64', '0-3'),
    field('producerEpoch', 'int16', '0-3'),
    structs('topics', '0-3', [field('name', 'string', '0+'), field('partitions', '[]int32', '0+')]),
  ],
};

export const addPartitionsToTxnResponseDescription: MessageDescription = {
  name: 'AddPartitionsToTxnResponse',
  validVersions: '0-3',
  flexibleVersions: '3+',
  fields: [
    field('throttleTimeMs', 'int32', '0+'),
    structs('results', '0-3', [
      field('name', 'string', '0+'),
      structs('partitions', '0+', [
        field('partitionIndex', 'int32', '0+'),
        field('partitionErrorCode', 'int16', '0+'),
      ]),
    ]),
  ],
};

export interface AddPartitionsToTxnRequest {
  transactionalId: string;
  producerId: number;
  producerEpoch: number;
  topics: { name: string; partitions: number[] }[];
}

export interface AddPartitionsToTxnResponse {
  results: { name: string; partitions: { partitionIndex: number; partitionErrorCode: number }[] }[];
}

/** The first version that knows PRODUCER_FENCED. */
const PRODUCER_FENCED_VERSION = 2;

const request = messageCodec<AddPartitionsToTxnRequest>(addPartitionsToTxnRequestDescription);
const response = messageCodec<AddPartitionsToTxnResponse>(addPartitionsToTxnResponseDescription);

function answer(
  topics: AddPartitionsToTxnRequest['topics'],
  codeOf: (topic: string, partition: number) => number,
): AddPartitionsToTxnResponse {
  return {
    results: topics.map((topic) => ({
      name: topic.name,
      partitions: topic.partitions.map((partition) => ({
        partitionIndex: partition,
        partitionErrorCode: codeOf(topic.name, partition),
      })),
    })),
  };
}

export const addPartitionsToTxn: KafkaApi<AddPartitionsToTxnRequest, AddPartitionsToTxnResponse> = {
  apiKey: ApiKey.ADD_PARTITIONS_TO_TXN,
  name: 'AddPartitionsToTxn',
  ...describedVersions(request, response),
  decode: request.decode,
  async handle(request, context) {
    if (namesTooManyPartitions(request.topics, context))
      return answer(request.topics, () => REQUEST_LIMIT_ERROR);
    const transactions = writableCoordinator(context, request.transactionalId, 'AddPartitionsToTxn');
    if (transactions === undefined)
      return answer(request.topics, () => KafkaErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    const engine = context.deps.engine;
    const refused = new Map<string, number>();
    for (const topic of request.topics) {
      const description = engine.describeTopic(topic.name);
      const topicCode = !requestAllowed(
        context,
        AclOperation.WRITE,
        AclResourceType.TOPIC,
        topic.name,
        'AddPartitionsToTxn',
      )
        ? KafkaErrorCode.TOPIC_AUTHORIZATION_FAILED
        : isInternalTopic(topic.name)
          ? KafkaErrorCode.INVALID_TOPIC_EXCEPTION
          : KafkaErrorCode.NONE;
      for (const partition of topic.partitions) {
        const code =
          topicCode !== KafkaErrorCode.NONE
            ? topicCode
            : description === undefined || partition < 0 || partition >= description.partitionCount
              ? KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION
              : KafkaErrorCode.NONE;
        if (code !== KafkaErrorCode.NONE) refused.set(`${partition}:${topic.name}`, code);
      }
    }
    if (refused.size > 0) {
      return answer(
        request.topics,
        (topic, partition) => refused.get(`${partition}:${topic}`) ?? KafkaErrorCode.OPERATION_NOT_ATTEMPTED,
      );
    }
    const partitions = request.topics.flatMap((topic) =>
      topic.partitions.map((partition) => ({ topic: topic.name, partition })),
    );
    const code = await transactions.addPartitions(
      {
        transactionalId: request.transactionalId,
        producerId: request.producerId,
        producerEpoch: request.producerEpoch,
      },
      partitions,
    );
    const versioned = versionedTxnError(code, context.apiVersion, PRODUCER_FENCED_VERSION);
    return answer(request.topics, () => versioned);
  },
  encode: response.encode,
};
