import type {
  BrokerId,
  ClusterView,
  IsrChanger,
  PartitionState,
  ReplicaRoleSink,
} from '../cluster/partition-state.js';
import type { PeerAddress } from '../common/broker-config.js';
import { KafkaErrorCode } from '../common/kafka-error-code.js';
import type {
  Engine,
  FetchPartitionOutcome,
  FollowerFetchObserver,
  ReplicaEngine,
} from '../engine/engine-api.js';
import { FollowerFetcher } from './follower-fetcher.js';
import { LeaderReplicas } from './leader-replicas.js';
import type { PeerSecurity } from './peer-connection.js';
import { type PeerEndpoint, peerEndpointResolver } from './peer-endpoint.js';

/**
 * The replication data path of one broker (docs/cluster.md): told by the
 * control plane what each of its partitions is (ReplicaRoleSink), it makes
 * the shards lead or follow (ROLE_CHANGE), runs one FollowerFetcher per
 * leader it follows, and, as a leader, tracks its followers' fetches
 * (FollowerFetchObserver, from the Fetch handler), raises the high
 * watermark as the in-sync followers hold more (HW_ADVANCE), and asks the
 * control plane to shrink or expand the ISR under its own epoch
 * (IsrChanger), counting a change only once the CAS succeeded. Owned by the
 * acceptor thread. A single node builds none of this.
 */
export interface ReplicaManagerOptions {
  /** replica.lag.time.max.ms: a follower not caught up for this long leaves the ISR. */
  lagTimeMaxMs: number;
  requestTimeoutMs: number;
  fetchMaxWaitMs: number;
  fetchMaxBytes: number;
  partitionMaxBytes: number;
  maxFrameBytes: number;
  retryBackoffMs: number;
  /** TLS and SASL of the connections to leaders (the inter-broker listener); absent: plain TCP. */
  peerSecurity?: PeerSecurity;
  /** The topic's min.insync.replicas (its config; 2 by default in cluster mode). */
  minInsyncReplicas: (topic: string) => number;
  /** A log line for what went wrong (the manager carries on). */
  onError: (message: string) => void;
  /** Peers reached at another address than the one they advertise (`--peer-address`); none by default. */
  peerAddresses?: readonly PeerAddress[];
}

interface LedPartition {
  state: PartitionState;
  view: LeaderReplicas;
  /** The bound last sent to the shard. */
  bound: number;
  highWatermark: number;
  /** The leader's log end as of the latest follower fetch it answered. */
  logEndOffset: number;
  /** An ISR change is out (one at a time per partition). */
  changingIsr: boolean;
}

/** One led partition's replication as /metrics shows it (docs/cluster.md, "Replication metrics"). */
export interface LedPartitionMetrics {
  topic: string;
  partition: number;
  replicaCount: number;
  isrSize: number;
  /** Per follower: the leader's log end minus the follower's fetch offset, as of its latest fetch; -1 before one. */
  followerLagOffsets: { replica: number; lagOffsets: number }[];
}

/** Counters since this broker started, for /metrics. */
export interface ReplicationCounts {
  /** ISR changes this broker committed as leader that removed a replica. */
  isrShrinks: number;
  /** ISR changes this broker committed as leader that added a replica. */
  isrExpands: number;
  /** Times this broker became leader of a partition in a new leader epoch. */
  leaderElections: number;
  /** Times a followed partition's log was restarted at its leader's log start. */
  logStartResets: number;
}

export class ReplicaManager implements ReplicaRoleSink, FollowerFetchObserver {
  private readonly led = new Map<string, LedPartition>();
  private readonly fetchers = new Map<BrokerId, FollowerFetcher>();
  /** Followed partitions → the leader followed. */
  private readonly following = new Map<string, BrokerId>();
  private readonly isrTimer: NodeJS.Timeout;
  /** Partitions this broker stopped leading when its lease was not renewed in time, by key. */
  private readonly fenced = new Map<string, PartitionState>();
  private readonly peerEndpoint: (broker: BrokerId) => PeerEndpoint | undefined;
  private readonly counts = { isrShrinks: 0, isrExpands: 0, leaderElections: 0 };
  /** Resets counted by fetchers that have since stopped. */
  private stoppedFetcherResets = 0;

