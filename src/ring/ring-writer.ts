import type { NativeDoorbell } from './native-doorbell.js';
import {
  maxPayloadBytesFor,
  RECORD_HEADER_BYTES,
  RecordField,
  RingSlot,
  recordBytes,
  ringViews,
  SPIN_POLLS,
  WRAP_MARKER,
} from './ring-layout.js';

/**
 * The producer side of a ring (see ring-layout.ts). Owned by exactly one
 * thread: the acceptor for a request ring, a shard for a reply ring.
 *
 * Records are claimed and written in place, then made visible together by
 * `publish()`: one `Atomics.store` of the write index for any number of
 * records. JS atomics are sequentially consistent, so every byte written
 * before that store is visible to a consumer that loads the new index.
 *
 * Nothing here allocates on the claim/publish path.
 */
export class RingWriter {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly maxPayloadBytes: number;
  private readonly control: Int32Array;
  private readonly dataBytes: number;
  private readonly mask: number;
  /** Write index including claimed but unpublished records. */
  private claimed: number;
  private published: number;
  /** Last read index seen; reloaded only when the ring looks full. */
  private cachedRead: number;
  /** The consumer's native doorbell (useDoorbell), or null: it sleeps in Atomics.wait / waitAsync. */
  private doorbell: NativeDoorbell | null = null;
  private doorbellId = -1;

  constructor(buffer: SharedArrayBuffer) {
    const views = ringViews(buffer);
    this.control = views.control;
    this.bytes = views.bytes;
    this.view = views.view;
    this.dataBytes = views.dataBytes;
    this.mask = views.mask;
    this.maxPayloadBytes = maxPayloadBytesFor(views.dataBytes);
    this.claimed = Atomics.load(this.control, RingSlot.WRITE_INDEX);
    this.published = this.claimed;
    this.cachedRead = Atomics.load(this.control, RingSlot.READ_INDEX);
  }

  /**
   * Reserves a record and writes its header. Returns where to write the
   * payload in `bytes` / `view`, or -1 at once when the ring is too full
   * (the caller backs off; see `waitForSpace`). The record becomes visible
   * at the next `publish()`.
   */
  tryClaim(payloadBytes: number, type: number, flags: number, correlationId: number): number {
    if (!(payloadBytes >= 0 && payloadBytes <= this.maxPayloadBytes)) {
      throw new RangeError(`ring payload of ${payloadBytes} bytes is outside 0..${this.maxPayloadBytes}`);
    }
    const needBytes = this.bytesNeeded(payloadBytes);
    if (needBytes > this.freeBytesCached()) {
      this.cachedRead = Atomics.load(this.control, RingSlot.READ_INDEX);
      if (needBytes > this.freeBytesCached()) return -1;
    }
    let position = this.claimed & this.mask;
    const size = recordBytes(payloadBytes);
    if (size > this.dataBytes - position) {
      // Not enough room before the end: mark the rest as padding and start over at 0.
      this.view.setUint32(position + RecordField.PAYLOAD_BYTES, WRAP_MARKER);
      this.claimed = (this.claimed + this.dataBytes - position) | 0;
      position = 0;
    }
    const view = this.view;
    view.setUint32(position + RecordField.PAYLOAD_BYTES, payloadBytes);
    view.setUint16(position + RecordField.TYPE, type);
    view.setUint16(position + RecordField.FLAGS, flags);
    view.setUint32(position + RecordField.CORRELATION_ID, correlationId);
    view.setUint32(position + RecordField.RESERVED, 0);
    this.claimed = (this.claimed + size) | 0;
    return position + RECORD_HEADER_BYTES;
  }

  /**
   * Wakes the consumer through its native doorbell (native-doorbell.ts) instead
   * of Atomics.notify: for a consumer with an event loop that sleeps in it
   * (RingReader.armDoorbell) rather than in Atomics.waitAsync.
   */
  useDoorbell(doorbell: NativeDoorbell, id: number): void {
    this.doorbell = doorbell;
    this.doorbellId = id;
  }

