/**
 * The seam between the control plane (src/cluster/, etcd, the controller) and
 * the replication data path (src/replication/). The control plane owns what
 * etcd says about each partition; the data path owns the bytes. Neither
 * reaches into the other except through these three interfaces.
 */

/** A broker's configured id (`--broker-id`), stable across restarts. */
export type BrokerId = number;

/** What etcd says about one partition; changed only by CAS on the key's mod revision. */
export interface PartitionState {
  /** The topic's stable id (TopicDescription.topicId). */
  topicId: number;
  topic: string;
  partition: number;
  /** Assignment order; replicas[0] is the preferred leader. */
  replicas: readonly BrokerId[];
  /** -1 when no leader (offline). */
  leader: BrokerId;
  /** Bumped by the controller on every change of leader (including to and from -1); never by an ISR change. */
  leaderEpoch: number;
  /** The in-sync replicas; contains the leader whenever there is one. */
  isr: readonly BrokerId[];
}

/**
 * Implemented by the data path (repldata); called by the control plane when etcd's view of a partition changes
 * (including at start-up, for every partition this broker is a replica of). Idempotent per (partition, epoch).
 */
export interface ReplicaRoleSink {
  applyPartitionState(state: PartitionState): Promise<void>;
  /**
   * A topic this broker replicates has this config in etcd now (Kafka names → values; called after
   * every change to any topic record and after every full re-read, in order with the partition
   * states). Idempotent: the data path applies it only when it differs from what it has.
   */
  applyTopicConfig?(topic: string, config: Readonly<Record<string, string>>): Promise<void>;
  /**
   * A topic was deleted from etcd (seen in the watch, or missing from a full re-read): the data path
   * stops replicating it and removes this broker's replicas of it. Called before any partition state
   * of a topic created again under the same name.
   */
  removeTopic?(topic: string, topicId: number): Promise<void>;
}

/**
 * Implemented by the control plane (replctl); called by a leader's data path to change the ISR. Resolves true
 * when the CAS under `leaderEpoch` succeeded (only then does the leader stop/start counting the replica),
 * false when the partition moved on (stale epoch or revision): the caller then waits for the new state.
 */
export interface IsrChanger {
  changeIsr(
    topicId: number,
    partition: number,
    leaderEpoch: number,
    newIsr: readonly BrokerId[],
  ): Promise<boolean>;
}

/** Implemented by the control plane: this broker's id, the live brokers and where to reach them. */
export interface ClusterView {
  readonly localBrokerId: BrokerId;
  brokerEndpoint(id: BrokerId): { host: string; port: number } | undefined;
  liveBrokers(): readonly BrokerId[];
  /** Whether this broker may still act as leader: false once it has fenced itself (lease not renewed in time). */
  leaseValid(): boolean;
}