  constructor(
    private readonly engine: Engine & ReplicaEngine,
    private readonly cluster: ClusterView,
    private readonly isrChanger: IsrChanger,
    private readonly options: ReplicaManagerOptions,
  ) {
    this.peerEndpoint = peerEndpointResolver(options.peerAddresses ?? [], cluster);
    this.isrTimer = setInterval(
      () => this.maintainIsr(),
      Math.max(50, Math.min(1000, Math.floor(options.lagTimeMaxMs / 4))),
    );
    this.isrTimer.unref();
  }

  async applyPartitionState(state: PartitionState): Promise<void> {
    const key = `${state.topic}\u0000${state.partition}`;
    // Any word from the control plane replaces what a fence set aside.
    this.fenced.delete(key);
    const local = this.cluster.localBrokerId;
    const minInsyncReplicas = this.options.minInsyncReplicas(state.topic);
    if (state.leader === local) {
      this.stopFollowing(key, state);
      const known = this.led.get(key);
      if (known !== undefined && known.view.leaderEpoch === state.leaderEpoch) {
        known.state = state;
        known.view.applyIsr(state.isr, Date.now());
        known.bound = known.view.highWatermarkBound();
      } else {
        const described = await this.engine.describePartitions(state.topic);
        const highWatermark = described?.[state.partition]?.highWatermark ?? 0;
        const view = new LeaderReplicas({
          localBrokerId: local,
          leaderEpoch: state.leaderEpoch,
          replicas: state.replicas,
          isr: state.isr,
          startHighWatermark: Math.max(0, highWatermark),
          lagTimeMaxMs: this.options.lagTimeMaxMs,
          nowMs: Date.now(),
        });
        this.led.set(key, {
          state,
          view,
          bound: view.highWatermarkBound(),
          highWatermark,
          logEndOffset: described?.[state.partition]?.logEndOffset ?? 0,
          changingIsr: false,
        });
        this.counts.leaderElections++;
      }
      const entry = this.led.get(key)!;
      await this.applyRole(state, {
        role: 'leader',
        leaderEpoch: state.leaderEpoch,
        isrCount: entry.view.isr.length,
        minInsyncReplicas,
        highWatermarkBound: entry.bound,
      });
      return;
    }
    this.led.delete(key);
    if (!state.replicas.includes(local)) {
      this.stopFollowing(key, state);
      await this.applyRole(state, {
        role: 'none',
        leaderEpoch: state.leaderEpoch,
        isrCount: 1,
        minInsyncReplicas: 1,
        highWatermarkBound: Number.POSITIVE_INFINITY,
      });
      return;
    }
    // A follower: nothing is known committed here until the leader says (its high watermark rides on
    // every fetch answer).
    await this.applyRole(state, {
      role: 'follower',
      leaderEpoch: state.leaderEpoch,
      isrCount: state.isr.length,
      minInsyncReplicas,
      highWatermarkBound: 0,
    });
    if (state.leader < 0) {
      this.stopFollowing(key, state);
      return;
    }
    const previous = this.following.get(key);
    if (previous !== undefined && previous !== state.leader)
      this.fetchers.get(previous)?.unfollow(state.topic, state.partition);
    this.following.set(key, state.leader);
    this.fetcherFor(state.leader).follow(state.topic, state.partition, state.leaderEpoch);
  }

