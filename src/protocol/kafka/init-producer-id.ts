import { KafkaErrorCode } from '../../common/kafka-error-code.js';
import { ApiKey, type KafkaApi } from './api.js';

/**
 * InitProducerId (key 22), versions 0–1. Grammar (non-flexible):
 *   Request:  transactional_id NULLABLE_STRING, transaction_timeout_ms INT32
 *   Response: throttle_time_ms INT32, error_code INT16, producer_id INT64, producer_epoch INT16
 * Idempotent producers get a fresh id from the broker's Obelisk sequencer
 * (never reused, even across crashes) with epoch 0. Transactions are not
 * supported: a transactional id is refused.
 */
export interface InitProducerIdRequest {
  transactionalId: string | null;
}

export interface InitProducerIdResponse {
  errorCode: number;
  producerId: number;
  producerEpoch: number;
}

export const initProducerId: KafkaApi<InitProducerIdRequest, InitProducerIdResponse> = {
  apiKey: ApiKey.INIT_PRODUCER_ID,
  name: 'InitProducerId',
  minVersion: 0,
  maxVersion: 1,
  decode(reader) {
    const transactionalId = reader.nullableString();
    reader.int32(); // transaction_timeout_ms
    return { transactionalId };
  },
  async handle(request, context) {
    if (request.transactionalId !== null) {
      return {
        errorCode: KafkaErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
        producerId: -1,
        producerEpoch: -1,
      };
    }
    return {
      errorCode: KafkaErrorCode.NONE,
      producerId: await context.deps.engine.nextProducerId(),
      producerEpoch: 0,
    };
  },
  encode(writer, response) {
    writer.int32(0).int16(response.errorCode).int64(response.producerId).int16(response.producerEpoch);
  },
};
