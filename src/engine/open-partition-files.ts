import type { ShardPartition } from './shard-partition.js';

/**
 * Bounds how many of a shard's partitions are active: opened this run and
 * not parked since. An active partition may hold file descriptors (its
 * segments' logs) and its log's in-memory state; the shard marks one used
 * (`touch`) on every produce, fetch, offsets or describe that names it.
 * When more than `maxActive` are active, the least recently used idle ones
 * are let go until a seventh of the room is free again:
 *
 * - one never written (no files) is forgotten whole and becomes dormant
 *   again, costing only its assignment entry;
 * - one with files has its descriptors closed (PartitionLog.parkFiles); its
 *   next use opens again only the segment it needs.
 *
 * Never let go: a partition with an acks=-1 produce waiting, a fetch held on
 * it, appends not yet written or synced, or a sync or roll in flight. One
 * with unsynced appends is asked for a sync and let go on a later pass. So
 * the bound is soft: a burst of busy partitions can pass it until they
 * settle. Owned by the shard thread.
 */
export type Release = 'forgotten' | 'parked' | 'busy';

/** Passes over the active partitions while over the bound and something was busy. */
const RETRY_MS = 100;

export class OpenPartitionFiles {
  private tick = 0;
  private readonly active = new Set<ShardPartition>();
  private retryTimer: NodeJS.Timeout | null = null;
  private passScheduled = false;
  private readonly runPass = (): void => {
    this.passScheduled = false;
    this.retryTimer = null;
    this.releaseIdle();
  };

  constructor(
    readonly maxActive: number,
    /** Lets one partition go if it is idle; the shard knows its waiters and acks. */
    private readonly release: (partition: ShardPartition) => Release,
  ) {}

  /** Marks `partition` used now (on the request path: no allocation once it is active). */
  touch(partition: ShardPartition): void {
    partition.lastUsedTick = ++this.tick;
    if (partition.active) return;
    partition.active = true;
    this.active.add(partition);
    if (this.active.size > this.maxActive && !this.passScheduled) {
      this.passScheduled = true;
      setImmediate(this.runPass);
    }
  }

  /** Forgets a partition closed for good (deleted, offline). */
  remove(partition: ShardPartition): void {
    partition.active = false;
    this.active.delete(partition);
  }

  get activeCount(): number {
    return this.active.size;
  }

  /** One pass: lets the least recently used idle partitions go until under the bound. */
  releaseIdle(): void {
    const target = this.maxActive - Math.floor(this.maxActive / 8);
    if (this.active.size <= this.maxActive) return;
    const byAge = [...this.active].sort((a, b) => a.lastUsedTick - b.lastUsedTick);
    let busy = 0;
    for (const partition of byAge) {
      if (this.active.size <= target) break;
      if (this.release(partition) === 'busy') {
        busy++;
        continue;
      }
      partition.active = false;
      this.active.delete(partition);
    }
    if (this.active.size > this.maxActive && busy > 0 && this.retryTimer === null) {
      this.retryTimer = setTimeout(this.runPass, RETRY_MS);
      this.retryTimer.unref();
    }
  }

  stop(): void {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }
}