  onFollowerFetch(
    topic: string,
    partition: number,
    replicaId: number,
    fetchOffset: number,
    outcome: FetchPartitionOutcome,
  ): void {
    const entry = this.led.get(`${topic}\u0000${partition}`);
    if (entry === undefined || outcome.errorCode !== KafkaErrorCode.NONE) return;
    const nowMs = Date.now();
    entry.logEndOffset = outcome.logEndOffset ?? fetchOffset;
    entry.view.onFollowerFetch(replicaId, fetchOffset, entry.logEndOffset, nowMs);
    if (outcome.highWatermark > entry.highWatermark) {
      entry.highWatermark = outcome.highWatermark;
      entry.view.noteHighWatermark(outcome.highWatermark);
    }
    const bound = entry.view.highWatermarkBound();
    if (bound !== entry.bound) {
      entry.bound = bound;
      this.engine.advanceHighWatermark(topic, partition, bound);
    }
  }

  /** The ISR a led partition should have, asked of the control plane under this leader's epoch. */
  private maintainIsr(): void {
    const nowMs = Date.now();
    if (this.led.size > 0 && !this.cluster.leaseValid()) {
      this.fenceLedPartitions();
      return;
    }
    if (this.fenced.size > 0 && this.cluster.leaseValid()) this.resumeFenced();
    for (const entry of this.led.values()) {
      if (entry.changingIsr) continue;
      const wanted = entry.view.wantedIsr(nowMs, entry.highWatermark);
      if (wanted === null) continue;
      entry.changingIsr = true;
      const { state, view } = entry;
      this.isrChanger.changeIsr(state.topicId, state.partition, view.leaderEpoch, wanted).then(
        async (committed) => {
          entry.changingIsr = false;
          // Not committed: the partition moved on; the control plane's next state says how.
          if (!committed || this.led.get(`${state.topic}\u0000${state.partition}`) !== entry) return;
          const before = view.isr;
          if (before.some((broker) => !wanted.includes(broker))) this.counts.isrShrinks++;
          if (wanted.some((broker) => !before.includes(broker))) this.counts.isrExpands++;
          view.applyIsr(wanted, Date.now());
          entry.state = { ...state, isr: wanted };
          entry.bound = view.highWatermarkBound();
          await this.applyRole(entry.state, {
            role: 'leader',
            leaderEpoch: view.leaderEpoch,
            isrCount: wanted.length,
            minInsyncReplicas: this.options.minInsyncReplicas(state.topic),
            highWatermarkBound: entry.bound,
          });
        },
        (error: unknown) => {
          entry.changingIsr = false;
          this.options.onError(
            `ISR change of ${state.topic}-${state.partition} failed: ${(error as Error).message}`,
          );
        },
      );
    }
  }

  /**
   * This broker's lease was not renewed in time: it may no longer act as leader. Every partition it
   * led stops taking produces and answers the acks waiting with NOT_LEADER_OR_FOLLOWER (as a follower
   * of no one), until the control plane says what each is now.
   */
  private fenceLedPartitions(): void {
    const fenced = [...this.led.values()];
    this.led.clear();
    for (const entry of fenced) {
      this.fenced.set(`${entry.state.topic}\u0000${entry.state.partition}`, entry.state);
      this.options.onError(`lease lost: ${entry.state.topic}-${entry.state.partition} stops leading`);
      void this.applyRole(entry.state, {
        role: 'follower',
        leaderEpoch: entry.view.leaderEpoch,
        isrCount: entry.view.isr.length,
        minInsyncReplicas: this.options.minInsyncReplicas(entry.state.topic),
        highWatermarkBound: 0,
      });
    }
  }

  /**
   * The lease is valid again and the control plane said nothing new about the partitions this broker
   * stopped leading: a renewal on the same lease succeeded, so the controller moved nothing (it moves a
   * partition only once the broker's key is gone), and etcd still names this broker leader at the same
   * epoch. Lead them again; without this they stayed leaderless until something else changed their state
   * (the chaos checker saw writes stop for 20 s after an etcd member was killed).
   */
  private resumeFenced(): void {
    const states = [...this.fenced.values()];
    this.fenced.clear();
    for (const state of states) {
      this.applyPartitionState(state).catch((error: unknown) =>
        this.options.onError(
          `leading ${state.topic}-${state.partition} again failed: ${(error as Error).message}`,
        ),
      );
    }
  }

