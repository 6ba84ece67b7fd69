/**
 * What the transaction coordinator knows of one transactional id (Kafka's
 * TransactionMetadata, KIP-98): the producer id and epoch it was given, the
 * transaction timeout, where its current transaction stands, and the
 * partitions that transaction wrote to. One such value is the whole record the
 * coordinator keeps in `__transaction_state` for the id (transaction-record.ts).
 *
 * The states and their moves (Kafka's names, as DescribeTransactions shows them):
 *
 *   Empty ──AddPartitions/AddOffsets──▶ Ongoing ──EndTxn(commit)──▶ PrepareCommit ──markers──▶ CompleteCommit
 *     ▲                                   │  └──EndTxn(abort), timeout, fencing──▶ PrepareAbort ──markers──▶ CompleteAbort
 *     └───────────── InitProducerId (new epoch) from Empty, CompleteCommit or CompleteAbort ◀──────────────┘
 *
 * CompleteCommit and CompleteAbort accept a new transaction (AddPartitions) as
 * Empty does. A Prepare state is written before any marker goes out and is
 * resumed after a crash: the markers are written again (they are idempotent)
 * and the Complete state follows.
 */
export const TxnState = {
  EMPTY: 'Empty',
  ONGOING: 'Ongoing',
  PREPARE_COMMIT: 'PrepareCommit',
  PREPARE_ABORT: 'PrepareAbort',
  COMPLETE_COMMIT: 'CompleteCommit',
  COMPLETE_ABORT: 'CompleteAbort',
} as const;
export type TxnState = (typeof TxnState)[keyof typeof TxnState];

/** The states in their on-disk order (transaction-record.ts stores the index). */
export const TXN_STATES: readonly TxnState[] = [
  TxnState.EMPTY,
  TxnState.ONGOING,
  TxnState.PREPARE_COMMIT,
  TxnState.PREPARE_ABORT,
  TxnState.COMPLETE_COMMIT,
  TxnState.COMPLETE_ABORT,
];

export function isTxnState(name: string): name is TxnState {
  return (TXN_STATES as readonly string[]).includes(name);
}

/** A partition of a transaction. */
export interface TxnPartition {
  readonly topic: string;
  readonly partition: number;
}

export interface TransactionMetadata {
  readonly transactionalId: string;
  readonly producerId: number;
  /** The producer id before the last one was exhausted (epoch overflow), or -1. */
  readonly lastProducerId: number;
  readonly producerEpoch: number;
  /** The epoch before the last bump, or -1: a retried InitProducerId (KIP-360) is recognised by it. */
  readonly lastProducerEpoch: number;
  readonly timeoutMs: number;
  readonly state: TxnState;
  /** Partitions the current (or completing) transaction wrote to; empty when there is none. */
  readonly partitions: readonly TxnPartition[];
  /** When the current transaction began (its first AddPartitions), -1 when there is none. */
  readonly startMs: number;
  readonly updatedMs: number;
}

/** Whether a new transaction may begin in this state (AddPartitionsToTxn, AddOffsetsToTxn). */
export function acceptsNewTransaction(state: TxnState): boolean {
  return state === TxnState.EMPTY || state === TxnState.COMPLETE_COMMIT || state === TxnState.COMPLETE_ABORT;
}

/** Whether markers are being written for the transaction (the producer must wait). */
export function isPreparing(state: TxnState): boolean {
  return state === TxnState.PREPARE_COMMIT || state === TxnState.PREPARE_ABORT;
}

export function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/** The partitions of `current` with `added` appended (each once), in the order first added. */
export function withPartitions(
  current: readonly TxnPartition[],
  added: readonly TxnPartition[],
): TxnPartition[] {
  const seen = new Set(current.map((p) => partitionKey(p.topic, p.partition)));
  const out = [...current];
  for (const p of added) {
    const key = partitionKey(p.topic, p.partition);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ topic: p.topic, partition: p.partition });
  }
  return out;
}

/** Kafka's largest producer epoch (a short); past it the coordinator takes a new producer id. */
export const PRODUCER_EPOCH_MAX = 32_767;
