import type { RingWriter } from '../ring/index.js';

/**
 * Writes a shard's replies into its reply ring. Owned by the shard thread.
 *
 * The acceptor drains replies continuously, so the ring is almost never
 * full; when it is, a reply is written into a scratch buffer and kept in a
 * backlog that is copied into the ring as space frees up, in order. The
 * backlog is bounded by the requests the acceptor has in flight to this shard,
 * which the front doors bound per connection. Callers do not care which case
 * they got: they write at `claim()`'s position in `bytes` / `view`.
 */
export class ReplyWriter {
  private readonly backlog: { type: number; correlationId: number; payload: Uint8Array }[] = [];
  private draining = false;
  private unpublished = false;
  private targetBytes: Uint8Array;
  private targetView: DataView;

  constructor(private readonly ring: RingWriter) {
    this.targetBytes = ring.bytes;
    this.targetView = ring.view;
  }

  get bytes(): Uint8Array {
    return this.targetBytes;
  }

  get view(): DataView {
    return this.targetView;
  }

  get maxPayloadBytes(): number {
    return this.ring.maxPayloadBytes;
  }

  /** Reserves a reply of `payloadBytes`; returns where to write its payload in `bytes` / `view`. */
  claim(type: number, correlationId: number, payloadBytes: number): number {
    if (this.backlog.length === 0) {
      const position = this.ring.tryClaim(payloadBytes, type, 0, correlationId);
      if (position >= 0) {
        this.targetBytes = this.ring.bytes;
        this.targetView = this.ring.view;
        this.unpublished = true;
        return position;
      }
    }
    const payload = new Uint8Array(payloadBytes);
    this.backlog.push({ type, correlationId, payload });
    this.targetBytes = payload;
    this.targetView = new DataView(payload.buffer);
    this.drainBacklog();
    return 0;
  }

  /** Makes every reply claimed so far visible to the acceptor with one store. */
  publish(): void {
    if (this.unpublished) {
      this.unpublished = false;
      this.ring.publish();
    }
  }

  pendingReplies(): number {
    return this.backlog.length;
  }

  private drainBacklog(): void {
    if (this.draining) return;
    this.draining = true;
    void this.drainLoop();
  }

  private async drainLoop(): Promise<void> {
    try {
      while (this.backlog.length > 0) {
        const next = this.backlog[0]!;
        // Let the caller finish writing the scratch payload it was just given.
        await this.ring.waitForSpace(next.payload.length, 1000);
        const position = this.ring.tryClaim(next.payload.length, next.type, 0, next.correlationId);
        if (position < 0) continue;
        this.ring.bytes.set(next.payload, position);
        this.backlog.shift();
        this.ring.publish();
      }
    } finally {
      this.draining = false;
    }
  }
}
