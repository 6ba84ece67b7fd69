import type { KafkaErrorCode } from '../common/kafka-error-code.js';
import type { TxnPartition, TxnState } from './transaction-state.js';

/**
 * What the Kafka front door asks of the transaction coordinator (KIP-98). It
 * runs on the acceptor thread, as the group coordinator does; its state is
 * durable in `__transaction_state`. Operating errors are Kafka error codes in
 * the results, never rejections. Codes are the newest ones (PRODUCER_FENCED);
 * a handler answering an older version maps them down.
 */

export interface TxnInitProducerIdRequest {
  transactionalId: string;
  transactionTimeoutMs: number;
  /** KIP-360: the producer's current id and epoch when it asks for a bump; -1 and -1 otherwise. */
  producerId: number;
  producerEpoch: number;
}

export interface ProducerIdResult {
  errorCode: KafkaErrorCode;
  producerId: number;
  producerEpoch: number;
}

/** Who a transactional request says it is. */
export interface TxnProducer {
  transactionalId: string;
  producerId: number;
  producerEpoch: number;
}

export interface TxnOffsetCommitPartition {
  partition: number;
  offset: number;
  metadata: string | null;
}

export interface TxnOffsetCommitRequest extends TxnProducer {
  groupId: string;
  /** v3+ (KIP-447); -1, '' and null before, and from producers outside any group generation. */
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  topics: readonly { topic: string; partitions: readonly TxnOffsetCommitPartition[] }[];
}

export interface TxnOffsetCommitResult {
  topics: { topic: string; partitions: { partition: number; errorCode: KafkaErrorCode }[] }[];
}

export interface TransactionDescription {
  errorCode: KafkaErrorCode;
  transactionalId: string;
  state: TxnState | '';
  timeoutMs: number;
  /** -1 when no transaction is under way. */
  startMs: number;
  producerId: number;
  producerEpoch: number;
  partitions: readonly TxnPartition[];
}

export interface TransactionListing {
  transactionalId: string;
  producerId: number;
  state: TxnState;
}

export interface TransactionListFilter {
  /** Empty: every state. */
  states: readonly TxnState[];
  /** Empty: every producer id. */
  producerIds: readonly number[];
  /** Only transactions running longer than this; negative: all. */
  minDurationMs: number;
}

export interface TransactionCoordinatorApi {
  initProducerId(request: TxnInitProducerIdRequest): Promise<ProducerIdResult>;
  /** Adds partitions to the producer's transaction (starting one if none is under way). */
  addPartitions(producer: TxnProducer, partitions: readonly TxnPartition[]): Promise<KafkaErrorCode>;
  /** Adds a group's offsets to the transaction (the partition of `__consumer_offsets` holding the group). */
  addOffsets(producer: TxnProducer, groupId: string): Promise<KafkaErrorCode>;
  /** Commits or aborts: answered once the decision is durable; markers follow. */
  endTransaction(producer: TxnProducer, commit: boolean): Promise<KafkaErrorCode>;
  /** Stores offsets of the transaction's group, visible only once the transaction commits. */
  commitOffsets(request: TxnOffsetCommitRequest): Promise<TxnOffsetCommitResult>;
  /**
   * Whether the producer may write a transactional batch to the partition now: it is the
   * transactional id's current producer and the partition is in its ongoing transaction
   * (INVALID_TXN_STATE otherwise, so no write can open a transaction the coordinator would never
   * end there). In memory, no I/O: the produce path asks it once per partition.
   */
  verifyPartition(producer: TxnProducer, topic: string, partition: number): KafkaErrorCode;
  describe(transactionalId: string): TransactionDescription;
  list(filter: TransactionListFilter): TransactionListing[];
  /** Stops timers and marker retries (a restart resumes them from the log). */
  close(): Promise<void>;
}
