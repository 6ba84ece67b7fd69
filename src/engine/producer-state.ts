import { KafkaErrorCode } from '../common/kafka-error-code.js';

/**
 * Idempotent-producer bookkeeping for one partition, owned by its shard.
 *
 * For each producer id it keeps the current epoch and the sequence ranges of
 * the last five batches appended (Kafka clients keep at most five in flight,
 * so a retry is always one of them). A batch is then:
 *   - a duplicate when its first and last sequence equal one of those five:
 *     it is not appended, and the original base offset is returned;
 *   - in order when it starts right after the last sequence (wrapping at 2^31);
 *   - out of order otherwise (OUT_OF_ORDER_SEQUENCE_NUMBER);
 *   - fenced when its epoch is older than the producer's (INVALID_PRODUCER_EPOCH).
 * A new epoch must start at sequence 0. A producer id never seen (or whose
 * state was not rebuilt because it was idle for long) is accepted at any
 * sequence, as Kafka does since KIP-360, and tracked from there.
 *
 * The state is rebuilt on open by scanning the log's tail (see Shard), so it
 * survives restarts and crashes without a file of its own.
 *
 * Producer ids are client-supplied values, so what the table keeps is
 * bounded twice (ProducerLimits): a producer not heard from for
 * `expirationMs` (Kafka's producer.id.expiration.ms) is forgotten, and past
 * `maxProducers` ids the least recently used one is forgotten to make room.
 * A forgotten producer is accepted afresh at any sequence, as an unknown one
 * is. The map is kept in least-recently-used order (an append moves its
 * producer to the end), so both bounds look only at its oldest entries.
 */
export interface ProducerLimits {
  /** A producer idle this long is forgotten (producer.id.expiration.ms). */
  readonly expirationMs: number;
  /** Most producer ids remembered per partition. */
  readonly maxProducers: number;
}

export const DEFAULT_PRODUCER_LIMITS: ProducerLimits = {
  expirationMs: 7 * 24 * 3600 * 1000,
  maxProducers: 10_000,
};
export const DUPLICATE = 1;
export const APPEND = 0;

const BATCHES_KEPT = 5;
const SEQUENCE_MODULUS = 2 ** 31;

class ProducerEntry {
  epoch: number;
  /** Ring of the last five batches: first sequence, last sequence, base offset. */
  readonly firstSequences = new Array<number>(BATCHES_KEPT).fill(-1);
  readonly lastSequences = new Array<number>(BATCHES_KEPT).fill(-1);
  readonly baseOffsets = new Array<number>(BATCHES_KEPT).fill(-1);
  next = 0;
  count = 0;
  /** When this producer last appended (wall clock; on rebuild, the batch's max timestamp). */
  lastUsedMs = 0;

  constructor(epoch: number) {
    this.epoch = epoch;
  }

  lastSequence(): number {
    return this.lastSequences[(this.next + BATCHES_KEPT - 1) % BATCHES_KEPT]!;
  }

  remember(firstSequence: number, lastSequence: number, baseOffset: number): void {
    this.firstSequences[this.next] = firstSequence;
    this.lastSequences[this.next] = lastSequence;
    this.baseOffsets[this.next] = baseOffset;
    this.next = (this.next + 1) % BATCHES_KEPT;
    if (this.count < BATCHES_KEPT) this.count++;
  }

  reset(epoch: number): void {
    this.epoch = epoch;
    this.count = 0;
    this.next = 0;
  }
}

export class ProducerStateTable {
  private readonly producers = new Map<number, ProducerEntry>();
  /** Set by check(): the original base offset of a duplicate, or the error of a rejected batch. */
  duplicateBaseOffset = -1;
  errorCode: KafkaErrorCode = KafkaErrorCode.NONE;

  constructor(private readonly limits: ProducerLimits = DEFAULT_PRODUCER_LIMITS) {}

  /**
   * Decides what to do with a batch from an idempotent producer. Returns
   * APPEND or DUPLICATE; any other value is a Kafka error code (also left in
   * `errorCode`). Changes nothing: call `recordAppend` after appending.
   */
  check(
    producerId: number,
    epoch: number,
    firstSequence: number,
    recordCount: number,
    nowMs: number = Date.now(),
  ): number {
    this.errorCode = KafkaErrorCode.NONE;
    if (producerId < 0) return APPEND;
    const entry = this.producers.get(producerId);
    if (entry === undefined) return APPEND;
    if (nowMs - entry.lastUsedMs > this.limits.expirationMs) {
      this.producers.delete(producerId);
      return APPEND;
    }
    if (epoch < entry.epoch) return this.fail(KafkaErrorCode.INVALID_PRODUCER_EPOCH);
    if (epoch > entry.epoch)
      return firstSequence === 0 ? APPEND : this.fail(KafkaErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    const lastSequence = (firstSequence + recordCount - 1) % SEQUENCE_MODULUS;
    for (let i = 0; i < entry.count; i++) {
      if (entry.firstSequences[i] === firstSequence && entry.lastSequences[i] === lastSequence) {
        this.duplicateBaseOffset = entry.baseOffsets[i]!;
        return DUPLICATE;
      }
    }
    if (entry.count === 0) return APPEND;
    if (firstSequence === (entry.lastSequence() + 1) % SEQUENCE_MODULUS) return APPEND;
    return this.fail(KafkaErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  }

  /** Records an appended batch (also used when rebuilding from the log). */
  recordAppend(
    producerId: number,
    epoch: number,
    firstSequence: number,
    recordCount: number,
    baseOffset: number,
    nowMs: number = Date.now(),
  ): void {
    if (producerId < 0) return;
    let entry = this.producers.get(producerId);
    if (entry === undefined) {
      if (this.producers.size >= this.limits.maxProducers) {
        // The first key is the least recently used: forget it to make room.
        const oldest = this.producers.keys().next();
        if (oldest.done !== true) this.producers.delete(oldest.value);
      }
      entry = new ProducerEntry(epoch);
      this.producers.set(producerId, entry);
    } else {
      if (epoch !== entry.epoch) entry.reset(epoch);
      // Move it to the end: the map stays in least-recently-used order.
      this.producers.delete(producerId);
      this.producers.set(producerId, entry);
    }
    entry.lastUsedMs = Math.max(entry.lastUsedMs, nowMs);
    entry.remember(firstSequence, (firstSequence + recordCount - 1) % SEQUENCE_MODULUS, baseOffset);
  }

  /**
   * A transaction marker for `producerId` at `epoch`: refused (false) when
   * the producer is known here at a newer epoch; a newer epoch than the one
   * known fences the older (its batches get INVALID_PRODUCER_EPOCH from now
   * on), as Kafka's markers do after an epoch bump.
   */
  acceptMarkerEpoch(producerId: number, epoch: number): boolean {
    const entry = this.producers.get(producerId);
    if (entry === undefined) return true;
    if (epoch < entry.epoch) return false;
    if (epoch > entry.epoch) entry.reset(epoch);
    return true;
  }

  /** Forgets producers idle for longer than the expiration; returns how many. Called on the retention timer. */
  expire(nowMs: number): number {
    let expired = 0;
    for (const [producerId, entry] of this.producers) {
      if (nowMs - entry.lastUsedMs <= this.limits.expirationMs) break;
      this.producers.delete(producerId);
      expired++;
    }
    return expired;
  }

  size(): number {
    return this.producers.size;
  }

  /** Forgets every producer (the log was truncated: the state is rebuilt from what is left). */
  clear(): void {
    this.producers.clear();
  }

  private fail(code: KafkaErrorCode): number {
    this.errorCode = code;
    return code;
  }
}
