import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { BrokerConfig, TopicConfig } from '../common/broker-config.js';
import { PyralogError } from '../common/errors.js';
import { KafkaErrorCode } from '../common/kafka-error-code.js';
import type { Offset } from '../common/offset.js';
import { BatchAttributes, BatchHeader, CompressionCodec } from '../record/batch-header.js';
import { KEEP_CODEC, targetCodecOf } from '../record/compressed-check.js';
import { timestampWindow } from '../record/validate.js';
import { ObeliskSequencer } from '../storage/obelisk-sequencer.js';
import {
  migrateLegacyPartition,
  partitionDir,
  topicDir,
  topicDirsOnDisk,
} from '../storage/partition-dirs.js';
import { LOG_SUFFIX, segmentPath } from '../storage/segment-files.js';
import { CompressedBatchChecker } from './compressed-batch-checker.js';
import {
  type Acks,
  type DeleteRecordsOutcome,
  type Engine,
  type EpochEndOffsetOutcome,
  type FetchOutcome,
  type FetchPartitionOutcome,
  type FetchRequest,
  fetchFailure,
  type ListOffsetsOptions,
  type ListOffsetsOutcome,
  listOffsetsFailure,
  type PartitionDescription,
  type ProduceOutcome,
  produceFailure,
  type ReplicaAppendOutcome,
  type ReplicaEngine,
  type ReplicaRoleUpdate,
  type SegmentExtentsOutcome,
  type TopicDescription,
  type TxnMarker,
} from './engine-api.js';
import type { PartitionAssignment } from './shard.js';
import { type FetchEntry, ShardHost } from './shard-host.js';
import { MessageType, PARTITIONS_PER_TOPIC_MAX, partitionKey } from './shard-message.js';
import { type TopicEntry, TopicRegistry, topicNameProblem } from './topic-registry.js';
import { WARM_UP_TOPIC_ID, WARM_UP_TOPIC_NAME, WARM_UP_TOPIC_SETTINGS } from './warm-up-scratch.js';

/**
 * The engine as the acceptor thread runs it: topic metadata here, partitions
 * on shard worker threads, requests routed by (topic, partition) to the shard
 * that owns it. Owned by the acceptor thread.
 */
export interface ShardedEngineOptions {
  /** How often shards apply retention and time-based segment rolls. */
  retentionCheckIntervalMs?: number;
  /** Told when a shard takes a partition offline (a failed open, write or sync); the broker logs it. */
  onPartitionOffline?: (topicName: string, partition: number, reason: string) => void;
  /** Told when a shard that kept dying is no longer restarted; the broker logs it. */
  onShardFailed?: (reason: string) => void;
}

const NO_OFFSET = -1 as Offset;

/** Threads that check compressed batches: few, since they share the cores with the shards. */
const BATCH_CHECKER_THREADS = 1;

export class ShardedEngine implements Engine, ReplicaEngine {
  readonly hosts: ShardHost[];
  private readonly creating = new Set<string>();
  private readonly checker: CompressedBatchChecker;
  /**
   * Per partition with a compressed batch being checked: settles once every
   * produce to it asked for so far has been handed to its shard. A produce
   * behind it waits, so batches reach the shard in the order they came.
   */
  private readonly handedOff = new Map<number, Promise<void>>();
  private readonly window = { earliestMs: 0, latestMs: 0 };
  /** Where producer ids come from instead of `producerIds` (cluster mode); null: the local sequencer. */
  private producerIdSource: (() => Promise<number>) | null = null;
  /**
   * The last replication role applied to each partition, by partition key: a shard worker that died
   * and restarted gets its partitions' roles again (its partitions start without one).
   */
  private readonly roles = new Map<number, { topic: string; partition: number; update: ReplicaRoleUpdate }>();
  /**
   * The start-up warm-up's scratch topic while it runs (warm-up-scratch.ts); never in the registry.
   * A map that empties rather than a field set to null: a field whose type changes after the warm-up
   * would throw away the code V8 optimized during it.
   */
  private readonly warmUpTopics = new Map<string, TopicEntry>();

