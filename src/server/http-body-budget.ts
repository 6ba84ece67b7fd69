/**
 * The bytes of HTTP request bodies the acceptor holds at once, over all
 * connections. Each body is capped by maxFrameBytes on its own, but many
 * clients uploading at the same time could still pile up memory without
 * bound; past this budget a new body is refused with 503 (retry later)
 * instead. Owned by the acceptor thread (uWS runs there), so plain numbers
 * suffice.
 */
export class BodyBudget {
  private usedBytes = 0;

  constructor(readonly limitBytes: number) {}

  /** Reserves `sizeBytes` when they fit under the limit; false (and nothing reserved) when not. */
  tryTake(sizeBytes: number): boolean {
    if (this.usedBytes + sizeBytes > this.limitBytes) return false;
    this.usedBytes += sizeBytes;
    return true;
  }

  give(sizeBytes: number): void {
    this.usedBytes -= sizeBytes;
  }

  get heldBytes(): number {
    return this.usedBytes;
  }
}
