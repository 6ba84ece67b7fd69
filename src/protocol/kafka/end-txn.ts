import { KafkaErrorCode } from '../../common/kafka-error-code.js';
import { ApiKey, describedVersions, type KafkaApi } from './api.js';
import { field, type MessageDescription } from './message/description.js';
import { messageCodec } from './message/message-codec.js';
import { versionedTxnError, writableCoordinator } from './txn-request.js';

/**
 * EndTxn (key 26), versions 0–3 (flexible from 3): commit or abort the
 * producer's transaction. Answered once the decision (PrepareCommit or
 * PrepareAbort) is durable in `__transaction_state`; the markers follow, and
 * the producer's next transaction waits for them (CONCURRENT_TRANSACTIONS
 * until they are written). Needs Write on the transactional id.
 */
export const endTxnRequestDescription: MessageDescription = {
  name: 'EndTxnRequest',
  validVersions: '0-3',
  flexibleVersions: '3+',
  fields: [
    field('transactionalId', 'string', '0+'),
    field('producerId', 'int64', '0+'),
    field('producerEpoch', 'int16', '0+'),
    field('committed', 'bool', '0+'),
  ],
};

export const endTxnResponseDescription: MessageDescription = {
  name: 'EndTxnResponse',
  validVersions: '0-3',
  flexibleVersions: '3+',
  fields: [field('throttleTimeMs', 'int32', '0+'), field('errorCode', 'int16', '0+')],
};

export interface EndTxnRequest {
  transactionalId: string;
  producerId: number;
  producerEpoch: number;
  committed: boolean;
}

export interface EndTxnResponse {
  errorCode: number;
}

/** The first version that knows PRODUCER_FENCED. */
const PRODUCER_FENCED_VERSION = 2;

const request = messageCodec<EndTxnRequest>(endTxnRequestDescription);
const response = messageCodec<EndTxnResponse>(endTxnResponseDescription);

export const endTxn: KafkaApi<EndTxnRequest, EndTxnResponse> = {
  apiKey: ApiKey.END_TXN,
  name: 'EndTxn',
  ...describedVersions(request, response),
  decode: request.decode,
  async handle(request, context) {
    const transactions = writableCoordinator(context, request.transactionalId, 'EndTxn');
    if (transactions === undefined)
      return { errorCode: KafkaErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED };
    const code = await transactions.endTransaction(request, request.committed);
    return { errorCode: versionedTxnError(code, context.apiVersion, PRODUCER_FENCED_VERSION) };
  },
  encode: response.encode,
};