  private constructor(
    readonly config: BrokerConfig,
    private readonly registry: TopicRegistry,
    private readonly topicIds: ObeliskSequencer,
    private readonly producerIds: ObeliskSequencer,
    retentionCheckIntervalMs: number,
    onPartitionOffline: ShardedEngineOptions['onPartitionOffline'],
    onShardFailed: ShardedEngineOptions['onShardFailed'],
  ) {
    this.checker = new CompressedBatchChecker(BATCH_CHECKER_THREADS, config.maxDecompressedBatchBytes);
    this.hosts = Array.from({ length: config.shardCount }, (_, shardId) => {
      const host = new ShardHost(
        shardId,
        config,
        () => this.assignmentsFor(shardId),
        retentionCheckIntervalMs,
      );
      host.onPartitionOffline = onPartitionOffline ?? null;
      host.onShardFailed = onShardFailed ?? null;
      host.onRestarted = () => this.reapplyRoles(shardId);
      return host;
    });
  }

  /** The batch checker's counters, for /metrics. */
  batchCheckCounts(): { checked: number; refused: number; recompressed: number } {
    const { checkedBatches, refusedBatches, recompressedBatches } = this.checker;
    return { checked: checkedBatches, refused: refusedBatches, recompressed: recompressedBatches };
  }

  offlineReason(topic: string, partition: number): string | undefined {
    const target = this.route(topic, partition);
    return target?.host.offlinePartitions.get(`${topic}-${partition}`);
  }

  /** Partitions not served now, `topic-partition` → why (failed open, write or sync), over all shards. */
  offlinePartitions(): Map<string, string> {
    const all = new Map<string, string>();
    for (const host of this.hosts) for (const [name, reason] of host.offlinePartitions) all.set(name, reason);
    return all;
  }

  /** Loads metadata and starts every shard; shards open and recover their partitions in parallel. */
  static async start(config: BrokerConfig, options: ShardedEngineOptions = {}): Promise<ShardedEngine> {
    const registry = TopicRegistry.open(config.dataDir, config.shardCount);
    settlePartitionDirs(config.dataDir, registry);
    const metaDir = join(config.dataDir, 'meta');
    // Topic id 0 is never handed out, so 0 can mean "none" on the rings.
    const topicIds = ObeliskSequencer.open(join(metaDir, 'topic-id.seq'));
    if (topicIds.get() === 0) topicIds.next();
    const producerIds = ObeliskSequencer.open(join(metaDir, 'producer-id.seq'));
    const engine = new ShardedEngine(
      config,
      registry,
      topicIds,
      producerIds,
      options.retentionCheckIntervalMs ?? 30_000,
      options.onPartitionOffline,
      options.onShardFailed,
    );
    try {
      // The batch checker's thread loads its codecs meanwhile, so that the first requests do not pay for it.
      await Promise.all([...engine.hosts.map((host) => host.start()), engine.checker.ready()]);
    } catch (error) {
      await engine.stop();
      throw error;
    }
    return engine;
  }

  /**
   * Starts the start-up warm-up: a scratch topic of one partition per shard,
   * its files under `dir` (outside the data directory), routed by this engine
   * until endWarmUp() and never stored in the registry. Returns its name,
   * which is not a legal topic name, so no client topic can share it.
   */
  async beginWarmUp(dir: string): Promise<string> {
    // Built as a created topic's config is (a copy of the defaults with a setting changed): V8 then
    // optimizes for config objects as clients' topics will have them. Small segments make the
    // warm-up roll them too.
    const config: TopicConfig = { ...this.config.topicDefaults, ...WARM_UP_TOPIC_SETTINGS };
    const entry: TopicEntry = {
      name: WARM_UP_TOPIC_NAME,
      topicId: WARM_UP_TOPIC_ID,
      partitionCount: this.hosts.length,
      config,
      shards: this.hosts.map((host) => host.shardId),
    };
    await Promise.all(this.hosts.map((host) => host.beginWarmUp({ dir, partition: host.shardId, config })));
    this.warmUpTopics.set(entry.name, entry);
    return entry.name;
  }

