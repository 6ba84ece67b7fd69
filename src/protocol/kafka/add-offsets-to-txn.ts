import { KafkaErrorCode } from '../../common/kafka-error-code.js';
import { AclOperation, AclResourceType } from '../../security/acl.js';
import { ApiKey, describedVersions, type KafkaApi } from './api.js';
import { field, type MessageDescription } from './message/description.js';
import { messageCodec } from './message/message-codec.js';
import { requestAllowed } from './request-authorization.js';
import { versionedTxnError, writableCoordinator } from './txn-request.js';

/**
 * AddOffsetsToTxn (key 25), versions 0–3 (flexible from 3): a transactional
 * producer says it will commit offsets of a consumer group in its transaction
 * (TxnOffsetCommit follows); the coordinator adds the group's partition of
 * `__consumer_offsets` to the transaction, so its outcome reaches those
 * offsets. Needs Write on the transactional id and Read on the group.
 */
export const addOffsetsToTxnRequestDescription: MessageDescription = {
  name: 'AddOffsetsToTxnRequest',
  validVersions: '0-3',
  flexibleVersions: '3+',
  fields: [
    field('transactionalId', 'string', '0+'),
    field('producerId', 'int64', '0+'),
    field('producerEpoch', 'int16', '0+'),
    field('groupId', 'string', '0+'),
  ],
};

export const addOffsetsToTxnResponseDescription: MessageDescription = {
  name: 'AddOffsetsToTxnResponse',
  validVersions: '0-3',
  flexibleVersions: '3+',
  fields: [field('throttleTimeMs', 'int32', '0+'), field('errorCode', 'int16', '0+')],
};

export interface AddOffsetsToTxnRequest {
  transactionalId: string;
  producerId: number;
  producerEpoch: number;
  groupId: string;
}

export interface AddOffsetsToTxnResponse {
  errorCode: number;
}

/** The first version that knows PRODUCER_FENCED. */
const PRODUCER_FENCED_VERSION = 2;

const request = messageCodec<AddOffsetsToTxnRequest>(addOffsetsToTxnRequestDescription);
const response = messageCodec<AddOffsetsToTxnResponse>(addOffsetsToTxnResponseDescription);

export const addOffsetsToTxn: KafkaApi<AddOffsetsToTxnRequest, AddOffsetsToTxnResponse> = {
  apiKey: ApiKey.ADD_OFFSETS_TO_TXN,
  name: 'AddOffsetsToTxn',
  ...describedVersions(request, response),
  decode: request.decode,
  async handle(request, context) {
    const transactions = writableCoordinator(context, request.transactionalId, 'AddOffsetsToTxn');
    if (transactions === undefined)
      return { errorCode: KafkaErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED };
    if (
      !requestAllowed(context, AclOperation.READ, AclResourceType.GROUP, request.groupId, 'AddOffsetsToTxn')
    )
      return { errorCode: KafkaErrorCode.GROUP_AUTHORIZATION_FAILED };
    const code = await transactions.addOffsets(request, request.groupId);
    return { errorCode: versionedTxnError(code, context.apiVersion, PRODUCER_FENCED_VERSION) };
  },
  encode: response.encode,
};