  private async applyRole(
    state: PartitionState,
    update: Parameters<ReplicaEngine['applyReplicaRole']>[2],
  ): Promise<void> {
    const code = await this.engine.applyReplicaRole(state.topic, state.partition, update);
    if (code !== KafkaErrorCode.NONE) {
      this.options.onError(
        `${update.role} role for ${state.topic}-${state.partition} at epoch ${state.leaderEpoch}: error ${code}`,
      );
    }
  }

  private stopFollowing(key: string, state: PartitionState): void {
    const leader = this.following.get(key);
    if (leader === undefined) return;
    this.following.delete(key);
    this.fetchers.get(leader)?.unfollow(state.topic, state.partition);
  }

  private fetcherFor(leader: BrokerId): FollowerFetcher {
    let fetcher = this.fetchers.get(leader);
    if (fetcher === undefined) {
      fetcher = new FollowerFetcher(this.engine, {
        localBrokerId: this.cluster.localBrokerId,
        leaderBrokerId: leader,
        endpoint: () => this.peerEndpoint(leader),
        requestTimeoutMs: this.options.requestTimeoutMs,
        fetchMaxWaitMs: this.options.fetchMaxWaitMs,
        fetchMaxBytes: this.options.fetchMaxBytes,
        partitionMaxBytes: this.options.partitionMaxBytes,
        maxFrameBytes: this.options.maxFrameBytes,
        retryBackoffMs: this.options.retryBackoffMs,
        ...(this.options.peerSecurity === undefined ? {} : { security: this.options.peerSecurity }),
        onError: this.options.onError,
      });
      this.fetchers.set(leader, fetcher);
    }
    return fetcher;
  }

  /** A topic was deleted: this broker stops leading and following its partitions. */
  forgetTopic(topic: string): void {
    for (const [key, entry] of this.led) if (entry.state.topic === topic) this.led.delete(key);
    for (const [key, leader] of this.following) {
      const [name, partition] = key.split('\u0000') as [string, string];
      if (name !== topic) continue;
      this.following.delete(key);
      this.fetchers.get(leader)?.unfollow(name, Number(partition));
    }
  }

  /** The partitions this broker leads now, for /metrics. */
  ledPartitionMetrics(): LedPartitionMetrics[] {
    const metrics: LedPartitionMetrics[] = [];
    for (const entry of this.led.values()) {
      const { state, view } = entry;
      const followerLagOffsets: { replica: number; lagOffsets: number }[] = [];
      for (const replica of state.replicas) {
        if (replica === view.localBrokerId) continue;
        const fetchOffset = view.fetchOffsetOf(replica);
        followerLagOffsets.push({
          replica,
          lagOffsets: fetchOffset < 0 ? -1 : Math.max(0, entry.logEndOffset - fetchOffset),
        });
      }
      metrics.push({
        topic: state.topic,
        partition: state.partition,
        replicaCount: state.replicas.length,
        isrSize: view.isr.length,
        followerLagOffsets,
      });
    }
    return metrics;
  }

  replicationCounts(): ReplicationCounts {
    let logStartResets = this.stoppedFetcherResets;
    for (const fetcher of this.fetchers.values()) logStartResets += fetcher.logStartResets;
    return { ...this.counts, logStartResets };
  }

  async stop(): Promise<void> {
    clearInterval(this.isrTimer);
    for (const fetcher of this.fetchers.values()) this.stoppedFetcherResets += fetcher.logStartResets;
    await Promise.all([...this.fetchers.values()].map((fetcher) => fetcher.stop()));
    this.fetchers.clear();
  }
}
