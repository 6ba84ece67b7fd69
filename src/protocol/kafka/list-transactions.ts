import { KafkaErrorCode } from '../../common/kafka-error-code.js';
import { AclOperation, AclResourceType } from '../../security/acl.js';
import { isTxnState, type TxnState } from '../../transactions/transaction-state.js';
import { ApiKey, describedVersions, type KafkaApi } from './api.js';
import { field, type MessageDescription, structs } from './message/description.js';
import { messageCodec } from './message/message-codec.js';
import { requestMayDescribe } from './request-authorization.js';

/**
 * ListTransactions (key 66), versions 0–1 (flexible), for operators
 * (KIP-664): the transactional ids the coordinator knows, with their producer
 * ids and states, filtered by state, by producer id and (v1, KIP-994) by how
 * long their transaction has run. A state filter that names no state is
 * echoed in unknown_state_filters. Only ids the principal may Describe are listed.
 */
export const listTransactionsRequestDescription: MessageDescription = {
  name: 'ListTransactionsRequest',
  validVersions: '0-1',
  flexibleVersions: '0+',
  fields: [
    field('stateFilters', '[]string', '0+'),
    field('producerIdFilters', '[]int64', '0+'),
    field('durationFilter', 'int64', '1+', { default: -1 }),
  ],
};

export const listTransactionsResponseDescription: MessageDescription = {
  name: 'ListTransactionsResponse',
  validVersions: '0-1',
  flexibleVersions: '0+',
  fields: [
    field('throttleTimeMs', 'int32', '0+'),
    field('errorCode', 'int16', '0+'),
    field('unknownStateFilters', '[]string', '0+'),
    structs('transactionStates', '0+', [
      field('transactionalId', 'string', '0+'),
      field('producerId', 'int64', '0+'),
      field('transactionState', 'string', '0+'),
    ]),
  ],
};

export interface ListTransactionsRequest {
  stateFilters: string[];
  producerIdFilters: number[];
  durationFilter: number;
}

export interface ListTransactionsResponse {
  errorCode: number;
  unknownStateFilters: string[];
  transactionStates: { transactionalId: string; producerId: number; transactionState: string }[];
}

const request = messageCodec<ListTransactionsRequest>(listTransactionsRequestDescription);
const response = messageCodec<ListTransactionsResponse>(listTransactionsResponseDescription);

export const listTransactions: KafkaApi<ListTransactionsRequest, ListTransactionsResponse> = {
  apiKey: ApiKey.LIST_TRANSACTIONS,
  name: 'ListTransactions',
  ...describedVersions(request, response),
  decode: request.decode,
  async handle(request, context) {
    const transactions = context.deps.transactions;
    const states: TxnState[] = [];
    const unknownStateFilters: string[] = [];
    for (const name of request.stateFilters) {
      if (isTxnState(name)) states.push(name);
      else unknownStateFilters.push(name);
    }
    // Filters that name only unknown states match nothing.
    if (transactions === undefined || (request.stateFilters.length > 0 && states.length === 0)) {
      return { errorCode: KafkaErrorCode.NONE, unknownStateFilters, transactionStates: [] };
    }
    const listed = transactions.list({
      states,
      producerIds: request.producerIdFilters,
      minDurationMs: request.durationFilter,
    });
    return {
      errorCode: KafkaErrorCode.NONE,
      unknownStateFilters,
      transactionStates: listed
        .filter((entry) =>
          requestMayDescribe(
            context,
            AclOperation.DESCRIBE,
            AclResourceType.TRANSACTIONAL_ID,
            entry.transactionalId,
          ),
        )
        .map((entry) => ({
          transactionalId: entry.transactionalId,
          producerId: entry.producerId,
          transactionState: entry.state,
        })),
    };
  },
  encode: response.encode,
};
