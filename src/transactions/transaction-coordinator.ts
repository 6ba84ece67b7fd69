import { KafkaErrorCode } from '../common/kafka-error-code.js';
import type { Engine } from '../engine/engine-api.js';
import type {
  ProducerIdResult,
  TransactionCoordinatorApi,
  TransactionDescription,
  TransactionListFilter,
  TransactionListing,
  TxnInitProducerIdRequest,
  TxnOffsetCommitRequest,
  TxnOffsetCommitResult,
  TxnProducer,
} from './transaction-coordinator-api.js';
import {
  TRANSACTION_ABORT_CHECK_INTERVAL_MS_DEFAULT,
  TRANSACTION_MAX_TIMEOUT_MS_DEFAULT,
  TRANSACTION_PARTITIONS_MAX,
  TRANSACTIONAL_ID_EXPIRATION_MS_DEFAULT,
} from './transaction-limits.js';
import { TransactionLog, type TransactionLogWarnings } from './transaction-log.js';
import {
  pause,
  type TransactionalOffsets,
  type TxnMarkerWriter,
  writeMarkers,
} from './transaction-markers.js';
import { TXN_RECORD_STRING_BYTES_MAX, utf8Bytes } from './transaction-record.js';
import {
  acceptsNewTransaction,
  isPreparing,
  PRODUCER_EPOCH_MAX,
  partitionKey,
  type TransactionMetadata,
  type TxnPartition,
  TxnState,
  withPartitions,
} from './transaction-state.js';

/**
 * The transaction coordinator (KIP-98, KIP-360, KIP-447): it maps each
 * transactional id to a producer id and epoch, fences older epochs, and runs
 * each transaction's two-phase end:
 *
 *   1. EndTxn (or a timeout, or a new producer's InitProducerId) writes
 *      PrepareCommit or PrepareAbort to `__transaction_state` — the decision,
 *      durable before anything else happens — and the producer is answered;
 *   2. markers go to every partition of the transaction (and the group side
 *      completes its pending offsets), each retried until it lands;
 *   3. CompleteCommit or CompleteAbort is written.
 *
 * A crash anywhere leaves the last durable state in the log: a Prepare state
 * found on open is resumed at step 2 (markers are idempotent), an Ongoing
 * transaction runs on until it ends or times out.
 *
 * Every change is written to the log first and applied in memory once durable;
 * while a change of a transactional id is in flight, other requests for it
 * are answered CONCURRENT_TRANSACTIONS (the client retries), as Kafka does.
 * Runs on the acceptor thread.
 */
export interface TransactionCoordinatorOptions {
  /** Fresh producer ids (the broker's sequencer). */
  nextProducerId(): Promise<number>;
  writeMarker: TxnMarkerWriter;
  offsets: TransactionalOffsets;
  /** Kafka's transaction.max.timeout.ms. */
  maxTimeoutMs?: number;
  abortCheckIntervalMs?: number;
  /** Kafka's transactional.id.expiration.ms. */
  idExpirationMs?: number;
  nowMs?: () => number;
  log?: TransactionLogWarnings & { info?(details: object, message: string): void };
  /** Written into every marker; 0 on a single broker (no coordinator ever takes over from another). */
  coordinatorEpoch?: number;
}

const SILENT = { warn: () => undefined };

/** How long AddPartitionsToTxn waits for the previous transaction's markers before CONCURRENT_TRANSACTIONS. */
const COMPLETION_WAIT_MS = 1_000;

type Outcome = KafkaErrorCode;

export class TransactionCoordinator implements TransactionCoordinatorApi {
  private readonly states: Map<string, TransactionMetadata>;
  /** Transactional ids with a change in flight (a state write, or markers being written). */
  private readonly busy = new Set<string>();
  /** Completions under way (markers then the Complete state), awaited by tests and close. */
  private readonly completions = new Map<string, Promise<void>>();
  /** Aborts of expired transactions whose Prepare record is being written. */
  private readonly expiries = new Set<Promise<void>>();
  private readonly timer: NodeJS.Timeout;
  private closed = false;
  private readonly maxTimeoutMs: number;
  private readonly idExpirationMs: number;
  private readonly nowMs: () => number;
  private readonly warnings: TransactionLogWarnings;
  private readonly coordinatorEpoch: number;

