import { KafkaErrorCode } from '../common/kafka-error-code.js';
import type { TxnMarker } from '../engine/engine-api.js';
import type { TxnOffsetCommitRequest, TxnOffsetCommitResult } from './transaction-coordinator-api.js';
import { MARKER_RETRY_FIRST_MS, MARKER_RETRY_MAX_MS } from './transaction-limits.js';
import type { TransactionMetadata, TxnPartition } from './transaction-state.js';

/**
 * Appends a marker to its partition and ends the producer's transaction there
 * (Engine.writeTxnMarker). Idempotent; resolves with NONE or an error code.
 */
export type { TxnMarker };

export type TxnMarkerWriter = (marker: TxnMarker) => Promise<KafkaErrorCode>;

/**
 * The group coordinator's side of transactions, as the transaction
 * coordinator sees it (implemented by GroupCoordinator; kept structural so
 * neither module imports the other). Offsets a transaction commits are held
 * per producer id until the transaction's outcome is known.
 */
export interface TransactionalOffsets {
  /** The internal topic holding committed offsets. */
  readonly offsetsTopic: string;
  /** The partition of the offsets topic holding a group's offsets. */
  offsetsPartitionFor(groupId: string): number;
  /** Stores offsets durably as pending for the producer; not visible until completeTransaction commits. */
  commitPendingOffsets(request: TxnOffsetCommitRequest): Promise<TxnOffsetCommitResult>;
  /**
   * Makes the producer's pending offsets visible (commit) or drops them (abort), durably;
   * NONE when it has none. Idempotent.
   */
  completeTransaction(producerId: number, commit: boolean): Promise<KafkaErrorCode>;
}

export interface MarkerDeps {
  writeMarker: TxnMarkerWriter;
  offsets: TransactionalOffsets;
  /** The coordinator was closed: stop retrying (a restart resumes from the log). */
  stopped(): boolean;
  /** Called for a marker that keeps failing (every few retries), for the log. */
  onRetry(partition: TxnPartition, errorCode: KafkaErrorCode, attempt: number): void;
}

/** Waits `ms` without holding the process open. */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => {
    setTimeout(resolve, ms).unref();
  });
}

/** Retries `attempt` until it resolves NONE (or a code `done` accepts) or the coordinator stops. */
async function untilDone(
  attempt: () => Promise<KafkaErrorCode>,
  done: (code: KafkaErrorCode) => boolean,
  deps: MarkerDeps,
  partition: TxnPartition,
): Promise<boolean> {
  let delayMs = MARKER_RETRY_FIRST_MS;
  for (let tries = 1; ; tries++) {
    if (deps.stopped()) return false;
    let code: KafkaErrorCode;
    try {
      code = await attempt();
    } catch {
      // The engine resolves with codes; a rejection is a bug, retried like any failure rather than lost.
      code = KafkaErrorCode.UNKNOWN_SERVER_ERROR;
    }
    if (code === KafkaErrorCode.NONE || done(code)) return true;
    if (tries % 10 === 1) deps.onRetry(partition, code, tries);
    await pause(delayMs);
    delayMs = Math.min(delayMs * 2, MARKER_RETRY_MAX_MS);
  }
}

/**
 * Writes the outcome of a transaction to every partition it wrote to: a
 * control batch (COMMIT or ABORT) on each data partition, and, for the
 * offsets topic, the group side's completion (pending offsets made visible or
 * dropped). Each is retried until it lands; a partition whose topic was
 * deleted needs none. Resolves true when all landed, false when the
 * coordinator stopped first.
 */
export async function writeMarkers(
  metadata: TransactionMetadata,
  commit: boolean,
  coordinatorEpoch: number,
  deps: MarkerDeps,
): Promise<boolean> {
  let offsetsDone: Promise<boolean> | null = null;
  const writes: Promise<boolean>[] = [];
  for (const target of metadata.partitions) {
    if (target.topic === deps.offsets.offsetsTopic) {
      // One completion covers every group the producer committed offsets for.
      offsetsDone ??= untilDone(
        () => deps.offsets.completeTransaction(metadata.producerId, commit),
        () => false,
        deps,
        target,
      );
      continue;
    }
    const marker: TxnMarker = {
      topic: target.topic,
      partition: target.partition,
      producerId: metadata.producerId,
      producerEpoch: metadata.producerEpoch,
      commit,
      coordinatorEpoch,
    };
    writes.push(
      untilDone(
        () => deps.writeMarker(marker),
        (code) => code === KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        deps,
        target,
      ),
    );
  }
  if (offsetsDone !== null) writes.push(offsetsDone);
  const results = await Promise.all(writes);
  return results.every((landed) => landed);
}
