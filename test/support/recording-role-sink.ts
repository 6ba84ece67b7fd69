import type { PartitionState, ReplicaRoleSink } from '../../src/cluster/partition-state.js';

/** A ReplicaRoleSink that only records what the control plane told it, latest state per partition. */
export class RecordingRoleSink implements ReplicaRoleSink {
  readonly calls: PartitionState[] = [];
  /** States that came with a lower epoch than one already applied (a control-plane bug if ever non-empty). */
  readonly regressions: PartitionState[] = [];
  private readonly latestByPartition = new Map<string, PartitionState>();

  async applyPartitionState(state: PartitionState): Promise<void> {
    this.calls.push(state);
    const key = `${state.topicId}/${state.partition}`;
    const previous = this.latestByPartition.get(key);
    // A sink never goes back in epoch: an older epoch arriving late would be a control-plane bug.
    if (previous !== undefined && state.leaderEpoch < previous.leaderEpoch) {
      this.regressions.push(state);
      return;
    }
    this.latestByPartition.set(key, state);
  }

  latest(topicId: number, partition: number): PartitionState | undefined {
    return this.latestByPartition.get(`${topicId}/${partition}`);
  }
}