  private constructor(
    private readonly log: TransactionLog,
    states: Map<string, TransactionMetadata>,
    private readonly options: TransactionCoordinatorOptions,
  ) {
    this.states = states;
    this.maxTimeoutMs = options.maxTimeoutMs ?? TRANSACTION_MAX_TIMEOUT_MS_DEFAULT;
    this.idExpirationMs = options.idExpirationMs ?? TRANSACTIONAL_ID_EXPIRATION_MS_DEFAULT;
    this.nowMs = options.nowMs ?? Date.now;
    this.warnings = options.log ?? SILENT;
    this.coordinatorEpoch = options.coordinatorEpoch ?? 0;
    this.timer = setInterval(() => {
      this.abortExpired();
      this.forgetIdle();
    }, options.abortCheckIntervalMs ?? TRANSACTION_ABORT_CHECK_INTERVAL_MS_DEFAULT);
    this.timer.unref();
  }

  /**
   * Reads `__transaction_state` back (when it exists) and opens the coordinator over it; the
   * topic gets `statePartitions` partitions when the first transactional id creates it.
   */
  static async open(
    engine: Engine,
    options: TransactionCoordinatorOptions & { statePartitions?: number },
  ): Promise<TransactionCoordinator> {
    const { log, states } = await TransactionLog.open(
      engine,
      options.statePartitions ?? 1,
      options.log ?? SILENT,
    );
    return TransactionCoordinator.create(log, states, options);
  }

  /**
   * Opens the coordinator over the state read back from the log, and resumes
   * every transaction that was between its decision and its markers.
   */
  static create(
    log: TransactionLog,
    states: Map<string, TransactionMetadata>,
    options: TransactionCoordinatorOptions,
  ): TransactionCoordinator {
    const coordinator = new TransactionCoordinator(log, states, options);
    for (const metadata of states.values()) {
      if (isPreparing(metadata.state)) coordinator.complete(metadata);
    }
    return coordinator;
  }

  async initProducerId(request: TxnInitProducerIdRequest): Promise<ProducerIdResult> {
    const failed = (errorCode: KafkaErrorCode): ProducerIdResult => ({
      errorCode,
      producerId: -1,
      producerEpoch: -1,
    });
    const id = request.transactionalId;
    if (this.closed) return failed(KafkaErrorCode.COORDINATOR_NOT_AVAILABLE);
    if (id.length === 0 || utf8Bytes(id) > TXN_RECORD_STRING_BYTES_MAX)
      return failed(KafkaErrorCode.INVALID_REQUEST);
    const timeoutMs = request.transactionTimeoutMs;
    if (!Number.isInteger(timeoutMs) || timeoutMs <= 0 || timeoutMs > this.maxTimeoutMs)
      return failed(KafkaErrorCode.INVALID_TRANSACTION_TIMEOUT);
    if (this.busy.has(id)) return failed(KafkaErrorCode.CONCURRENT_TRANSACTIONS);
    const current = this.states.get(id);
    const asksBump = request.producerId !== -1 || request.producerEpoch !== -1;
    if (asksBump) {
      // KIP-360: a producer that knows its id and epoch asks for the next epoch.
      if (current === undefined) return failed(KafkaErrorCode.INVALID_PRODUCER_ID_MAPPING);
      const previous =
        (request.producerId === current.producerId || request.producerId === current.lastProducerId) &&
        request.producerEpoch === current.lastProducerEpoch;
      // A retry of the InitProducerId that made the current epoch: answered again, nothing bumped.
      if (previous && current.state === TxnState.EMPTY) {
        return {
          errorCode: KafkaErrorCode.NONE,
          producerId: current.producerId,
          producerEpoch: current.producerEpoch,
        };
      }
      const isCurrent =
        request.producerId === current.producerId && request.producerEpoch === current.producerEpoch;
      // The epoch a timeout abort fenced may bump again once that abort is complete (KIP-360).
      const recovering = previous && current.state === TxnState.COMPLETE_ABORT;
      if (!isCurrent && !recovering) return failed(KafkaErrorCode.PRODUCER_FENCED);
    }
    if (current !== undefined && isPreparing(current.state))
      return failed(KafkaErrorCode.CONCURRENT_TRANSACTIONS);
    if (current !== undefined && current.state === TxnState.ONGOING) {
      // A new producer with this transactional id fences the old one: its transaction is aborted
      // under a bumped epoch (markers with it fence the old producer on every partition), and the
      // new producer retries until the abort is complete.
      const code = await this.abortWithNewEpoch(current, 'fenced by a new producer');
      return failed(code === KafkaErrorCode.NONE ? KafkaErrorCode.CONCURRENT_TRANSACTIONS : code);
    }
    this.busy.add(id);
    try {
      let next: TransactionMetadata;
      const nowMs = this.nowMs();
      if (current === undefined || current.producerEpoch >= PRODUCER_EPOCH_MAX - 1) {
        let producerId: number;
        try {
          producerId = await this.options.nextProducerId();
        } catch {
          return failed(KafkaErrorCode.COORDINATOR_NOT_AVAILABLE);
        }
        next = {
          transactionalId: id,
          producerId,
          lastProducerId: current?.producerId ?? -1,
          producerEpoch: 0,
          lastProducerEpoch: asksBump ? (current?.producerEpoch ?? -1) : -1,
          timeoutMs,
          state: TxnState.EMPTY,
          partitions: [],
          startMs: -1,
          updatedMs: nowMs,
        };
      } else {
        next = {
          ...current,
          lastProducerId: current.producerId,
          producerEpoch: current.producerEpoch + 1,
          // Remembered only for a KIP-360 bump, whose retry is then recognised; a fresh producer's
          // InitProducerId leaves nothing an older holder of the id could claim.
          lastProducerEpoch: asksBump ? current.producerEpoch : -1,
          timeoutMs,
          state: TxnState.EMPTY,
          partitions: [],
          startMs: -1,
          updatedMs: nowMs,
        };
      }
      const code = await this.persist(next);
      if (code !== KafkaErrorCode.NONE) return failed(code);
      return {
        errorCode: KafkaErrorCode.NONE,
        producerId: next.producerId,
        producerEpoch: next.producerEpoch,
      };
    } finally {
      this.busy.delete(id);
    }
  }

