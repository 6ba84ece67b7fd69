import { PyralogError } from '../common/errors.js';
import { KafkaErrorCode } from '../common/kafka-error-code.js';
import { BrokerLease } from './broker-lease.js';
import { type CacheChanges, ClusterCache, type LiveBroker } from './cluster-cache.js';
import type { ClusterLog } from './cluster-log.js';
import type { ClusterMetadata } from './cluster-metadata.js';
import {
  ClusterKeys,
  decodePartitionRecord,
  decodeTopicRecord,
  encodeRecord,
  type PartitionRecord,
  partitionStateOf,
  type TopicRecord,
} from './cluster-records.js';
import { Controller } from './controller.js';
import { type EtcdClient, EtcdError } from './etcd/etcd-client.js';
import { type Watch, watchPrefix } from './etcd/etcd-watch.js';
import type { BrokerId, ClusterView, IsrChanger, ReplicaRoleSink } from './partition-state.js';
import { placeReplicas } from './placement/index.js';
import type { PlaceReplicas } from './round-robin-placement.js';
import { writeTopicConfig } from './topic-config-change.js';
import { createTopicRecords, type TopicCreation } from './topic-creation.js';
import { addTopicPartitions } from './topic-partition-addition.js';

/**
 * One broker's control plane: its registration under a lease, its copy of
 * the cluster's keys (a full read, then a watch), the sink calls that tell the
 * data path its roles, the controller, ISR changes by CAS, and topic creation.
 * Runs on the acceptor thread. docs/cluster.md has the design.
 */

export interface ClusterAgentOptions {
  client: EtcdClient;
  /** The name under /pyralog/ (--cluster). */
  cluster: string;
  brokerId: BrokerId;
  /** Where clients and other brokers reach this broker's Kafka listener. */
  host: string;
  port: number;
  /** Where other brokers fetch from (the inter-broker listener) when not host:port. */
  interBroker?: { host: string; port: number };
  sink: ReplicaRoleSink;
  log: ClusterLog;
  /** Lease TTL (default 6000 ms; etcd grants at least about 2 s). */
  leaseTtlMs?: number;
  /** How long to keep trying to register while an earlier incarnation's key is still there (default 2 TTLs). */
  registerTimeoutMs?: number;
  /** Delay before retrying a failed etcd step (default 250 ms). */
  retryDelayMs?: number;
  /** How replicas are placed; default copysets (placement/, docs/copysets.md), placeRoundRobin as the alternative. */
  placeReplicas?: PlaceReplicas;
  scatterWidth?: number;
}

const DEFAULT_LEASE_TTL_MS = 6000;
const DEFAULT_RETRY_DELAY_MS = 250;
const DEFAULT_SCATTER_WIDTH = 4;

export class ClusterAgent implements ClusterView, IsrChanger, ClusterMetadata {
  readonly localBrokerId: BrokerId;
  readonly keys: ClusterKeys;
  readonly cache: ClusterCache;
  readonly controller: Controller;
  private lease: BrokerLease | null = null;
  private epoch = -1;
  private watch: Watch | null = null;
  /** Bumped by each full re-read; a watch from an older generation is ignored. */
  private generation = 0;
  private resyncTimer: NodeJS.Timeout | null = null;
  private sinkChain: Promise<void> = Promise.resolve();
  private stopped = false;
  private reregistering = false;
  private readonly retryDelayMs: number;
  private readonly leaseTtlMs: number;
  /** Full re-reads done (the first one included), for tests. */
  resyncCount = 0;

  private constructor(private readonly options: ClusterAgentOptions) {
    this.localBrokerId = options.brokerId;
    this.keys = new ClusterKeys(options.cluster);
    this.retryDelayMs = options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
    this.leaseTtlMs = options.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS;
    this.cache = new ClusterCache(this.keys, (key, value) =>
      options.log.error(
        { key, value: value.slice(0, 200) },
        'etcd holds a value this broker cannot read; ignored',
      ),
    );
    this.controller = new Controller(
      options.client,
      this.keys,
      this.cache,
      {
        brokerId: options.brokerId,
        brokerEpoch: () => this.epoch,
        leaseId: () => this.lease?.id ?? '0',
        leaseValid: () => this.leaseValid(),
      },
      options.log,
      this.retryDelayMs,
    );
  }

