import { KafkaErrorCode } from '../common/kafka-error-code.js';
import type { ReplicaEngine } from '../engine/engine-api.js';
import {
  type FetchResponseData,
  fetchRequestDescription,
  fetchResponseDescription,
} from '../protocol/kafka/fetch.js';
import { messageCodec } from '../protocol/kafka/message/message-codec.js';
import {
  type OffsetForLeaderEpochResponse,
  offsetForLeaderEpochRequestDescription,
  offsetForLeaderEpochResponseDescription,
} from '../protocol/kafka/offset-for-leader-epoch.js';
import { PeerConnection, type PeerSecurity } from './peer-connection.js';
import { truncationStep } from './truncation.js';

/**
 * A follower's fetcher for the partitions it follows from one leader broker,
 * on the acceptor (which owns network I/O). It speaks Kafka to the leader as
 * a replica: OffsetForLeaderEpoch v4 to find where a partition must be cut
 * (truncation.ts) after every new leader epoch, then Fetch v12 with its
 * replica id and current leader epoch, from its log end. What comes back is
 * appended through the shard's ring (REPLICA_APPEND), which answers once the
 * batches are durable under `--fsync always`; only then does the next fetch
 * go out, so the offset it fetches from (which tells the leader how far this
 * replica holds the log) is always durable here. The leader's high watermark
 * rides along on every append. A log that ends below the leader's log start
 * (OFFSET_OUT_OF_RANGE with the leader's log start above the fetch offset)
 * is emptied and started again there (RESET_LOG_START). A fenced partition
 * pauses until the control plane says what it is now (`follow`). Other
 * errors back off and retry.
 */
export interface FollowerFetcherOptions {
  localBrokerId: number;
  leaderBrokerId: number;
  /** Where the leader is reachable now (the control plane's ClusterView); undefined while unknown. */
  endpoint: () => { host: string; port: number } | undefined;
  requestTimeoutMs: number;
  fetchMaxWaitMs: number;
  fetchMaxBytes: number;
  partitionMaxBytes: number;
  maxFrameBytes: number;
  retryBackoffMs: number;
  /** TLS and SASL to the leader's inter-broker listener; absent: plain TCP, no SASL. */
  security?: PeerSecurity;
  /** Told of what went wrong (a log line); the fetcher retries by itself. */
  onError: (message: string) => void;
}

interface FollowedPartition {
  topic: string;
  partition: number;
  leaderEpoch: number;
  state: 'truncating' | 'fetching' | 'paused';
  /** The local log end, durable: where the next fetch starts; -1 until truncation tells it. */
  fetchOffset: number;
  /** The leader's log start as last passed to the shard (its own follows it); -1 before. */
  leaderLogStart: number;
}

const FETCH_KEY = 1;
const OFFSET_FOR_LEADER_EPOCH_KEY = 23;
const fetchRequest = messageCodec<Record<string, unknown>>(fetchRequestDescription);
const fetchResponse = messageCodec<FetchResponseData>(fetchResponseDescription);
const epochRequest = messageCodec<Record<string, unknown>>(offsetForLeaderEpochRequestDescription);
const epochResponse = messageCodec<OffsetForLeaderEpochResponse>(offsetForLeaderEpochResponseDescription);

export class FollowerFetcher {
  private readonly partitions = new Map<string, FollowedPartition>();
  private connection: PeerConnection | null = null;
  private running = false;
  private loop: Promise<void> = Promise.resolve();
  private wake: (() => void) | null = null;
  /** Fetch rounds completed (tests, metrics). */
  rounds = 0;
  /** Times a partition's log was restarted at its leader's log start (tests, metrics). */
  logStartResets = 0;
  /** A partition failed in this round: back off before the next. */
  private troubled = false;

  constructor(
    private readonly engine: ReplicaEngine,
    private readonly options: FollowerFetcherOptions,
  ) {}

  get size(): number {
    return this.partitions.size;
  }

  /** Follows `topic`-`partition` in `leaderEpoch` (a new epoch truncates first). */
  follow(topic: string, partition: number, leaderEpoch: number): void {
    const key = `${topic}\u0000${partition}`;
    const known = this.partitions.get(key);
    if (known !== undefined && known.leaderEpoch === leaderEpoch && known.state !== 'paused') return;
    this.partitions.set(key, {
      topic,
      partition,
      leaderEpoch,
      state: 'truncating',
      fetchOffset: -1,
      leaderLogStart: -1,
    });
    this.start();
    this.wake?.();
  }

  unfollow(topic: string, partition: number): void {
    this.partitions.delete(`${topic}\u0000${partition}`);
  }

