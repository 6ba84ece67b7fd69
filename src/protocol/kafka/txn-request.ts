import { KafkaErrorCode } from '../../common/kafka-error-code.js';
import { readInt64 } from '../../common/offset.js';
import { BatchAttributes, BatchHeader } from '../../record/batch-header.js';
import { AclOperation, AclResourceType } from '../../security/acl.js';
import type { TransactionCoordinatorApi } from '../../transactions/transaction-coordinator-api.js';
import type { KafkaRequestContext } from './api.js';
import { requestAllowed } from './request-authorization.js';

/**
 * What the transactional APIs (AddPartitionsToTxn, AddOffsetsToTxn, EndTxn,
 * TxnOffsetCommit, InitProducerId with a transactional id) share: the ACL
 * check on the transactional id, and the error a version understands.
 */

/** Write on the TRANSACTIONAL_ID resource (Kafka's check for every transactional request). */
export function transactionalIdWritable(
  context: KafkaRequestContext,
  transactionalId: string,
  request: string,
): boolean {
  return requestAllowed(
    context,
    AclOperation.WRITE,
    AclResourceType.TRANSACTIONAL_ID,
    transactionalId,
    request,
  );
}

/**
 * The coordinator a transactional request may use: undefined when this broker
 * has none or the principal may not write the transactional id (both answer
 * TRANSACTIONAL_ID_AUTHORIZATION_FAILED, as Kafka does for an id it refuses).
 */
export function writableCoordinator(
  context: KafkaRequestContext,
  transactionalId: string,
  request: string,
): TransactionCoordinatorApi | undefined {
  const transactions = context.deps.transactions;
  if (transactions === undefined || !transactionalIdWritable(context, transactionalId, request))
    return undefined;
  return transactions;
}

/**
 * PRODUCER_FENCED (KIP-588) exists for a client only from `firstVersion` of
 * the API; before it the same fact is INVALID_PRODUCER_EPOCH.
 */
export function versionedTxnError(
  code: KafkaErrorCode,
  version: number,
  firstVersion: number,
): KafkaErrorCode {
  return code === KafkaErrorCode.PRODUCER_FENCED && version < firstVersion
    ? KafkaErrorCode.INVALID_PRODUCER_EPOCH
    : code;
}

/**
 * Produce's check of a transactional batch (its first batch's header): the request must name a
 * transactional id (TRANSACTIONAL_ID_AUTHORIZATION_FAILED otherwise, as for an id the principal
 * may not write), and the coordinator must have the partition in the producer's ongoing
 * transaction (INVALID_TXN_STATE; a fenced epoch is INVALID_PRODUCER_EPOCH, which every Produce
 * version knows). A batch without the transactional bit is not checked here. The Write check on
 * the transactional id is the caller's, once per request.
 */
export function transactionalProduceCheck(
  context: KafkaRequestContext,
  transactionalId: string | null,
  topic: string,
  partition: number,
  records: Uint8Array,
): KafkaErrorCode {
  if (records.length < BatchHeader.SIZE_BYTES) return KafkaErrorCode.NONE;
  // attributes is big-endian: the transactional bit is in its second byte. No view for a plain batch.
  if ((records[BatchHeader.ATTRIBUTES + 1]! & BatchAttributes.TRANSACTIONAL) === 0)
    return KafkaErrorCode.NONE;
  const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
  const transactions = context.deps.transactions;
  if (transactionalId === null || transactions === undefined)
    return KafkaErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
  const code = transactions.verifyPartition(
    {
      transactionalId,
      producerId: readInt64(view, BatchHeader.PRODUCER_ID),
      producerEpoch: view.getInt16(BatchHeader.PRODUCER_EPOCH),
    },
    topic,
    partition,
  );
  return code === KafkaErrorCode.PRODUCER_FENCED ? KafkaErrorCode.INVALID_PRODUCER_EPOCH : code;
}