  /**
   * Ends the warm-up once every warm-up request has been answered: the scratch
   * topic is no longer routed, and each shard deletes its scratch partition and
   * puts its traffic metrics back as they were before the warm-up.
   */
  async endWarmUp(): Promise<void> {
    if (this.warmUpTopics.size === 0) return;
    this.warmUpTopics.clear();
    await Promise.all(this.hosts.map((host) => host.endWarmUp()));
  }

  /**
   * Partitions of every topic: what the broker-wide cap counts. A create enters the registry before
   * its first await, so concurrent creates cannot pass the cap together.
   */
  private get partitionsTotal(): number {
    let total = 0;
    for (const topic of this.registry.all()) total += topic.partitionCount;
    return total;
  }

  private assignmentsFor(shardId: number): PartitionAssignment[] {
    const assignments: PartitionAssignment[] = [];
    for (const topic of this.registry.all()) {
      for (let partition = 0; partition < topic.partitionCount; partition++) {
        if (topic.shards[partition] === shardId) {
          // A restarted shard gives a partition its role as it opens (cluster mode; none on a single node).
          const role = this.roles.get(partitionKey(topic.topicId, partition))?.update;
          assignments.push({
            topicId: topic.topicId,
            topicName: topic.name,
            partition,
            config: topic.config,
            ...(role === undefined ? {} : { role: { ...role } }),
          });
        }
      }
    }
    return assignments;
  }

  private route(topic: string, partition: number): { entry: TopicEntry; host: ShardHost } | null {
    // The warm-up's scratch topic is looked at only on a registry miss: a user topic costs nothing more.
    const entry = this.registry.get(topic) ?? this.warmUpTopics.get(topic);
    if (
      entry === undefined ||
      !Number.isInteger(partition) ||
      partition < 0 ||
      partition >= entry.partitionCount
    ) {
      return null;
    }
    return { entry, host: this.hosts[entry.shards[partition]!]! };
  }

  /** The fast path copies `batch` into the ring before returning (shard-host.ts); a batch kept longer is copied when `lent`. */
  produce(
    topic: string,
    partition: number,
    batch: Uint8Array,
    acks: Acks,
    lent = false,
  ): Promise<ProduceOutcome> {
    const target = this.route(topic, partition);
    if (target === null) {
      return Promise.resolve({
        errorCode: KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        baseOffset: NO_OFFSET,
        logAppendTimeMs: -1,
        logStartOffset: NO_OFFSET,
        errorMessage: `unknown topic or partition ${topic}-${partition}`,
      });
    }
    if (batch.length > target.entry.config.maxMessageBytes || batch.length > this.config.maxRequestBytes) {
      return Promise.resolve({
        errorCode: KafkaErrorCode.MESSAGE_TOO_LARGE,
        baseOffset: NO_OFFSET,
        logAppendTimeMs: -1,
        logStartOffset: NO_OFFSET,
        errorMessage: `batch of ${batch.length} bytes exceeds max.message.bytes`,
      });
    }
    const { host, entry } = target;
    const codec =
      batch.length >= BatchHeader.SIZE_BYTES
        ? batch[BatchHeader.ATTRIBUTES + 1]! & BatchAttributes.COMPRESSION_MASK
        : CompressionCodec.NONE;
    const targetCodec =
      entry.config.compressionType === 'producer' ? KEEP_CODEC : targetCodecOf(entry.config.compressionType);
    const needsChecker =
      codec !== CompressionCodec.NONE || (targetCodec !== KEEP_CODEC && targetCodec !== codec);
    // The common case costs one size test: no compressed batch anywhere is being checked.
    if (!needsChecker && this.handedOff.size === 0) {
      return host.produce(entry.topicId, partition, batch, acks);
    }
    const key = partitionKey(entry.topicId, partition);
    const before = this.handedOff.get(key);
    if (!needsChecker && before === undefined) return host.produce(entry.topicId, partition, batch, acks);
    // Compressed (or to be recompressed into the topic's codec): its records are inflated, walked and
    // recompressed on the checker threads while the shard goes on; this partition's later produces
    // wait until this one is handed to the shard (or refused). The batch outlives this call here.
    if (lent) batch = batch.slice();
    let verdict = null;
    if (needsChecker) {
      timestampWindow(entry.config, Date.now(), this.window);
      verdict = this.checker.check(
        batch,
        this.window.earliestMs,
        this.window.latestMs,
        targetCodec,
        // Compacted topics take only keyed records, as Kafka's validator insists.
        entry.config.cleanupPolicy !== 'delete',
      );
    }
    const ready = before === undefined ? verdict! : before.then(() => verdict);
    let markHandedOff!: () => void;
    const handedOff = new Promise<void>((resolve) => {
      markHandedOff = resolve;
    });
    this.handedOff.set(key, handedOff);
    return ready.then((checked) => {
      try {
        if (checked !== null && checked.errorCode !== KafkaErrorCode.NONE) {
          return Promise.resolve(produceFailure(checked.errorCode, checked.message));
        }
        const converted = checked?.converted ?? null;
        if (
          converted !== null &&
          (converted.length > entry.config.maxMessageBytes || converted.length > this.config.maxRequestBytes)
        ) {
          // Recompressed into the topic's codec it grew past the limit, as Kafka answers RecordTooLarge.
          return Promise.resolve(
            produceFailure(
              KafkaErrorCode.MESSAGE_TOO_LARGE,
              `batch of ${converted.length} bytes in the topic's compression.type exceeds max.message.bytes`,
            ),
          );
        }
        return host.produce(entry.topicId, partition, converted ?? batch, acks, checked !== null);
      } finally {
        markHandedOff();
        if (this.handedOff.get(key) === handedOff) this.handedOff.delete(key);
      }
    });
  }

