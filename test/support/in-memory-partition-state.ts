/**
 * An in-memory stand-in for etcd's view of one partition (the control plane's
 * PartitionState, changed only by compare-and-swap): leader, leader epoch and
 * ISR, with the IsrChanger rule that a change succeeds only under the current
 * leader epoch. Tests of the data path drive roles with it until they run
 * against the real control plane.
 */
export type BrokerId = number;

export interface PartitionStateView {
  leader: BrokerId;
  leaderEpoch: number;
  isr: readonly BrokerId[];
  replicas: readonly BrokerId[];
}

export class InMemoryPartitionState {
  leader: BrokerId;
  leaderEpoch: number;
  isr: BrokerId[];
  /** Bumped by every change, as etcd's mod revision. */
  revision = 1;

  constructor(
    readonly replicas: readonly BrokerId[],
    leader: BrokerId,
    leaderEpoch = 0,
  ) {
    this.leader = leader;
    this.leaderEpoch = leaderEpoch;
    this.isr = [...replicas];
  }

  view(): PartitionStateView {
    return {
      leader: this.leader,
      leaderEpoch: this.leaderEpoch,
      isr: [...this.isr],
      replicas: this.replicas,
    };
  }

  /** IsrChanger.changeIsr: true only under the current leader epoch (a stale leader is refused). */
  changeIsr(leaderEpoch: number, newIsr: readonly BrokerId[]): boolean {
    if (leaderEpoch !== this.leaderEpoch || !newIsr.includes(this.leader)) return false;
    this.isr = [...newIsr].sort((a, b) => a - b);
    this.revision++;
    return true;
  }

  /**
   * The controller's election: a new leader from the live ISR (or, unclean,
   * from any live replica), with the epoch bumped; -1 when there is none.
   */
  elect(live: ReadonlySet<BrokerId>, exclude: BrokerId, unclean = false): BrokerId {
    const pool = (unclean ? this.replicas : this.isr).filter((b) => live.has(b) && b !== exclude);
    if (pool.length === 0) {
      this.leader = -1;
      this.revision++;
      return -1;
    }
    this.leader = pool[0]!;
    this.leaderEpoch++;
    if (!this.isr.includes(this.leader)) this.isr = [this.leader];
    this.revision++;
    return this.leader;
  }

  /** The controller's reaction to a broker's lease loss: out of the ISR unless it is the last member. */
  brokerLost(broker: BrokerId): void {
    if (this.isr.length > 1 && this.isr.includes(broker)) {
      this.isr = this.isr.filter((b) => b !== broker);
      this.revision++;
    }
  }
}
