import {
  RECORD_HEADER_BYTES,
  RecordField,
  type RingRecord,
  RingSlot,
  recordBytes,
  ringViews,
  SPIN_POLLS,
  WRAP_MARKER,
} from './ring-layout.js';

/**
 * The consumer side of a ring (see ring-layout.ts). Owned by exactly one
 * thread: a shard for a request ring, the acceptor for a reply ring.
 *
 * Records are read in place: `tryRead` fills a caller-owned RingRecord with
 * where the payload is, and the bytes stay valid until `release()`, which
 * hands everything read so far back to the producer with one store.
 *
 * Waiting uses the doorbell protocol: set "consumer sleeping", re-check the
 * write index, then wait on it. The producer notifies only when the flag is
 * set, so a busy ring makes no wake-up calls at all.
 */
export class RingReader {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  private readonly control: Int32Array;
  private readonly dataBytes: number;
  private readonly mask: number;
  /** Read index including records read but not yet released. */
  private readPosition: number;
  private released: number;
  /** Last write index seen; reloaded only when the reader catches up with it. */
  private cachedWrite: number;

  constructor(buffer: SharedArrayBuffer) {
    const views = ringViews(buffer);
    this.control = views.control;
    this.bytes = views.bytes;
    this.view = views.view;
    this.dataBytes = views.dataBytes;
    this.mask = views.mask;
    this.readPosition = Atomics.load(this.control, RingSlot.READ_INDEX);
    this.released = this.readPosition;
    this.cachedWrite = Atomics.load(this.control, RingSlot.WRITE_INDEX);
  }

  /** Fills `out` with the next published record; false when there is none. */
  tryRead(out: RingRecord): boolean {
    for (;;) {
      if (this.readPosition === this.cachedWrite) {
        this.cachedWrite = Atomics.load(this.control, RingSlot.WRITE_INDEX);
        if (this.readPosition === this.cachedWrite) return false;
      }
      const position = this.readPosition & this.mask;
      const payloadBytes = this.view.getUint32(position + RecordField.PAYLOAD_BYTES);
      if (payloadBytes === WRAP_MARKER) {
        this.readPosition = (this.readPosition + this.dataBytes - position) | 0;
        continue;
      }
      out.payloadBytes = payloadBytes;
      out.type = this.view.getUint16(position + RecordField.TYPE);
      out.flags = this.view.getUint16(position + RecordField.FLAGS);
      out.correlationId = this.view.getUint32(position + RecordField.CORRELATION_ID);
      out.payloadPosition = position + RECORD_HEADER_BYTES;
      this.readPosition = (this.readPosition + recordBytes(payloadBytes)) | 0;
      return true;
    }
  }

  /** Frees every record read so far; wakes the producer only if it waits for space. */
  release(): void {
    if (this.readPosition === this.released) return;
    this.released = this.readPosition;
    Atomics.store(this.control, RingSlot.READ_INDEX, this.readPosition);
    if (Atomics.load(this.control, RingSlot.PRODUCER_WAITING) !== 0) {
      Atomics.add(this.control, RingSlot.NOTIFY_COUNT, 1);
      Atomics.notify(this.control, RingSlot.READ_INDEX);
    }
  }

  /** Bytes published and not yet released. */
  usedBytes(): number {
    return (Atomics.load(this.control, RingSlot.WRITE_INDEX) - this.released) >>> 0;
  }

  /** True when a record is published and not yet read. */
  hasData(): boolean {
    return this.readPosition !== Atomics.load(this.control, RingSlot.WRITE_INDEX);
  }

  /**
   * For threads with an event loop: resolves when a record is published, when
   * `interrupt` is called, or after `timeoutMs`, without blocking the thread
   * (Atomics.waitAsync). Pass Infinity where another thread can interrupt:
   * each finite timeout makes V8 post a delayed task to the event loop (an
   * eventfd write and a libuv timer per wait), ~10% of the acceptor's CPU at
   * 5,000 requests/s when its reply pump waited with one.
   *
   * Resolves true when it slept (its caller then runs from an event-loop
   * task), false when a record was already there (its caller still runs in
   * the microtasks of the same task, and should give the event loop a turn
   * before long).
   */
  async waitAsync(timeoutMs: number): Promise<boolean> {
    Atomics.store(this.control, RingSlot.CONSUMER_SLEEPING, 1);
    const observedWrite = Atomics.load(this.control, RingSlot.WRITE_INDEX);
    let slept = false;
    if (observedWrite === this.readPosition) {
      const result = Atomics.waitAsync(this.control, RingSlot.WRITE_INDEX, observedWrite, timeoutMs);
      if (result.async) {
        slept = true;
        await result.value;
      }
    }
    Atomics.store(this.control, RingSlot.CONSUMER_SLEEPING, 0);
    return slept;
  }

  /**
   * For a consumer woken by a native doorbell (its producer's
   * RingWriter.useDoorbell): says it goes to sleep, then re-checks the write
   * index. True: asleep, the next publish rings the doorbell (once; the
   * producer takes the flag). False: a record is already there (the flag is
   * taken back); read it now, no ring will come for it.
   */
  armDoorbell(): boolean {
    Atomics.store(this.control, RingSlot.CONSUMER_SLEEPING, 1);
    if (Atomics.load(this.control, RingSlot.WRITE_INDEX) === this.readPosition) return true;
    Atomics.store(this.control, RingSlot.CONSUMER_SLEEPING, 0);
    return false;
  }

  /** Wakes a consumer waiting in waitAsync or waitSync without publishing anything (to make it re-check why it waits). */
  interrupt(): void {
    Atomics.notify(this.control, RingSlot.WRITE_INDEX);
  }

  /**
   * For threads with nothing else to do: blocks until a record is published;
   * false on timeout. It first polls the write index for SPIN_POLLS loads
   * (tens of microseconds; a reply or the next burst usually lands within
   * that), and only then sleeps on the doorbell: a futex wake-up costs tens of
   * microseconds on both sides. `spinPolls` 0 sleeps at once (a thread that
   * shares its core with the producer should not spin).
   */
  waitSync(timeoutMs: number, spinPolls = SPIN_POLLS): boolean {
    for (let spin = 0; spin < spinPolls; spin++) {
      if (Atomics.load(this.control, RingSlot.WRITE_INDEX) !== this.readPosition) return true;
    }
    Atomics.store(this.control, RingSlot.CONSUMER_SLEEPING, 1);
    const observedWrite = Atomics.load(this.control, RingSlot.WRITE_INDEX);
    if (observedWrite === this.readPosition)
      Atomics.wait(this.control, RingSlot.WRITE_INDEX, observedWrite, timeoutMs);
    Atomics.store(this.control, RingSlot.CONSUMER_SLEEPING, 0);
    return this.hasData();
  }
}