  /**
   * Splits the fetch by shard. Each shard holds its part up to maxWaitMs; as
   * soon as the parts answered so far hold minBytes, the others are woken so
   * the whole fetch answers at once, as one Kafka broker would.
   */
  async fetch(request: FetchRequest): Promise<FetchOutcome> {
    const results: FetchPartitionOutcome[] = new Array(request.partitions.length);
    const byShard = new Map<number, { entries: FetchEntry[]; indexes: number[] }>();
    for (let i = 0; i < request.partitions.length; i++) {
      const wanted = request.partitions[i]!;
      const target = this.route(wanted.topic, wanted.partition);
      if (target === null) {
        results[i] = fetchFailure(KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
        continue;
      }
      let group = byShard.get(target.host.shardId);
      if (group === undefined) {
        group = { entries: [], indexes: [] };
        byShard.set(target.host.shardId, group);
      }
      group.entries.push({
        topicId: target.entry.topicId,
        partition: wanted.partition,
        offset: wanted.offset,
        maxBytes: Math.max(0, wanted.maxBytes),
        currentLeaderEpoch: wanted.currentLeaderEpoch ?? -1,
      });
      group.indexes.push(i);
    }
    const minBytes = Math.max(1, request.minBytes);
    const maxWaitMs = Math.max(0, Math.min(request.maxWaitMs, this.config.maxWaitMsMax));
    const maxBytes = Math.max(1, Math.min(request.maxBytes, this.config.fetchMaxBytes));
    const inFlight: { host: ShardHost; correlationId: number; done: boolean }[] = [];
    let bytesSoFar = 0;
    const parts: Promise<void>[] = [];
    for (const [shardId, group] of byShard) {
      const host = this.hosts[shardId]!;
      const sent = host.fetch(
        group.entries,
        maxWaitMs,
        minBytes,
        maxBytes,
        request.replicaId ?? -1,
        request.isolationLevel === 1,
      );
      const handle = { host, correlationId: sent.correlationId, done: false };
      inFlight.push(handle);
      parts.push(
        sent.outcome.then((outcomes) => {
          handle.done = true;
          for (let j = 0; j < group.indexes.length; j++) {
            const outcome = outcomes[j] ?? fetchFailure(KafkaErrorCode.NOT_LEADER_OR_FOLLOWER);
            results[group.indexes[j]!] = outcome;
            bytesSoFar += outcome.records.length;
          }
          if (bytesSoFar >= minBytes && inFlight.length > 1) {
            for (const other of inFlight) if (!other.done) other.host.wakeFetch(other.correlationId);
          }
        }),
      );
    }
    await Promise.all(parts);
    return { partitions: results };
  }

  listOffsets(
    topic: string,
    partition: number,
    timestampMs: number,
    { currentLeaderEpoch = -1, isolationLevel = 0 }: ListOffsetsOptions = {},
  ): Promise<ListOffsetsOutcome> {
    const target = this.route(topic, partition);
    if (target === null) {
      return unknownPartitionOffsets();
    }
    return target.host.listOffsets(
      target.entry.topicId,
      partition,
      timestampMs,
      currentLeaderEpoch,
      isolationLevel === 1,
    );
  }

  async writeTxnMarker(marker: TxnMarker): Promise<KafkaErrorCode> {
    const target = this.route(marker.topic, marker.partition);
    if (target === null) return KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    const outcome = await target.host.writeTxnMarker(target.entry.topicId, marker);
    return outcome.errorCode;
  }

  offsetForLeaderEpoch(
    topic: string,
    partition: number,
    currentLeaderEpoch: number,
    leaderEpoch: number,
  ): Promise<EpochEndOffsetOutcome> {
    const target = this.route(topic, partition);
    if (target === null) {
      return Promise.resolve({
        errorCode: KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        leaderEpoch: -1,
        endOffset: NO_OFFSET,
      });
    }
    return target.host.offsetForEpoch(target.entry.topicId, partition, currentLeaderEpoch, leaderEpoch);
  }

  // ---- ReplicaEngine (src/replication drives these) ----------------------------------------

  applyReplicaRole(topic: string, partition: number, update: ReplicaRoleUpdate): Promise<KafkaErrorCode> {
    const target = this.route(topic, partition);
    if (target === null) return Promise.resolve(KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    const key = partitionKey(target.entry.topicId, partition);
    if (update.role === 'none') this.roles.delete(key);
    else this.roles.set(key, { topic, partition, update: { ...update } });
    return target.host.roleChange(target.entry.topicId, partition, update);
  }

  /** Sends a restarted shard the roles of its partitions again. */
  private reapplyRoles(shardId: number): void {
    for (const { topic, partition, update } of this.roles.values()) {
      const target = this.route(topic, partition);
      if (target !== null && target.host.shardId === shardId) {
        void target.host.roleChange(target.entry.topicId, partition, update);
      }
    }
  }

  advanceHighWatermark(
    topic: string,
    partition: number,
    highWatermarkBound: number,
    leaderLogStartOffset = -1,
  ): void {
    const target = this.route(topic, partition);
    if (target === null) return;
    const role = this.roles.get(partitionKey(target.entry.topicId, partition));
    if (role !== undefined) role.update.highWatermarkBound = highWatermarkBound;
    target.host.hwAdvance(target.entry.topicId, partition, highWatermarkBound, leaderLogStartOffset);
  }

  appendAsFollower(
    topic: string,
    partition: number,
    leaderHighWatermark: number,
    batches: Uint8Array,
  ): Promise<ReplicaAppendOutcome> {
    const target = this.route(topic, partition);
    if (target === null) {
      return Promise.resolve({
        errorCode: KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        logEndOffset: NO_OFFSET,
        highWatermark: NO_OFFSET,
        errorMessage: `unknown topic or partition ${topic}-${partition}`,
      });
    }
    return target.host.replicaAppend(target.entry.topicId, partition, leaderHighWatermark, batches);
  }

  localEpochEnd(topic: string, partition: number, leaderEpoch: number): Promise<EpochEndOffsetOutcome> {
    return this.offsetForLeaderEpoch(topic, partition, -2, leaderEpoch);
  }

  truncateReplica(topic: string, partition: number, offset: number): Promise<ListOffsetsOutcome> {
    const target = this.route(topic, partition);
    if (target === null) {
      return unknownPartitionOffsets();
    }
    return target.host.truncate(target.entry.topicId, partition, offset);
  }

  resetReplicaLogStart(topic: string, partition: number, offset: number): Promise<ListOffsetsOutcome> {
    const target = this.route(topic, partition);
    if (target === null) {
      return unknownPartitionOffsets();
    }
    return target.host.truncate(target.entry.topicId, partition, offset, MessageType.RESET_LOG_START);
  }

  async segmentExtents(
    topic: string,
    partition: number,
    fromOffset: number,
    endOffset: number,
  ): Promise<SegmentExtentsOutcome> {
    const target = this.route(topic, partition);
    if (target === null) return { errorCode: KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION, extents: null };
    const { entry, host } = target;
    const state = await host.segmentExtents(entry.topicId, partition, fromOffset, endOffset);
    if (state.extents === null) return { errorCode: state.errorCode, extents: null };
    // The same directory the shard opened the partition in (shard.ts, partitionDir).
    const dir = partitionDir(this.config.dataDir, entry.topicId, entry.name, partition);
    return {
      errorCode: state.errorCode,
      extents: state.extents.map((extent) => ({
        ...extent,
        path: segmentPath(dir, extent.baseOffset, LOG_SUFFIX),
      })),
    };
  }

  async deleteRecords(topic: string, partition: number, offset: number): Promise<DeleteRecordsOutcome> {
    const target = this.route(topic, partition);
    if (target === null)
      return { errorCode: KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION, lowWatermark: NO_OFFSET };
    const outcome = await target.host.deleteRecords(target.entry.topicId, partition, offset);
    return { errorCode: outcome.errorCode, lowWatermark: outcome.offset };
  }

  async createTopic(
    name: string,
    partitionCount: number,
    config?: Partial<TopicConfig>,
  ): Promise<KafkaErrorCode> {
    if (topicNameProblem(name) !== null) return KafkaErrorCode.INVALID_TOPIC_EXCEPTION;
    if (this.registry.get(name) !== undefined || this.creating.has(name))
      return KafkaErrorCode.TOPIC_ALREADY_EXISTS;
    if (
      !Number.isInteger(partitionCount) ||
      partitionCount < 1 ||
      partitionCount >= PARTITIONS_PER_TOPIC_MAX ||
      partitionCount > this.config.maxPartitionsPerTopic
    ) {
      return KafkaErrorCode.INVALID_PARTITIONS;
    }
    if (this.partitionsTotal + partitionCount > this.config.maxPartitionsPerBroker) {
      return KafkaErrorCode.POLICY_VIOLATION;
    }
    const topicConfig: TopicConfig = { ...this.config.topicDefaults, ...config };
    this.creating.add(name);
    try {
      let entry: TopicEntry;
      try {
        entry = this.registry.add(name, this.topicIds.next(), partitionCount, topicConfig);
      } catch (error) {
        return error instanceof PyralogError ? error.kafkaCode : KafkaErrorCode.INVALID_CONFIG;
      }
      const codes = await Promise.all(
        this.hosts.map((host) => {
          const owned = ownedBy(entry, host.shardId);
          return owned.length === 0
            ? KafkaErrorCode.NONE
            : host.createPartitions(entry.topicId, name, owned, entry.config);
        }),
      );
      const failure = codes.find((code) => code !== KafkaErrorCode.NONE);
      if (failure !== undefined) await this.rollBackCreate(entry);
      return failure ?? KafkaErrorCode.NONE;
    } finally {
      this.creating.delete(name);
    }
  }

  /**
   * A create that failed on some shard (restarting, timed out, refused) is
   * undone whole: the registry forgets the topic, the shards that made its
   * partitions close them, and its directory goes, so no topic is left with
   * partitions that exist on one shard and not another.
   */
  private async rollBackCreate(entry: TopicEntry): Promise<void> {
    try {
      if (this.registry.get(entry.name)?.topicId === entry.topicId) this.registry.remove(entry.name);
    } catch {
      // The registry could not record the removal (out of descriptors or space): the topic stays
      // known and its partitions are closed below; deleting it again later finishes the job.
    }
    await Promise.all(
      this.hosts.map((host) => {
        const owned = ownedBy(entry, host.shardId);
        return owned.length === 0 ? KafkaErrorCode.NONE : host.deletePartitions(entry.topicId, owned);
      }),
    );
    removeInBackground(topicDir(this.config.dataDir, entry.topicId, entry.name));
  }

  async deleteTopic(name: string): Promise<KafkaErrorCode> {
    const entry = this.registry.get(name);
    if (entry === undefined) return KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    // Internal topics (committed offsets) hold the broker's own state: a client may not delete them.
    if (name.startsWith('__')) return KafkaErrorCode.POLICY_VIOLATION;
    // Forget it first so no new request is routed to partitions being removed.
    this.registry.remove(name);
    // Its replication roles too: a restarted shard must not give them to a topic created again by that name.
    for (const [key, role] of this.roles) if (role.topic === name) this.roles.delete(key);
    const codes = await Promise.all(
      this.hosts.map((host) => {
        const owned = ownedBy(entry, host.shardId);
        return owned.length === 0 ? KafkaErrorCode.NONE : host.deletePartitions(entry.topicId, owned);
      }),
    );
    // The registry no longer names it (the durable mark): its directory goes in the background. A
    // crash before that is finished leaves an orphan, removed at the next start; a topic created
    // again under this name has a new id and so a new directory meanwhile.
    removeInBackground(topicDir(this.config.dataDir, entry.topicId, entry.name));
    return codes.find((code) => code !== KafkaErrorCode.NONE) ?? KafkaErrorCode.NONE;
  }

  async alterTopicConfig(name: string, settings: Partial<TopicConfig>): Promise<KafkaErrorCode> {
    const current = this.registry.get(name);
    if (current === undefined) return KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    let entry: TopicEntry;
    try {
      entry = this.registry.update(name, { config: { ...current.config, ...settings } });
    } catch (error) {
      return error instanceof PyralogError ? error.kafkaCode : KafkaErrorCode.INVALID_CONFIG;
    }
    return this.openOnShards(entry, () => true);
  }

  async addPartitions(name: string, partitionCount: number): Promise<KafkaErrorCode> {
    const current = this.registry.get(name);
    if (current === undefined) return KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    if (
      !Number.isInteger(partitionCount) ||
      partitionCount <= current.partitionCount ||
      partitionCount >= PARTITIONS_PER_TOPIC_MAX ||
      partitionCount > this.config.maxPartitionsPerTopic
    ) {
      return KafkaErrorCode.INVALID_PARTITIONS;
    }
    // The same caps as a create: the broker's whole count includes the partitions added here.
    if (this.partitionsTotal + partitionCount - current.partitionCount > this.config.maxPartitionsPerBroker) {
      return KafkaErrorCode.POLICY_VIOLATION;
    }
    const before = current.partitionCount;
    // Recorded first, like a create: a crash after this finds the new partitions and opens them empty.
    const entry = this.registry.update(name, { partitionCount });
    return this.openOnShards(entry, (partition) => partition >= before);
  }

  /** Sends each shard its partitions of `entry` that `wanted` selects, to open or to take new settings. */
  private async openOnShards(
    entry: TopicEntry,
    wanted: (partition: number) => boolean,
  ): Promise<KafkaErrorCode> {
    const codes = await Promise.all(
      this.hosts.map((host) => {
        const owned = ownedBy(entry, host.shardId).filter(wanted);
        return owned.length === 0
          ? KafkaErrorCode.NONE
          : host.createPartitions(entry.topicId, entry.name, owned, entry.config);
      }),
    );
    return codes.find((code) => code !== KafkaErrorCode.NONE) ?? KafkaErrorCode.NONE;
  }

  listTopics(): TopicDescription[] {
    return this.registry.all().map(describe);
  }

  describeTopic(name: string): TopicDescription | undefined {
    const entry = this.registry.get(name);
    return entry === undefined ? undefined : describe(entry);
  }

  async describePartitions(name: string): Promise<PartitionDescription[] | undefined> {
    const entry = this.registry.get(name);
    if (entry === undefined) return undefined;
    const descriptions: PartitionDescription[] = new Array(entry.partitionCount);
    await Promise.all(
      this.hosts.map(async (host) => {
        const owned = ownedBy(entry, host.shardId);
        if (owned.length === 0) return;
        const states = await host.describePartitions(entry.topicId, owned);
        owned.forEach((partition, i) => {
          const state = states[i];
          descriptions[partition] = {
            partition,
            shard: host.shardId,
            errorCode: state?.errorCode ?? KafkaErrorCode.NOT_LEADER_OR_FOLLOWER,
            logStartOffset: state?.logStartOffset ?? NO_OFFSET,
            logEndOffset: state?.logEndOffset ?? NO_OFFSET,
            highWatermark: state?.highWatermark ?? NO_OFFSET,
          };
        });
      }),
    );
    return descriptions;
  }

  /**
   * Producer ids from elsewhere than this broker's sequencer: in cluster mode ids must be unique across
   * brokers, so the broker hands them out from etcd (cluster/producer-id-blocks.ts) once it has joined, and
   * refuses them (a retriable error for the client) before.
   */
  useProducerIdSource(source: () => Promise<number>): void {
    this.producerIdSource = source;
  }

  async nextProducerId(): Promise<number> {
    if (this.producerIdSource !== null) return this.producerIdSource();
    return this.producerIds.next();
  }

  /** Makes every partition durable now, whatever the fsync policy. */
  async flush(): Promise<KafkaErrorCode> {
    const codes = await Promise.all(this.hosts.map((host) => host.flush()));
    return codes.find((code) => code !== KafkaErrorCode.NONE) ?? KafkaErrorCode.NONE;
  }

  /** Answers every held fetch now, with what each has (graceful stop). */
  wakeHeldFetches(): void {
    for (const host of this.hosts) host.wakeAllFetches();
  }

  /** Graceful stop: every shard answers what it holds, syncs, writes clean-shutdown markers and exits. */
  async stop(): Promise<void> {
    await Promise.all(this.hosts.map((host) => host.stop(this.config.shutdownTimeoutMs)));
    await this.checker.close();
    this.topicIds.close();
    this.producerIds.close();
    this.registry.close();
  }
}

/**
 * Before the shards open anything: moves partition directories of the earlier
 * by-name layout into place, and removes (in the background) the directories
 * of topics the registry no longer knows, left by a deletion a crash cut short.
 */
function settlePartitionDirs(dataDir: string, registry: TopicRegistry): void {
  const known = new Set<number>();
  for (const topic of registry.all()) {
    known.add(topic.topicId);
    for (let partition = 0; partition < topic.partitionCount; partition++) {
      migrateLegacyPartition(dataDir, topic.name, topic.topicId, partition);
    }
  }
  for (const found of topicDirsOnDisk(dataDir)) {
    if (!known.has(found.topicId)) removeInBackground(found.dir);
  }
}

/** Removes a directory tree without holding the acceptor; a failure is retried at the next start. */
function removeInBackground(dir: string): void {
  rm(dir, { recursive: true, force: true }).catch(() => undefined);
}

function ownedBy(entry: TopicEntry, shardId: number): number[] {
  const owned: number[] = [];
  for (let partition = 0; partition < entry.partitionCount; partition++) {
    if (entry.shards[partition] === shardId) owned.push(partition);
  }
  return owned;
}

function describe(entry: TopicEntry): TopicDescription {
  return {
    name: entry.name,
    topicId: entry.topicId,
    partitionCount: entry.partitionCount,
    config: entry.config,
  };
}

/** The answer to an offsets request (list, truncate, log-start reset) for a partition this broker does not have. */
function unknownPartitionOffsets(): Promise<ListOffsetsOutcome> {
  return Promise.resolve(listOffsetsFailure(KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION));
}