  async addPartitions(producer: TxnProducer, partitions: readonly TxnPartition[]): Promise<KafkaErrorCode> {
    await this.previousCompletion(producer.transactionalId);
    const checked = this.checkProducer(producer);
    if (typeof checked === 'number') return checked;
    const current = checked;
    if (isPreparing(current.state)) return KafkaErrorCode.CONCURRENT_TRANSACTIONS;
    if (current.state !== TxnState.ONGOING && !acceptsNewTransaction(current.state))
      return KafkaErrorCode.INVALID_TXN_STATE;
    const base = current.state === TxnState.ONGOING ? current.partitions : [];
    const merged = withPartitions(base, partitions);
    // Nothing new for an ongoing transaction: no write needed (a retried AddPartitions).
    if (current.state === TxnState.ONGOING && merged.length === base.length) return KafkaErrorCode.NONE;
    if (merged.length > TRANSACTION_PARTITIONS_MAX) return KafkaErrorCode.INVALID_REQUEST;
    const nowMs = this.nowMs();
    return this.change(current, {
      ...current,
      state: TxnState.ONGOING,
      partitions: merged,
      startMs: current.state === TxnState.ONGOING ? current.startMs : nowMs,
      updatedMs: nowMs,
    });
  }

  addOffsets(producer: TxnProducer, groupId: string): Promise<KafkaErrorCode> {
    const offsets = this.options.offsets;
    return this.addPartitions(producer, [
      { topic: offsets.offsetsTopic, partition: offsets.offsetsPartitionFor(groupId) },
    ]);
  }