  /** Where a followed partition fetches from next (tests). */
  fetchOffsetOf(topic: string, partition: number): number {
    return this.partitions.get(`${topic}\u0000${partition}`)?.fetchOffset ?? -1;
  }

  private start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    this.connection?.close();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        const worked = await this.round();
        if (!worked || this.troubled) await this.sleep(this.options.retryBackoffMs);
        this.troubled = false;
      } catch (error) {
        this.options.onError(
          `replica fetcher for leader ${this.options.leaderBrokerId}: ${(error as Error).message}`,
        );
        this.connection?.close();
        this.connection = null;
        await this.sleep(this.options.retryBackoffMs);
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
    });
  }

  private async connect(): Promise<PeerConnection> {
    if (this.connection !== null && !this.connection.closed) return this.connection;
    const endpoint = this.options.endpoint();
    if (endpoint === undefined)
      throw new Error(`no endpoint known for broker ${this.options.leaderBrokerId}`);
    this.connection = await PeerConnection.open({
      host: endpoint.host,
      port: endpoint.port,
      clientId: `pyralog-replica-${this.options.localBrokerId}`,
      requestTimeoutMs: this.options.requestTimeoutMs,
      maxFrameBytes: this.options.maxFrameBytes,
      tls: this.options.security?.tls ?? null,
      sasl: this.options.security?.sasl ?? null,
    });
    return this.connection;
  }

  /** One round: truncations, then one fetch. False when there was nothing to do. */
  private async round(): Promise<boolean> {
    const truncating = [...this.partitions.values()].filter((p) => p.state === 'truncating');
    const fetching = [...this.partitions.values()].filter((p) => p.state === 'fetching');
    if (truncating.length === 0 && fetching.length === 0) return false;
    const connection = await this.connect();
    for (const followed of truncating) await this.truncate(connection, followed);
    if (fetching.length > 0) await this.fetch(connection, fetching);
    this.rounds++;
    return true;
  }

  private async truncate(connection: PeerConnection, followed: FollowedPartition): Promise<void> {
    const { topic, partition } = followed;
    for (let round = 0; round < 64; round++) {
      const latest = await this.engine.localEpochEnd(topic, partition, -2);
      if (latest.errorCode !== KafkaErrorCode.NONE) {
        throw new Error(`local epochs of ${topic}-${partition}: error ${latest.errorCode}`);
      }
      const answer = await connection.send(
        OFFSET_FOR_LEADER_EPOCH_KEY,
        4,
        epochRequest,
        {
          replicaId: this.options.localBrokerId,
          topics: [
            {
              topic,
              partitions: [
                { partition, currentLeaderEpoch: followed.leaderEpoch, leaderEpoch: latest.leaderEpoch },
              ],
            },
          ],
        },
        epochResponse,
      );
      const result = answer.topics[0]?.partitions[0];
      if (result === undefined)
        throw new Error(`OffsetForLeaderEpoch answered nothing for ${topic}-${partition}`);
      if (result.errorCode !== KafkaErrorCode.NONE) {
        this.onPartitionError(followed, result.errorCode, 'OffsetForLeaderEpoch');
        return;
      }
      const local = {
        logEndOffset: latest.endOffset,
        // Never below what the leader said was committed, and nothing is known committed here: the
        // fallback (a leader with no epoch at or below ours) keeps nothing uncertain.
        highWatermark: 0,
        endOffsetForEpoch: () => ({ leaderEpoch: -1, endOffset: -1 }),
      };
      const localAnswer = await this.engine.localEpochEnd(topic, partition, result.leaderEpoch);
      local.endOffsetForEpoch = () => ({
        leaderEpoch: localAnswer.leaderEpoch,
        endOffset: localAnswer.endOffset,
      });
      const step = truncationStep(result, local);
      const cut = await this.engine.truncateReplica(topic, partition, step.truncateTo);
      if (cut.errorCode !== KafkaErrorCode.NONE) {
        this.onPartitionError(followed, cut.errorCode, 'truncation');
        return;
      }
      followed.fetchOffset = cut.offset;
      if (step.done) {
        followed.state = 'fetching';
        return;
      }
    }
    throw new Error(`truncation of ${topic}-${partition} did not converge`);
  }

  private async fetch(connection: PeerConnection, fetching: FollowedPartition[]): Promise<void> {
    const byTopic = new Map<string, FollowedPartition[]>();
    for (const followed of fetching) {
      const list = byTopic.get(followed.topic) ?? [];
      list.push(followed);
      byTopic.set(followed.topic, list);
    }
    const response = await connection.send(
      FETCH_KEY,
      12,
      fetchRequest,
      {
        replicaId: this.options.localBrokerId,
        maxWaitMs: this.options.fetchMaxWaitMs,
        minBytes: 1,
        maxBytes: this.options.fetchMaxBytes,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [...byTopic].map(([topic, list]) => ({
          topic,
          partitions: list.map((followed) => ({
            partition: followed.partition,
            currentLeaderEpoch: followed.leaderEpoch,
            fetchOffset: followed.fetchOffset,
            lastFetchedEpoch: -1,
            logStartOffset: -1,
            partitionMaxBytes: this.options.partitionMaxBytes,
          })),
        })),
        forgottenTopicsData: [],
        rackId: '',
        clusterId: null,
      },
      fetchResponse,
      this.options.requestTimeoutMs + this.options.fetchMaxWaitMs,
    );
    const appends: Promise<void>[] = [];
    for (const topic of response.topics) {
      for (const answered of topic.partitions) {
        const followed = this.partitions.get(`${topic.topic}\u0000${answered.partition}`);
        if (followed === undefined || followed.state !== 'fetching') continue;
        if (
          answered.errorCode === KafkaErrorCode.OFFSET_OUT_OF_RANGE &&
          answered.logStartOffset > followed.fetchOffset
        ) {
          // This log ends below the leader's log start (retention or DeleteRecords there): what it
          // lacks is gone, so it starts again, empty, at the leader's log start (as Kafka's follower).
          appends.push(this.resetLogStart(followed, answered.logStartOffset));
          continue;
        }
        if (answered.errorCode !== KafkaErrorCode.NONE) {
          this.onPartitionError(followed, answered.errorCode, 'Fetch');
          continue;
        }
        appends.push(
          this.append(followed, answered.highWatermark, answered.logStartOffset, answered.records),
        );
      }
    }
    await Promise.all(appends);
  }

  private async append(
    followed: FollowedPartition,
    highWatermark: number,
    leaderLogStart: number,
    records: Uint8Array | null,
  ): Promise<void> {
    if (records === null || records.length === 0) {
      // Every empty answer carries the leader's log start: the shard moves the follower's up to its high
      // watermark, which may only now have reached it.
      this.engine.advanceHighWatermark(followed.topic, followed.partition, highWatermark, leaderLogStart);
      followed.leaderLogStart = leaderLogStart;
      return;
    }
    const outcome = await this.engine.appendAsFollower(
      followed.topic,
      followed.partition,
      highWatermark,
      records,
    );
    if (outcome.errorCode !== KafkaErrorCode.NONE) {
      // Out of order (the leader's log moved under us) or a bad batch: find the agreement point again.
      if (outcome.logEndOffset >= 0) followed.fetchOffset = outcome.logEndOffset;
      this.onPartitionError(followed, outcome.errorCode, `append (${outcome.errorMessage})`);
      return;
    }
    followed.fetchOffset = outcome.logEndOffset;
    if (leaderLogStart > followed.leaderLogStart) {
      this.engine.advanceHighWatermark(followed.topic, followed.partition, highWatermark, leaderLogStart);
      followed.leaderLogStart = leaderLogStart;
    }
  }

  private async resetLogStart(followed: FollowedPartition, leaderLogStartOffset: number): Promise<void> {
    const reset = await this.engine.resetReplicaLogStart(
      followed.topic,
      followed.partition,
      leaderLogStartOffset,
    );
    if (reset.errorCode !== KafkaErrorCode.NONE) {
      this.onPartitionError(
        followed,
        reset.errorCode,
        `restart at the leader's log start ${leaderLogStartOffset}`,
      );
      return;
    }
    this.logStartResets++;
    this.options.onError(
      `${followed.topic}-${followed.partition} ended below the leader's log start: restarted empty at ${reset.offset}`,
    );
    followed.fetchOffset = reset.offset;
  }

  private onPartitionError(followed: FollowedPartition, code: number, what: string): void {
    this.troubled = true;
    if (code === KafkaErrorCode.FENCED_LEADER_EPOCH) {
      // The leader is at a later epoch than this follower knows: wait for the control plane's next word.
      followed.state = 'paused';
    } else {
      // NOT_LEADER_OR_FOLLOWER or UNKNOWN_TOPIC_OR_PARTITION (the leader has not taken its role or the
      // topic yet, e.g. just after its shard restarted: the control plane would say nothing new, so
      // waiting for it would stall this partition for good), UNKNOWN_LEADER_EPOCH (the leader has not
      // heard yet), OFFSET_OUT_OF_RANGE, CORRUPT_MESSAGE, storage: after a backoff, start again from the
      // agreement point. A leader that really moved is replaced by the control plane's next `follow`.
      followed.state = 'truncating';
    }
    this.options.onError(`${what} of ${followed.topic}-${followed.partition}: error ${code}`);
  }
}
