import { KafkaErrorCode } from '../../common/kafka-error-code.js';
import { AclOperation, AclResourceType } from '../../security/acl.js';
import type { TxnPartition } from '../../transactions/transaction-state.js';
import { ApiKey, describedVersions, type KafkaApi } from './api.js';
import { field, type MessageDescription, structs } from './message/description.js';
import { messageCodec } from './message/message-codec.js';
import { requestAllowed } from './request-authorization.js';
import { namesTooManyTopics, REQUEST_LIMIT_ERROR } from './request-limits.js';

/**
 * DescribeTransactions (key 65), version 0 (flexible), for operators
 * (KIP-664): the state of each transactional id asked for — its producer id
 * and epoch, timeout, when its transaction began and the partitions it holds.
 * Needs Describe on each transactional id; an id the coordinator does not
 * know is TRANSACTIONAL_ID_NOT_FOUND.
 */
export const describeTransactionsRequestDescription: MessageDescription = {
  name: 'DescribeTransactionsRequest',
  validVersions: '0',
  flexibleVersions: '0+',
  fields: [field('transactionalIds', '[]string', '0+')],
};

export const describeTransactionsResponseDescription: MessageDescription = {
  name: 'DescribeTransactionsResponse',
  validVersions: '0',
  flexibleVersions: '0+',
  fields: [
    field('throttleTimeMs', 'int32', '0+'),
    structs('transactionStates', '0+', [
      field('errorCode', 'int16', '0+'),
      field('transactionalId', 'string', '0+'),
      field('transactionState', 'string', '0+'),
      field('transactionTimeoutMs', 'int32', '0+'),
      field('transactionStartTimeMs', 'int64', '0+'),
      field('producerId', 'int64', '0+'),
      field('producerEpoch', 'int32', '0+'),
      structs('topics', '0+', [field('name', 'string', '0+'), field('partitions', '[]int32', '0+')]),
    ]),
  ],
};

export interface DescribeTransactionsRequest {
  transactionalIds: string[];
}

export interface DescribedTransaction {
  errorCode: number;
  transactionalId: string;
  transactionState: string;
  transactionTimeoutMs: number;
  transactionStartTimeMs: number;
  producerId: number;
  producerEpoch: number;
  topics: { name: string; partitions: number[] }[];
}

export interface DescribeTransactionsResponse {
  transactionStates: DescribedTransaction[];
}

const request = messageCodec<DescribeTransactionsRequest>(describeTransactionsRequestDescription);
const response = messageCodec<DescribeTransactionsResponse>(describeTransactionsResponseDescription);

function failed(transactionalId: string, errorCode: number): DescribedTransaction {
  return {
    errorCode,
    transactionalId,
    transactionState: '',
    transactionTimeoutMs: 0,
    transactionStartTimeMs: -1,
    producerId: -1,
    producerEpoch: -1,
    topics: [],
  };
}

/** Partitions grouped by topic, topics in the order first met. */
function byTopic(partitions: readonly TxnPartition[]): { name: string; partitions: number[] }[] {
  const topics = new Map<string, number[]>();
  for (const p of partitions) {
    let list = topics.get(p.topic);
    if (list === undefined) {
      list = [];
      topics.set(p.topic, list);
    }
    list.push(p.partition);
  }
  return [...topics].map(([name, list]) => ({ name, partitions: list }));
}

export const describeTransactions: KafkaApi<DescribeTransactionsRequest, DescribeTransactionsResponse> = {
  apiKey: ApiKey.DESCRIBE_TRANSACTIONS,
  name: 'DescribeTransactions',
  ...describedVersions(request, response),
  decode: request.decode,
  async handle(request, context) {
    const transactions = context.deps.transactions;
    if (namesTooManyTopics(request.transactionalIds.length, context)) {
      return { transactionStates: request.transactionalIds.map((id) => failed(id, REQUEST_LIMIT_ERROR)) };
    }
    return {
      transactionStates: request.transactionalIds.map((id) => {
        if (
          !requestAllowed(
            context,
            AclOperation.DESCRIBE,
            AclResourceType.TRANSACTIONAL_ID,
            id,
            'DescribeTransactions',
          )
        )
          return failed(id, KafkaErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
        if (transactions === undefined) return failed(id, KafkaErrorCode.TRANSACTIONAL_ID_NOT_FOUND);
        const described = transactions.describe(id);
        if (described.errorCode !== KafkaErrorCode.NONE) return failed(id, described.errorCode);
        return {
          errorCode: KafkaErrorCode.NONE,
          transactionalId: id,
          transactionState: described.state,
          transactionTimeoutMs: described.timeoutMs,
          transactionStartTimeMs: described.startMs,
          producerId: described.producerId,
          producerEpoch: described.producerEpoch,
          topics: byTopic(described.partitions),
        };
      }),
    };
  },
  encode: response.encode,
};
