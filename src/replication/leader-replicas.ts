/**
 * A leader's view of its followers for one partition, in one leader epoch:
 * how far each has fetched (a follower fetches from the offset after what it
 * holds durably, so its fetch offset is its durable end), whether it keeps up,
 * and from that the high watermark bound and the ISR changes to ask for.
 * Pure state, driven by the leader's data path (follower fetches, a clock).
 * Owned by the thread that serves follower fetches (the acceptor).
 *
 * The rules (docs/cluster.md):
 * - The high watermark is the lowest durable offset across the ISR as etcd
 *   committed it: `highWatermarkBound` is the lowest fetch offset of the
 *   in-sync followers (the leader's own durable offset is the partition log's
 *   part of the minimum). It never goes back: a follower that has not fetched
 *   in this epoch yet counts at the high watermark the leader started with,
 *   which every ISR member held when it was reached.
 * - A follower leaves the ISR when it has not caught up to the leader's log
 *   end for `lagTimeMaxMs` (replica.lag.time.max.ms); one joins when it has
 *   fetched up to the high watermark. Either only by CAS in etcd under this
 *   leader's epoch (IsrChanger): `applyIsr` is called once that succeeded, and
 *   only then does the leader stop or start counting the replica.
 */
export type BrokerId = number;

export interface LeaderReplicasOptions {
  localBrokerId: BrokerId;
  leaderEpoch: number;
  /** Every replica of the partition, the leader included. */
  replicas: readonly BrokerId[];
  /** The ISR etcd holds now, the leader included. */
  isr: readonly BrokerId[];
  /** The leader's high watermark when it took over: the bound never goes below it. */
  startHighWatermark: number;
  /** replica.lag.time.max.ms */
  lagTimeMaxMs: number;
  nowMs: number;
}

interface Follower {
  /** -1 until it fetches in this epoch. */
  fetchOffset: number;
  /** When its fetch offset last reached the leader's log end (or the leader took over). */
  lastCaughtUpMs: number;
  /** The leader's log end when it answered this follower's previous fetch. */
  leaderEndAtLastFetch: number;
}

export class LeaderReplicas {
  readonly localBrokerId: BrokerId;
  readonly leaderEpoch: number;
  private isrSet: Set<BrokerId>;
  private readonly followers = new Map<BrokerId, Follower>();
  private floor: number;
  private readonly lagTimeMaxMs: number;

  constructor(options: LeaderReplicasOptions) {
    this.localBrokerId = options.localBrokerId;
    this.leaderEpoch = options.leaderEpoch;
    this.isrSet = new Set(options.isr);
    this.isrSet.add(options.localBrokerId);
    this.floor = options.startHighWatermark;
    this.lagTimeMaxMs = options.lagTimeMaxMs;
    for (const broker of options.replicas) {
      if (broker !== options.localBrokerId) {
        this.followers.set(broker, {
          fetchOffset: -1,
          lastCaughtUpMs: options.nowMs,
          leaderEndAtLastFetch: Number.POSITIVE_INFINITY,
        });
      }
    }
  }

  get isr(): BrokerId[] {
    return [...this.isrSet].sort((a, b) => a - b);
  }

  /**
   * A follower fetched from `fetchOffset`; the leader's log ended at `leaderLogEndOffset` as it
   * answered. As in Kafka, the follower has caught up when it fetches from (at least) where the
   * leader's log ended at its previous fetch, or from the log end itself: a follower that keeps
   * fetching under steady appends stays in, one that falls behind does not.
   */
  onFollowerFetch(broker: BrokerId, fetchOffset: number, leaderLogEndOffset: number, nowMs: number): void {
    const follower = this.followers.get(broker);
    if (follower === undefined) return;
    follower.fetchOffset = fetchOffset;
    if (fetchOffset >= leaderLogEndOffset || fetchOffset >= follower.leaderEndAtLastFetch) {
      follower.lastCaughtUpMs = nowMs;
    }
    follower.leaderEndAtLastFetch = leaderLogEndOffset;
  }

  /** How far a follower has fetched in this epoch; -1 when it has not yet. */
  fetchOffsetOf(broker: BrokerId): number {
    return this.followers.get(broker)?.fetchOffset ?? -1;
  }

  /**
   * The lowest offset the in-sync followers hold (at least the floor);
   * Infinity when the leader is the only ISR member. The partition's high
   * watermark is the lower of this and the leader's durable offset.
   */
  highWatermarkBound(): number {
    let bound = Number.POSITIVE_INFINITY;
    for (const broker of this.isrSet) {
      if (broker === this.localBrokerId) continue;
      const follower = this.followers.get(broker);
      const held = follower === undefined || follower.fetchOffset < 0 ? this.floor : follower.fetchOffset;
      if (held < bound) bound = held;
    }
    return bound < this.floor ? this.floor : bound;
  }

  /** Remembers a high watermark reached: the bound never goes below it again. */
  noteHighWatermark(highWatermark: number): void {
    if (highWatermark > this.floor) this.floor = highWatermark;
  }

  /**
   * The ISR the leader should ask etcd for now, or null when it is right:
   * in-sync followers that have not caught up for lagTimeMaxMs leave;
   * followers outside that have fetched up to the high watermark join.
   */
  wantedIsr(nowMs: number, highWatermark: number): BrokerId[] | null {
    const wanted = new Set(this.isrSet);
    for (const [broker, follower] of this.followers) {
      if (this.isrSet.has(broker)) {
        if (nowMs - follower.lastCaughtUpMs > this.lagTimeMaxMs) wanted.delete(broker);
      } else if (follower.fetchOffset >= 0 && follower.fetchOffset >= highWatermark) {
        wanted.add(broker);
      }
    }
    if (wanted.size === this.isrSet.size && [...wanted].every((broker) => this.isrSet.has(broker)))
      return null;
    return [...wanted].sort((a, b) => a - b);
  }

  /**
   * The ISR etcd committed (a CAS this leader made, or one it learned of).
   * A follower joining counts from its fetch offset, which was at least the
   * high watermark, so the bound does not go back.
   */
  applyIsr(isr: readonly BrokerId[], nowMs: number): void {
    const joined = isr.filter((broker) => !this.isrSet.has(broker));
    this.isrSet = new Set(isr);
    this.isrSet.add(this.localBrokerId);
    for (const broker of joined) {
      const follower = this.followers.get(broker);
      if (follower !== undefined) follower.lastCaughtUpMs = nowMs;
    }
  }
}