  async endTransaction(producer: TxnProducer, commit: boolean): Promise<KafkaErrorCode> {
    const checked = this.checkProducer(producer);
    if (typeof checked === 'number') return checked;
    const current = checked;
    switch (current.state) {
      case TxnState.ONGOING:
        break;
      case TxnState.PREPARE_COMMIT:
        return commit ? KafkaErrorCode.CONCURRENT_TRANSACTIONS : KafkaErrorCode.INVALID_TXN_STATE;
      case TxnState.PREPARE_ABORT:
        return commit ? KafkaErrorCode.INVALID_TXN_STATE : KafkaErrorCode.CONCURRENT_TRANSACTIONS;
      case TxnState.COMPLETE_COMMIT:
        // A retried EndTxn whose first attempt completed.
        return commit ? KafkaErrorCode.NONE : KafkaErrorCode.INVALID_TXN_STATE;
      case TxnState.COMPLETE_ABORT:
        return commit ? KafkaErrorCode.INVALID_TXN_STATE : KafkaErrorCode.NONE;
      default:
        return KafkaErrorCode.INVALID_TXN_STATE;
    }
    const prepared: TransactionMetadata = {
      ...current,
      state: commit ? TxnState.PREPARE_COMMIT : TxnState.PREPARE_ABORT,
      updatedMs: this.nowMs(),
    };
    const code = await this.change(current, prepared);
    if (code === KafkaErrorCode.NONE) this.complete(prepared);
    return code;
  }

  async commitOffsets(request: TxnOffsetCommitRequest): Promise<TxnOffsetCommitResult> {
    const answerAll = (errorCode: KafkaErrorCode): TxnOffsetCommitResult => ({
      topics: request.topics.map((topic) => ({
        topic: topic.topic,
        partitions: topic.partitions.map((p) => ({ partition: p.partition, errorCode })),
      })),
    });
    const checked = this.checkProducer(request);
    if (typeof checked === 'number') return answerAll(checked);
    const offsets = this.options.offsets;
    const offsetsPartition = partitionKey(offsets.offsetsTopic, offsets.offsetsPartitionFor(request.groupId));
    if (checked.state !== TxnState.ONGOING) return answerAll(KafkaErrorCode.INVALID_TXN_STATE);
    // AddOffsetsToTxn must come first: without it the outcome would never reach these offsets.
    if (!checked.partitions.some((p) => partitionKey(p.topic, p.partition) === offsetsPartition))
      return answerAll(KafkaErrorCode.INVALID_TXN_STATE);
    this.busy.add(request.transactionalId);
    try {
      return await offsets.commitPendingOffsets(request);
    } finally {
      this.busy.delete(request.transactionalId);
    }
  }

  verifyPartition(producer: TxnProducer, topic: string, partition: number): KafkaErrorCode {
    if (this.closed) return KafkaErrorCode.COORDINATOR_NOT_AVAILABLE;
    const current = this.states.get(producer.transactionalId);
    if (current === undefined || current.producerId !== producer.producerId)
      return KafkaErrorCode.INVALID_PRODUCER_ID_MAPPING;
    if (current.producerEpoch !== producer.producerEpoch) return KafkaErrorCode.PRODUCER_FENCED;
    if (current.state !== TxnState.ONGOING) return KafkaErrorCode.INVALID_TXN_STATE;
    for (const p of current.partitions) {
      if (p.partition === partition && p.topic === topic) return KafkaErrorCode.NONE;
    }
    return KafkaErrorCode.INVALID_TXN_STATE;
  }

  describe(transactionalId: string): TransactionDescription {
    const metadata = this.states.get(transactionalId);
    if (metadata === undefined || this.closed) {
      return {
        errorCode: this.closed
          ? KafkaErrorCode.COORDINATOR_NOT_AVAILABLE
          : KafkaErrorCode.TRANSACTIONAL_ID_NOT_FOUND,
        transactionalId,
        state: '',
        timeoutMs: 0,
        startMs: -1,
        producerId: -1,
        producerEpoch: -1,
        partitions: [],
      };
    }
    return {
      errorCode: KafkaErrorCode.NONE,
      transactionalId,
      state: metadata.state,
      timeoutMs: metadata.timeoutMs,
      startMs: metadata.startMs,
      producerId: metadata.producerId,
      producerEpoch: metadata.producerEpoch,
      partitions: metadata.partitions,
    };
  }

  list(filter: TransactionListFilter): TransactionListing[] {
    const nowMs = this.nowMs();
    const out: TransactionListing[] = [];
    for (const metadata of this.states.values()) {
      if (filter.states.length > 0 && !filter.states.includes(metadata.state)) continue;
      if (filter.producerIds.length > 0 && !filter.producerIds.includes(metadata.producerId)) continue;
      if (
        filter.minDurationMs >= 0 &&
        (metadata.startMs < 0 || nowMs - metadata.startMs <= filter.minDurationMs)
      )
        continue;
      out.push({
        transactionalId: metadata.transactionalId,
        producerId: metadata.producerId,
        state: metadata.state,
      });
    }
    return out;
  }