  /** Registers the broker, reads the cluster, starts watching and campaigning. */
  static async start(options: ClusterAgentOptions): Promise<ClusterAgent> {
    const agent = ClusterAgent.create(options);
    await agent.join();
    return agent;
  }

  /** An agent that has not joined yet (for a sink that needs the agent before the first states arrive). */
  static create(options: ClusterAgentOptions): ClusterAgent {
    return new ClusterAgent(options);
  }

  /** Registers the broker, reads the cluster, starts watching and campaigning. */
  async join(): Promise<void> {
    await this.register();
    try {
      await this.resync();
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  // ClusterView

  /** Where this broker's followers reach broker `id`: its inter-broker listener when it registered one. */
  brokerEndpoint(id: BrokerId): { host: string; port: number } | undefined {
    const broker = this.cache.brokers.get(id);
    if (broker === undefined) return undefined;
    return broker.record.interBroker ?? { host: broker.record.host, port: broker.record.port };
  }

  liveBrokers(): readonly BrokerId[] {
    return [...this.cache.brokers.keys()].sort((a, b) => a - b);
  }

  leaseValid(): boolean {
    return !this.stopped && this.lease !== null && this.lease.valid();
  }

  // Read side, for Metadata and the like

  brokerEpoch(): number {
    return this.epoch;
  }

  liveBrokerRecords(): LiveBroker[] {
    return [...this.cache.brokers.values()].sort((a, b) => a.record.brokerId - b.record.brokerId);
  }

  liveBrokerEndpoints(): { brokerId: BrokerId; host: string; port: number }[] {
    return this.liveBrokerRecords().map(({ record }) => ({
      brokerId: record.brokerId,
      host: record.host,
      port: record.port,
    }));
  }

  topics(): TopicRecord[] {
    return [...this.cache.topics.values()].map((cached) => cached.record);
  }

  isLeader(topic: string, partition: number): boolean {
    const record = this.cache.topics.get(topic)?.record;
    if (record === undefined) return false;
    const state = this.cache.partition(record.topicId, partition)?.record;
    return (
      state !== undefined &&
      state.leader === this.localBrokerId &&
      state.leaderBrokerEpoch === this.epoch &&
      this.leaseValid()
    );
  }

  /** The controller's broker id, -1 when there is none. */
  controllerId(): BrokerId {
    return this.cache.controller?.record.brokerId ?? -1;
  }

  topic(name: string): TopicRecord | undefined {
    return this.cache.topics.get(name)?.record;
  }

  partition(topicId: number, partition: number): PartitionRecord | undefined {
    return this.cache.partition(topicId, partition)?.record;
  }

  // IsrChanger

  async changeIsr(
    topicId: number,
    partition: number,
    leaderEpoch: number,
    newIsr: readonly BrokerId[],
  ): Promise<boolean> {
    if (!this.leaseValid()) return false;
    const key = this.keys.partition(topicId, partition);
    let current: Awaited<ReturnType<EtcdClient['get']>>;
    try {
      current = await this.options.client.get(key);
    } catch (error) {
      this.options.log.warn({ topicId, partition, error: String(error) }, 'ISR change: etcd not reachable');
      return false;
    }
    const record = current === undefined ? undefined : decodePartitionRecord(current.value);
    if (
      current === undefined ||
      record === undefined ||
      record.leader !== this.localBrokerId ||
      record.leaderEpoch !== leaderEpoch ||
      record.leaderBrokerEpoch !== this.epoch
    ) {
      return false;
    }
    if (
      !newIsr.includes(this.localBrokerId) ||
      new Set(newIsr).size !== newIsr.length ||
      newIsr.some((id) => !record.replicas.includes(id))
    ) {
      throw new Error(
        `ISR ${JSON.stringify(newIsr)} for ${record.topic}-${partition} must hold the leader and only its replicas ${JSON.stringify(record.replicas)}`,
      );
    }
    const next: PartitionRecord = { ...record, isr: [...newIsr] };
    try {
      const result = await this.options.client.txn(
        [
          { key, target: 'mod', revision: current.modRevision },
          { key: this.keys.broker(this.localBrokerId), target: 'create', revision: this.epoch },
        ],
        [{ put: { key, value: encodeRecord(next) } }],
      );
      return result.succeeded;
    } catch (error) {
      // Possibly applied (outcome unknown): the watch then brings the new ISR under the same epoch.
      this.options.log.warn({ topicId, partition, error: String(error) }, 'ISR change not confirmed by etcd');
      return false;
    }
  }

  // Topics

  /** Creates a topic across the cluster; the creating broker need not be the controller. */
  async createTopic(creation: TopicCreation): Promise<TopicRecord> {
    return createTopicRecords(
      this.options.client,
      this.keys,
      creation,
      this.cache.liveEpochs(),
      this.options.placeReplicas ?? placeReplicas,
      this.options.scatterWidth ?? DEFAULT_SCATTER_WIDTH,
    );
  }

  /**
   * Deletes a topic from etcd: its record and every partition record in one transaction that compares
   * the record's mod revision. The watches remove the replicas. Throws PyralogError
   * UNKNOWN_TOPIC_OR_PARTITION when it is not there (or changed meanwhile: retry).
   */
  async deleteTopic(name: string): Promise<TopicRecord> {
    const key = this.keys.topic(name);
    const current = await this.options.client.get(key);
    const record = current === undefined ? undefined : decodeTopicRecord(current.value);
    if (current === undefined || record === undefined) {
      throw new PyralogError(KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${name} is not in etcd`);
    }
    const deleted = await this.options.client.txn(
      [{ key, target: 'mod', revision: current.modRevision }],
      [{ delete: { key } }, { delete: { key: this.keys.partitionsOf(record.topicId), prefix: true } }],
    );
    if (!deleted.succeeded) {
      throw new PyralogError(
        KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        `topic ${name} changed in etcd while being deleted; retry`,
      );
    }
    return record;
  }

  /** Grows a topic in etcd (topic-partition-addition.ts); the watches create the new replicas. */
  async addPartitions(name: string, partitionCount: number): Promise<TopicRecord> {
    return addTopicPartitions(
      this.options.client,
      this.keys,
      name,
      partitionCount,
      this.cache.liveEpochs(),
      this.options.placeReplicas ?? placeReplicas,
      this.options.scatterWidth ?? DEFAULT_SCATTER_WIDTH,
    );
  }

  /** Replaces a topic's config in etcd by CAS (topic-config-change.ts); the watches apply it. */
  async alterTopicConfig(name: string, config: Readonly<Record<string, string>>): Promise<TopicRecord> {
    return writeTopicConfig(this.options.client, this.keys, name, config);
  }

  // Lifecycle

  /** A clean stop: revokes the lease, so this broker's key (and the controller key, if held) go at once. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.halt();
    try {
      await this.lease?.revoke();
    } catch (error) {
      this.options.log.warn({ error: String(error) }, 'lease not revoked; it expires within its TTL');
    }
    await this.sinkChain;
  }

  /** Stops everything without telling etcd, as a crash would: the lease expires within its TTL. For tests. */
  crash(): void {
    this.halt();
  }

  private halt(): void {
    this.stopped = true;
    this.generation++;
    this.controller.stop();
    this.lease?.stop();
    this.watch?.cancel();
    this.watch = null;
    if (this.resyncTimer !== null) clearTimeout(this.resyncTimer);
  }

  /** Grants a lease and creates brokers/<id> on it; retries while an earlier incarnation's key is there. */
  private async register(): Promise<void> {
    const { client, log } = this.options;
    const lease = await BrokerLease.grant(client, { ttlMs: this.leaseTtlMs });
    // Renewed from the start: waiting for an earlier incarnation's key to expire may take longer than the TTL.
    lease.keepAlive({
      onEnd: () => {
        if (this.lease === lease) this.onLeaseLost();
      },
      onRenewFailed: (error) => log.warn({ error: String(error) }, 'lease renewal failed'),
    });
    const key = this.keys.broker(this.localBrokerId);
    const value = encodeRecord({
      brokerId: this.localBrokerId,
      host: this.options.host,
      port: this.options.port,
      ...(this.options.interBroker === undefined ? {} : { interBroker: this.options.interBroker }),
      startedMs: Date.now(),
    });
    const deadline = Date.now() + (this.options.registerTimeoutMs ?? this.leaseTtlMs * 2);
    let logged = false;
    let lastFailure: EtcdError | null = null;
    for (;;) {
      try {
        const result = await client.txn(
          [{ key, target: 'create', revision: 0 }],
          [{ put: { key, value, lease: lease.id } }],
          [{ range: { key } }],
        );
        lastFailure = null;
        const holder = result.ranges[0]?.[0];
        if (result.succeeded || holder?.lease === lease.id) {
          this.epoch = result.succeeded ? result.revision : holder!.createRevision;
          break;
        }
        if (!logged) {
          log.warn(
            { brokerId: this.localBrokerId },
            'broker id still registered (an earlier run?); waiting for its lease',
          );
          logged = true;
        }
      } catch (error) {
        if (!(error instanceof EtcdError)) throw error;
        lastFailure = error;
        log.warn({ error: error.message }, 'registration failed; retrying');
      }
      if (Date.now() > deadline || this.stopped) {
        await lease.revoke().catch(() => {});
        if (lastFailure !== null) throw lastFailure;
        throw new Error(
          `broker id ${this.localBrokerId} is registered in cluster ${this.options.cluster} by another live broker`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, this.retryDelayMs));
    }
    this.lease = lease;
    log.info({ brokerId: this.localBrokerId, brokerEpoch: this.epoch }, 'registered in etcd');
  }

  /** The lease is gone in etcd: register again with a new lease (a new epoch) and re-read everything. */
  private onLeaseLost(): void {
    if (this.stopped || this.reregistering) return;
    this.reregistering = true;
    this.lease?.stop();
    this.options.log.error({ brokerId: this.localBrokerId }, 'lease lost; fenced until registered again');
    const again = (): void => {
      if (this.stopped) return;
      this.register()
        .then(() => this.resync())
        .then(
          () => {
            this.reregistering = false;
          },
          (error: unknown) => {
            this.options.log.error({ error: String(error) }, 'registering again failed; retrying');
            setTimeout(again, this.retryDelayMs);
          },
        );
    };
    again();
  }

  /** Full read of the cluster's keys, then a watch from the next revision. */
  private async resync(): Promise<void> {
    const generation = ++this.generation;
    this.watch?.cancel();
    this.watch = null;
    if (this.resyncTimer !== null) {
      clearTimeout(this.resyncTimer);
      this.resyncTimer = null;
    }
    const snapshot = await this.options.client.range(this.keys.root, { prefix: true });
    if (generation !== this.generation || this.stopped) return;
    this.resyncCount++;
    this.react(this.cache.reset(snapshot.kvs, snapshot.revision), true);
    this.startWatch(generation);
  }

  /**
   * Watches from the revision after the cache's. A broken stream is resumed from there (nothing missed); when
   * etcd has compacted that history away, only a full re-read can be trusted.
   */
  private startWatch(generation: number): void {
    this.watch = watchPrefix(this.options.client, this.keys.root, this.cache.revision + 1, {
      onEvents: (events, revision) => {
        if (generation === this.generation) this.react(this.cache.apply(events, revision), false);
      },
      onCompacted: (compactRevision) => {
        if (generation !== this.generation) return;
        this.watch = null;
        this.options.log.warn({ compactRevision }, 'etcd compacted past the watch; reading everything again');
        this.later(0, () => this.resync());
      },
      onBroken: (reason) => {
        if (generation !== this.generation) return;
        this.watch = null;
        this.options.log.warn({ reason }, 'etcd watch broke; resuming it');
        this.later(this.retryDelayMs, async () => {
          if (this.watch === null && !this.stopped) this.startWatch(this.generation);
        });
      },
    });
  }

  /** Runs `step` after `delayMs`, and again after each failure, until it succeeds or the agent stops. */
  private later(delayMs: number, step: () => Promise<void>): void {
    if (this.stopped || this.resyncTimer !== null) return;
    this.resyncTimer = setTimeout(() => {
      this.resyncTimer = null;
      step().catch((error: unknown) => {
        this.options.log.warn({ error: String(error) }, 'reading the cluster failed; retrying');
        this.later(this.retryDelayMs, step);
      });
    }, delayMs);
  }

  /** After each change: tell the sink, check our own registration, campaign, and let the controller work. */
  private react(changes: CacheChanges, full: boolean): void {
    for (const topic of changes.topicsDeleted) this.deliverRemoval(topic);
    const partitions = full
      ? [...this.cache.partitions.values()].map((cached) => cached.record)
      : changes.partitions;
    for (const record of partitions) this.deliver(record);
    if (full || changes.topics) this.deliverTopicConfigs();
    if (
      changes.brokers &&
      !this.reregistering &&
      this.cache.brokers.get(this.localBrokerId)?.epoch !== this.epoch
    ) {
      // Our key is gone (or belongs to another epoch) while we thought the lease alive.
      this.onLeaseLost();
      return;
    }
    if (this.cache.controller === null) this.controller.campaign();
    if (full || changes.brokers || changes.controller || changes.topics || changes.partitions.length > 0) {
      this.controller.reconcile();
    }
  }

  /** Tells the sink a topic is gone, in order with the partition states. */
  private deliverRemoval(topic: TopicRecord): void {
    const remove = this.options.sink.removeTopic;
    if (remove === undefined) return;
    this.sinkChain = this.sinkChain
      .then(() => remove.call(this.options.sink, topic.name, topic.topicId))
      .catch((error: unknown) => {
        this.options.log.error(
          { topic: topic.name, error: String(error) },
          'the data path did not remove a topic',
        );
      });
  }

  /** Hands the sink the config of every topic this broker replicates a partition of, in order with the states. */
  private deliverTopicConfigs(): void {
    const apply = this.options.sink.applyTopicConfig;
    if (apply === undefined) return;
    const replicated = new Set<number>();
    for (const cached of this.cache.partitions.values()) {
      if (cached.record.replicas.includes(this.localBrokerId)) replicated.add(cached.record.topicId);
    }
    for (const { record: topic } of this.cache.topics.values()) {
      if (!replicated.has(topic.topicId)) continue;
      this.sinkChain = this.sinkChain
        .then(() => apply.call(this.options.sink, topic.name, topic.config))
        .catch((error: unknown) => {
          this.options.log.error(
            { topic: topic.name, error: String(error) },
            'the data path refused a topic config',
          );
        });
    }
  }

  /** Hands a partition's state to the sink when this broker is one of its replicas, in order, one at a time. */
  private deliver(record: PartitionRecord): void {
    if (!record.replicas.includes(this.localBrokerId)) return;
    // A record naming this broker leader under an earlier epoch of ours waits for the controller's re-election.
    if (record.leader === this.localBrokerId && record.leaderBrokerEpoch !== this.epoch) return;
    const state = partitionStateOf(record);
    this.sinkChain = this.sinkChain
      .then(() => this.options.sink.applyPartitionState(state))
      .catch((error: unknown) => {
        this.options.log.error(
          {
            topic: state.topic,
            partition: state.partition,
            leaderEpoch: state.leaderEpoch,
            error: String(error),
          },
          'the data path refused a partition state',
        );
      });
  }
}
