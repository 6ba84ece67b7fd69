/**
 * The broker-wide budget for bytes a front door holds on behalf of clients:
 * partial request frames received but not yet whole, fetch responses being
 * built (reserved when the fetch starts), and responses queued for a socket
 * that has not taken them yet. Owned by the acceptor thread.
 *
 * Connections charge and refund it as their holdings change. When it is
 * spent, a connection that already holds something is muted (reads nothing
 * more) until there is room again, and fetches are granted fewer bytes (at
 * least the first batch is still returned whole, KIP-74), so a connection
 * that holds nothing is still served. The limit is a soft one: it may be
 * passed by one batch per granted fetch and one socket read per connection.
 */
/** Below this much room the budget counts as spent: grants shrink to the first batch alone. */
export const BUDGET_ROOM_MIN_BYTES = 64 * 1024;

export class MemoryBudget {
  usedBytes = 0;
  /** Connections muted right now (for the gauge). */
  mutedConnections = 0;
  private readonly waiting = new Set<() => void>();

  constructor(readonly limitBytes: number) {}

  get spent(): boolean {
    return this.usedBytes + BUDGET_ROOM_MIN_BYTES > this.limitBytes;
  }

  /** Bytes that may still be granted; 0 once spent (a grant never takes the last of the budget). */
  headroomBytes(): number {
    return this.spent ? 0 : this.limitBytes - this.usedBytes;
  }

  /** Adds `deltaBytes` (negative: a refund); a refund that makes room wakes every waiting connection. */
  charge(deltaBytes: number): void {
    this.usedBytes += deltaBytes;
    if (deltaBytes < 0 && this.waiting.size > 0 && !this.spent) {
      const wakes = [...this.waiting];
      this.waiting.clear();
      for (const wake of wakes) wake();
    }
  }

  /** Calls `wake` once, the next time a refund leaves room. */
  waitForRoom(wake: () => void): void {
    this.waiting.add(wake);
  }

  forget(wake: () => void): void {
    this.waiting.delete(wake);
  }
}