  /** Resolves once every expiry and completion under way has finished (or stopped): for tests and shutdown. */
  async settled(): Promise<void> {
    while (this.completions.size > 0 || this.expiries.size > 0) {
      await Promise.all([...this.completions.values(), ...this.expiries]);
    }
  }

  /**
   * Forgets transactional ids idle past the expiration with no transaction under way (also run by
   * the timer): a tombstone is written first, then the id leaves memory unless it changed meanwhile.
   */
  forgetIdle(): void {
    if (this.closed) return;
    const nowMs = this.nowMs();
    for (const metadata of this.states.values()) {
      const id = metadata.transactionalId;
      if (!acceptsNewTransaction(metadata.state) || this.busy.has(id)) continue;
      if (nowMs - metadata.updatedMs <= this.idExpirationMs) continue;
      this.busy.add(id);
      const forgetting: Promise<void> = this.log
        .forget(id, nowMs)
        .then(
          (code) => {
            if (code === KafkaErrorCode.NONE && this.states.get(id) === metadata) this.states.delete(id);
          },
          (error: unknown) =>
            this.warnings.warn({ transactionalId: id, error: String(error) }, 'cannot forget an idle id'),
        )
        .finally(() => {
          this.busy.delete(id);
          this.expiries.delete(forgetting);
        });
      this.expiries.add(forgetting);
    }
  }

  /** Aborts every ongoing transaction past its timeout (also run by the timer). */
  abortExpired(): void {
    if (this.closed) return;
    const nowMs = this.nowMs();
    for (const metadata of this.states.values()) {
      if (metadata.state !== TxnState.ONGOING || this.busy.has(metadata.transactionalId)) continue;
      if (nowMs - metadata.startMs <= metadata.timeoutMs) continue;
      const expiry: Promise<void> = this.abortWithNewEpoch(metadata, 'transaction timed out')
        .then(
          (code) => {
            if (code !== KafkaErrorCode.NONE)
              this.warnings.warn(
                { transactionalId: metadata.transactionalId, code },
                'cannot abort an expired transaction yet; trying again at the next check',
              );
          },
          (error: unknown) =>
            this.warnings.warn(
              { transactionalId: metadata.transactionalId, error: String(error) },
              'expiry failed',
            ),
        )
        .finally(() => this.expiries.delete(expiry));
      this.expiries.add(expiry);
    }
  }