  /** Makes every record claimed so far visible; rings the doorbell only if the consumer sleeps. */
  publish(): void {
    if (this.claimed === this.published) return;
    this.published = this.claimed;
    Atomics.store(this.control, RingSlot.WRITE_INDEX, this.claimed);
    if (this.doorbell !== null) {
      // One ring per sleep: taking the flag means later publishes before the consumer runs ring nothing.
      if (Atomics.exchange(this.control, RingSlot.CONSUMER_SLEEPING, 0) !== 0) {
        Atomics.add(this.control, RingSlot.NOTIFY_COUNT, 1);
        this.doorbell.ring(this.doorbellId);
      }
    } else if (Atomics.load(this.control, RingSlot.CONSUMER_SLEEPING) !== 0) {
      Atomics.add(this.control, RingSlot.NOTIFY_COUNT, 1);
      Atomics.notify(this.control, RingSlot.WRITE_INDEX);
    }
  }

  /** Bytes free for new records, as of now. */
  freeBytes(): number {
    this.cachedRead = Atomics.load(this.control, RingSlot.READ_INDEX);
    return this.freeBytesCached();
  }

  /** True when a claim of `payloadBytes` would succeed now. */
  hasSpaceFor(payloadBytes: number): boolean {
    return this.bytesNeeded(payloadBytes) <= this.freeBytes();
  }

  /**
   * For threads with an event loop: resolves once a claim of `payloadBytes`
   * would succeed, or after `timeoutMs`. The consumer's `release()` wakes it.
   */
  async waitForSpace(payloadBytes: number, timeoutMs: number): Promise<void> {
    const deadlineMs = performance.now() + timeoutMs;
    for (;;) {
      const observedRead = this.announceWaiting();
      if (this.bytesNeeded(payloadBytes) <= this.freeBytesCached()) break;
      const remainingMs = deadlineMs - performance.now();
      if (remainingMs <= 0) break;
      const result = Atomics.waitAsync(this.control, RingSlot.READ_INDEX, observedRead, remainingMs);
      if (result.async) await result.value;
    }
    Atomics.store(this.control, RingSlot.PRODUCER_WAITING, 0);
  }

  /** For threads with nothing else to do: blocks until a claim would succeed; false on timeout. */
  waitForSpaceSync(payloadBytes: number, timeoutMs: number): boolean {
    for (let spin = 0; spin < SPIN_POLLS; spin++) {
      this.cachedRead = Atomics.load(this.control, RingSlot.READ_INDEX);
      if (this.bytesNeeded(payloadBytes) <= this.freeBytesCached()) return true;
    }
    const deadlineMs = performance.now() + timeoutMs;
    let fits = false;
    for (;;) {
      const observedRead = this.announceWaiting();
      fits = this.bytesNeeded(payloadBytes) <= this.freeBytesCached();
      const remainingMs = deadlineMs - performance.now();
      if (fits || remainingMs <= 0) break;
      Atomics.wait(this.control, RingSlot.READ_INDEX, observedRead, remainingMs);
    }
    Atomics.store(this.control, RingSlot.PRODUCER_WAITING, 0);
    return fits;
  }

  /** Doorbell rings so far (both directions share the counter slot of their own ring). */
  notifyCount(): number {
    return Atomics.load(this.control, RingSlot.NOTIFY_COUNT);
  }

  /**
   * Sets "producer waiting" before re-reading the read index, so a release
   * that happens in between either is seen here or sees the flag and notifies.
   */
  private announceWaiting(): number {
    Atomics.store(this.control, RingSlot.PRODUCER_WAITING, 1);
    const observedRead = Atomics.load(this.control, RingSlot.READ_INDEX);
    this.cachedRead = observedRead;
    return observedRead;
  }

  private freeBytesCached(): number {
    return this.dataBytes - ((this.claimed - this.cachedRead) >>> 0);
  }

  /** Bytes a claim needs now: the record, plus the padding to the end if it must wrap. */
  private bytesNeeded(payloadBytes: number): number {
    const size = recordBytes(payloadBytes);
    const untilEnd = this.dataBytes - (this.claimed & this.mask);
    return size > untilEnd ? untilEnd + size : size;
  }
}
