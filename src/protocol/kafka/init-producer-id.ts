import { KafkaErrorCode } from '../../common/kafka-error-code.js';
import { AclOperation } from '../../security/acl.js';
import { ApiKey, describedVersions, type KafkaApi } from './api.js';
import { field, type MessageDescription } from './message/description.js';
import { messageCodec } from './message/message-codec.js';
import { clusterRequestAllowed } from './request-authorization.js';
import { transactionalIdWritable, versionedTxnError } from './txn-request.js';

/** The first InitProducerId version that knows PRODUCER_FENCED. */
const PRODUCER_FENCED_VERSION = 4;

/**
 * InitProducerId (key 22), versions 0–4 (flexible from 2). Idempotent
 * producers get a fresh id from the broker's Obelisk sequencer (never
 * reused, even across crashes) with epoch 0. A producer that sends its
 * current id and epoch (v3+, KIP-360) to bump its epoch gets a fresh id
 * instead, which fences nothing here since sequences are kept per id.
 * With a transactional id the transaction coordinator answers
 * (src/transactions/): the id's producer id with its next epoch, fencing
 * the previous holder (PRODUCER_FENCED from v4, INVALID_PRODUCER_EPOCH
 * before); Write on the transactional id is required.
 */
export const initProducerIdRequestDescription: MessageDescription = {
  name: 'InitProducerIdRequest',
  validVersions: '0-4',
  flexibleVersions: '2+',
  fields: [
    field('transactionalId', 'string', '0+', { nullableVersions: '0+' }),
    field('transactionTimeoutMs', 'int32', '0+'),
    field('producerId', 'int64', '3+', { default: -1 }),
    field('producerEpoch', 'int16', '3+', { default: -1 }),
  ],
};

export const initProducerIdResponseDescription: MessageDescription = {
  name: 'InitProducerIdResponse',
  validVersions: '0-4',
  flexibleVersions: '2+',
  fields: [
    field('throttleTimeMs', 'int32', '0+'),
    field('errorCode', 'int16', '0+'),
    field('producerId', 'int64', '0+', { default: -1 }),
    field('producerEpoch', 'int16', '0+'),
  ],
};

export interface InitProducerIdRequest {
  transactionalId: string | null;
  transactionTimeoutMs: number;
  producerId: number;
  producerEpoch: number;
}

export interface InitProducerIdResponse {
  errorCode: number;
  producerId: number;
  producerEpoch: number;
}

const request = messageCodec<InitProducerIdRequest>(initProducerIdRequestDescription);
const response = messageCodec<InitProducerIdResponse>(initProducerIdResponseDescription);

export const initProducerId: KafkaApi<InitProducerIdRequest, InitProducerIdResponse> = {
  apiKey: ApiKey.INIT_PRODUCER_ID,
  name: 'InitProducerId',
  ...describedVersions(request, response),
  decode: request.decode,
  async handle(request, context) {
    if (request.transactionalId !== null) {
      const transactions = context.deps.transactions;
      const refused = (errorCode: number) => ({ errorCode, producerId: -1, producerEpoch: -1 });
      // No coordinator (an embedding without one): refused for good, not retried.
      if (transactions === undefined) return refused(KafkaErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
      if (!transactionalIdWritable(context, request.transactionalId, 'InitProducerId'))
        return refused(KafkaErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
      const result = await transactions.initProducerId({
        transactionalId: request.transactionalId,
        transactionTimeoutMs: request.transactionTimeoutMs,
        producerId: request.producerId,
        producerEpoch: request.producerEpoch,
      });
      return {
        ...result,
        errorCode: versionedTxnError(result.errorCode, context.apiVersion, PRODUCER_FENCED_VERSION),
      };
    }
    if (!clusterRequestAllowed(context, AclOperation.IDEMPOTENT_WRITE, 'InitProducerId')) {
      return { errorCode: KafkaErrorCode.CLUSTER_AUTHORIZATION_FAILED, producerId: -1, producerEpoch: -1 };
    }
    try {
      return {
        errorCode: KafkaErrorCode.NONE,
        producerId: await context.deps.engine.nextProducerId(),
        producerEpoch: 0,
      };
    } catch {
      // The id sequencer could not make a new block durable (storage-io fault): retriable for the client.
      return { errorCode: KafkaErrorCode.COORDINATOR_NOT_AVAILABLE, producerId: -1, producerEpoch: -1 };
    }
  },
  encode: response.encode,
};