  /**
   * Stops timers and marker retries; completions under way stop at their next step without
   * being waited for (a marker write in flight is bounded by the engine's request timeout).
   */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
  }

  /**
   * The producer's next transaction begins right after EndTxn, usually while the previous one's
   * markers are still being written: rather than answer CONCURRENT_TRANSACTIONS at once (which a
   * client retries only after its backoff, ~100 ms or more), wait for that completion a little.
   */
  private async previousCompletion(transactionalId: string): Promise<void> {
    const completion = this.completions.get(transactionalId);
    if (completion !== undefined) await Promise.race([completion, pause(COMPLETION_WAIT_MS)]);
  }

  /** The transaction's metadata when the request names its current producer, else the error to answer. */
  private checkProducer(producer: TxnProducer): TransactionMetadata | KafkaErrorCode {
    if (this.closed) return KafkaErrorCode.COORDINATOR_NOT_AVAILABLE;
    const current = this.states.get(producer.transactionalId);
    if (current === undefined || current.producerId !== producer.producerId)
      return KafkaErrorCode.INVALID_PRODUCER_ID_MAPPING;
    if (current.producerEpoch !== producer.producerEpoch) return KafkaErrorCode.PRODUCER_FENCED;
    if (this.busy.has(producer.transactionalId)) return KafkaErrorCode.CONCURRENT_TRANSACTIONS;
    return current;
  }

  /**
   * Aborts an ongoing transaction under the next epoch, so the producer that
   * owned it is fenced (Kafka's prepareFenceProducerEpoch): PrepareAbort is
   * written with the bumped epoch, then markers carry it to every partition.
   * At the last epoch the epoch stays; the next InitProducerId then takes a new producer id.
   */
  private async abortWithNewEpoch(current: TransactionMetadata, reason: string): Promise<Outcome> {
    if (this.busy.has(current.transactionalId)) return KafkaErrorCode.CONCURRENT_TRANSACTIONS;
    const bumped = current.producerEpoch < PRODUCER_EPOCH_MAX - 1;
    const prepared: TransactionMetadata = {
      ...current,
      producerEpoch: bumped ? current.producerEpoch + 1 : current.producerEpoch,
      lastProducerEpoch: bumped ? current.producerEpoch : current.lastProducerEpoch,
      state: TxnState.PREPARE_ABORT,
      updatedMs: this.nowMs(),
    };
    const code = await this.change(current, prepared);
    if (code === KafkaErrorCode.NONE) {
      this.options.log?.info?.(
        { transactionalId: current.transactionalId, reason },
        'aborting a transaction',
      );
      this.complete(prepared);
    }
    return code;
  }

  /**
   * Writes `next` durably and applies it, unless the transactional id changed
   * meanwhile (CONCURRENT_TRANSACTIONS) or the write failed.
   */
  private async change(current: TransactionMetadata, next: TransactionMetadata): Promise<Outcome> {
    const id = current.transactionalId;
    if (this.busy.has(id)) return KafkaErrorCode.CONCURRENT_TRANSACTIONS;
    this.busy.add(id);
    try {
      if (this.states.get(id) !== current) return KafkaErrorCode.CONCURRENT_TRANSACTIONS;
      return await this.persist(next);
    } finally {
      this.busy.delete(id);
    }
  }

  /** Writes the state to the log and, once durable, into memory. The caller holds the id busy. */
  private async persist(next: TransactionMetadata): Promise<Outcome> {
    let code: KafkaErrorCode;
    try {
      code = await this.log.write(next);
    } catch {
      code = KafkaErrorCode.UNKNOWN_SERVER_ERROR;
    }
    if (code !== KafkaErrorCode.NONE) {
      this.warnings.warn({ transactionalId: next.transactionalId, code }, 'cannot write transaction state');
      // Retriable for the client: the coordinator is there, its log is not writable now.
      return KafkaErrorCode.COORDINATOR_NOT_AVAILABLE;
    }
    if (this.closed) return KafkaErrorCode.COORDINATOR_NOT_AVAILABLE;
    this.states.set(next.transactionalId, next);
    return KafkaErrorCode.NONE;
  }

  /**
   * Steps 2 and 3 of a prepared transaction: markers, then the Complete state.
   * Holds the id busy throughout; stops when the coordinator closes (a restart resumes it).
   */
  private complete(prepared: TransactionMetadata): void {
    const id = prepared.transactionalId;
    this.busy.add(id);
    const commit = prepared.state === TxnState.PREPARE_COMMIT;
    const run = async (): Promise<void> => {
      const landed = await writeMarkers(prepared, commit, this.coordinatorEpoch, {
        writeMarker: this.options.writeMarker,
        offsets: this.options.offsets,
        stopped: () => this.closed,
        onRetry: (partition, code, attempt) =>
          this.warnings.warn(
            { transactionalId: id, topic: partition.topic, partition: partition.partition, code, attempt },
            'transaction marker not written yet; retrying',
          ),
      });
      if (!landed) return;
      const completed: TransactionMetadata = {
        ...prepared,
        state: commit ? TxnState.COMPLETE_COMMIT : TxnState.COMPLETE_ABORT,
        partitions: [],
        startMs: -1,
        updatedMs: this.nowMs(),
      };
      // The markers are out; only the Complete record is missing. Retried until the log takes it.
      for (let attempt = 0; !this.closed; attempt++) {
        if ((await this.persist(completed)) === KafkaErrorCode.NONE) return;
        await new Promise<void>((resolve) => setTimeout(resolve, Math.min(2000, 50 * 2 ** attempt)).unref());
      }
    };
    const done = run()
      .catch((error: unknown) =>
        this.warnings.warn({ transactionalId: id, error: String(error) }, 'transaction completion failed'),
      )
      .finally(() => {
        this.busy.delete(id);
        this.completions.delete(id);
      });
    this.completions.set(id, done);
  }
}
