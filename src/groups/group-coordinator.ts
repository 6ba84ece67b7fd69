import { randomUUID } from 'node:crypto';
import { KafkaErrorCode } from '../common/kafka-error-code.js';
import type { Engine } from '../engine/engine-api.js';
import { Group, joinFailure } from './group.js';
import type {
  GroupCoordinatorApi,
  GroupDescription,
  JoinGroupRequest,
  JoinGroupResult,
  MemberRef,
  OffsetCommitRequest,
  OffsetCommitResult,
  OffsetDeleteRequest,
  OffsetDeleteResult,
  OffsetFetchRequest,
  OffsetFetchResult,
  PendingOffsetCommitRequest,
  SyncGroupRequest,
  SyncGroupResult,
} from './group-coordinator-api.js';
import { OFFSET_METADATA_BYTES_MAX, SESSION_TIMEOUT_MS_MAX, SESSION_TIMEOUT_MS_MIN } from './group-limits.js';
import { OFFSET_KEY_STRING_BYTES_MAX } from './offset-record.js';
import { OFFSETS_TOPIC, type OffsetEntry, OffsetStore, type OffsetStoreLog } from './offset-store.js';
import { CLUSTER_OFFSETS_PARTITIONS } from './offsets-topic.js';

/**
 * The consumer group coordinator: Kafka's join → sync → heartbeat protocol
 * (one `Group` state machine per group) and durable committed offsets
 * (`OffsetStore`, in the internal topic `__consumer_offsets`). It runs on the
 * acceptor thread: groups are few and their traffic is light. Operating
 * errors are Kafka error codes in the results, never rejections.
 *
 * In a cluster (`leadership` given) a group is coordinated by the leader of
 * its `__consumer_offsets` partition: the coordinator loads a partition when
 * told this broker leads it (`onOffsetsPartitionState`), answers its groups
 * COORDINATOR_LOAD_IN_PROGRESS until loaded, and NOT_COORDINATOR for groups
 * whose partition another broker leads (docs/cluster.md, Consumer groups).
 */
export interface GroupCoordinatorOptions {
  /** Clock for commit timestamps; defaults to `Date.now`. */
  nowMs?: () => number;
  /** Partitions of `__consumer_offsets` when this creates it (default 1; in a cluster, etcd's count). */
  offsetsPartitions?: number;
  /** Where damaged committed-offset records are reported while loading. */
  log?: OffsetStoreLog;
  /** Cluster mode: which offsets partitions this broker leads now. Absent on a single node. */
  leadership?: OffsetsLeadership;
}

/** Cluster mode: the control plane's word on who leads each `__consumer_offsets` partition. */
export interface OffsetsLeadership {
  readonly localBrokerId: number;
  /** The leader epoch under which this broker leads the partition now (etcd says so, its lease is valid); -1 when it does not. */
  leaderEpoch(partition: number): number;
}

/** What the control plane says of one `__consumer_offsets` partition this broker replicates. */
export interface OffsetsPartitionState {
  partition: number;
  /** The topic's partition count in etcd. */
  partitionCount: number;
  /** Whether this broker is its leader now. */
  leading: boolean;
  leaderEpoch: number;
}

type CommitPartition = OffsetCommitRequest['topics'][number]['partitions'][number];

const EMPTY = new Uint8Array(0);
const utf8 = new TextEncoder();

export class GroupCoordinator implements GroupCoordinatorApi {
  /** Groups that have members; a group whose last member is gone is forgotten (its offsets stay). */
  private readonly groups = new Map<string, Group>();
  private closed = false;
  private readonly hooks = {
    newMemberId: (clientId: string): string => `${clientId.length > 0 ? clientId : 'member'}-${randomUUID()}`,
    onEmpty: (group: Group): void => {
      if (this.groups.get(group.groupId) === group) this.groups.delete(group.groupId);
    },
  };

  private constructor(
    private readonly offsets: OffsetStore,
    private readonly nowMs: () => number,
    private readonly leadership: OffsetsLeadership | null,
  ) {}

  /**
   * Opens the coordinator. On a single node: creates `__consumer_offsets` if missing and reads every
   * committed offset back. In a cluster: reads nothing yet; partitions load as this broker comes to
   * lead them.
   */
  static async open(engine: Engine, options: GroupCoordinatorOptions = {}): Promise<GroupCoordinator> {
    const leadership = options.leadership ?? null;
    const offsets =
      leadership === null
        ? await OffsetStore.open(engine, options.offsetsPartitions ?? 1, options.log)
        : OffsetStore.clustered(
            engine,
            options.offsetsPartitions ?? CLUSTER_OFFSETS_PARTITIONS,
            leadership.localBrokerId,
            options.log,
          );
    return new GroupCoordinator(offsets, options.nowMs ?? Date.now, leadership);
  }

  /**
   * Cluster mode: the control plane's latest word on one offsets partition this broker replicates.
   * Leading it under a new epoch drops what memory held of its groups and loads it again (resolves
   * once loaded, or superseded; never rejects); no longer leading it closes its groups (held joins
   * and syncs answered NOT_COORDINATOR) and forgets their offsets. Idempotent per epoch.
   */
  async onOffsetsPartitionState(state: OffsetsPartitionState): Promise<void> {
    if (this.closed || this.leadership === null) return;
    if (this.offsets.usePartitionCount(state.partitionCount)) this.closeGroups(() => true);
    const { partition } = state;
    const ofPartition = (groupId: string): boolean => this.offsets.partitionFor(groupId) === partition;
    if (!state.leading) {
      this.closeGroups(ofPartition);
      this.offsets.resign(partition);
      return;
    }
    if (this.offsets.servesAt(partition, state.leaderEpoch)) return;
    // Groups held under an earlier leadership may have moved and come back meanwhile: start afresh.
    this.closeGroups(ofPartition);
    await this.offsets.lead(partition, state.leaderEpoch);
  }

  /**
   * Whether this coordinator may serve the group now: NONE; COORDINATOR_NOT_AVAILABLE once closed;
   * in a cluster NOT_COORDINATOR when another broker leads its offsets partition (or this one has
   * fenced itself), COORDINATOR_LOAD_IN_PROGRESS while the partition loads, or while etcd already
   * names this broker leader under an epoch whose role change has not reached the coordinator yet
   * (what memory holds may be an earlier leadership's).
   */
  private refusal(groupId: string): KafkaErrorCode {
    if (this.closed) return KafkaErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (this.leadership === null) return KafkaErrorCode.NONE;
    const partition = this.offsets.partitionFor(groupId);
    const leaderEpoch = this.leadership.leaderEpoch(partition);
    if (leaderEpoch < 0) return KafkaErrorCode.NOT_COORDINATOR;
    if (!this.offsets.servesAt(partition, leaderEpoch)) return KafkaErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
    return this.offsets.statusOf(groupId) === 'loaded'
      ? KafkaErrorCode.NONE
      : KafkaErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
  }

  /** Closes the groups `which` names: held requests are answered NOT_COORDINATOR, the groups forgotten. */
  private closeGroups(which: (groupId: string) => boolean): void {
    for (const [groupId, group] of [...this.groups]) {
      if (!which(groupId)) continue;
      this.groups.delete(groupId);
      group.close(KafkaErrorCode.NOT_COORDINATOR);
    }
  }

  joinGroup(request: JoinGroupRequest): Promise<JoinGroupResult> {
    const refused = this.refusal(request.groupId);
    if (refused !== KafkaErrorCode.NONE) return Promise.resolve(joinFailure(refused, request.memberId));
    if (request.groupId.length === 0)
      return Promise.resolve(joinFailure(KafkaErrorCode.INVALID_GROUP_ID, request.memberId));
    if (
      !Number.isInteger(request.sessionTimeoutMs) ||
      request.sessionTimeoutMs < SESSION_TIMEOUT_MS_MIN ||
      request.sessionTimeoutMs > SESSION_TIMEOUT_MS_MAX
    ) {
      return Promise.resolve(joinFailure(KafkaErrorCode.INVALID_SESSION_TIMEOUT, request.memberId));
    }
    let group = this.groups.get(request.groupId);
    if (group === undefined) {
      // Only a first join (empty member id) may bring a group into being.
      if (request.memberId !== '')
        return Promise.resolve(joinFailure(KafkaErrorCode.UNKNOWN_MEMBER_ID, request.memberId));
      group = new Group(request.groupId, this.hooks);
      this.groups.set(request.groupId, group);
    }
    const joined = group.join(request);
    // A refused first join leaves no empty group behind.
    if (group.memberCount === 0) this.hooks.onEmpty(group);
    return joined;
  }

  syncGroup(request: SyncGroupRequest): Promise<SyncGroupResult> {
    const refused = this.refusal(request.groupId);
    const group = this.groups.get(request.groupId);
    if (refused !== KafkaErrorCode.NONE || group === undefined) {
      const errorCode = refused !== KafkaErrorCode.NONE ? refused : KafkaErrorCode.UNKNOWN_MEMBER_ID;
      return Promise.resolve({ errorCode, assignment: EMPTY });
    }
    return group.sync(request);
  }

  async heartbeat(request: MemberRef): Promise<KafkaErrorCode> {
    const refused = this.refusal(request.groupId);
    if (refused !== KafkaErrorCode.NONE) return refused;
    return this.groups.get(request.groupId)?.heartbeat(request) ?? KafkaErrorCode.UNKNOWN_MEMBER_ID;
  }

  async leaveGroup(
    groupId: string,
    memberId: string,
    groupInstanceId: string | null = null,
  ): Promise<KafkaErrorCode> {
    const refused = this.refusal(groupId);
    if (refused !== KafkaErrorCode.NONE) return refused;
    return this.groups.get(groupId)?.leave(memberId, groupInstanceId) ?? KafkaErrorCode.UNKNOWN_MEMBER_ID;
  }

  async commitOffsets(request: OffsetCommitRequest): Promise<OffsetCommitResult> {
    const code = this.commitCheck(request);
    if (code !== KafkaErrorCode.NONE) return everyPartition(request, () => code);
    const commitTimeMs = this.nowMs();
    const { entries, refused } = this.commitEntries(request, commitTimeMs);
    // The answer waits for the produce: an acknowledged commit is durable, a failed one is not visible.
    const stored = await this.offsets.commit(request.groupId, entries, commitTimeMs);
    return everyPartition(request, (p) => refused.get(p) ?? stored);
  }

  /** The internal topic of committed offsets (the transaction coordinator adds its partitions to transactions). */
  readonly offsetsTopic = OFFSETS_TOPIC;

  offsetsPartitionFor(groupId: string): number {
    return this.offsets.partitionFor(groupId);
  }

  /**
   * TxnOffsetCommit's group side (KIP-98, KIP-447): checks the member as a commit does when the
   * request names a generation, then stores the offsets as pending for the producer. The
   * transaction coordinator has checked the producer and its transaction first.
   */
  async commitPendingOffsets(request: PendingOffsetCommitRequest): Promise<OffsetCommitResult> {
    const asCommit: OffsetCommitRequest = request;
    // Producers before KIP-447 name no generation: their offsets are taken as a simple consumer's.
    const code =
      request.generationId < 0 && request.memberId === ''
        ? this.simpleCommitCheck(request.groupId)
        : this.commitCheck(asCommit);
    if (code !== KafkaErrorCode.NONE) return everyPartition(asCommit, () => code);
    const commitTimeMs = this.nowMs();
    const { entries, refused } = this.commitEntries(asCommit, commitTimeMs);
    const stored = await this.offsets.commitPending(
      request.producerId,
      request.groupId,
      entries,
      commitTimeMs,
    );
    return everyPartition(asCommit, (p) => refused.get(p) ?? stored);
  }

  /** Makes a producer's pending offsets visible (commit) or drops them (abort), durably. */
  completeTransaction(producerId: number, commit: boolean): Promise<KafkaErrorCode> {
    return this.offsets.completeTransaction(producerId, commit, this.nowMs());
  }

  /** Whether an open transaction holds an offset of the partition (OffsetFetch's require_stable). */
  hasPendingOffset(groupId: string, topic: string, partition: number): boolean {
    return this.offsets.hasPending(groupId, topic, partition);
  }

  async fetchOffsets(request: OffsetFetchRequest): Promise<OffsetFetchResult> {
    const refused = this.refusal(request.groupId);
    if (refused !== KafkaErrorCode.NONE) {
      // The code at the top (OffsetFetch v2+) and on every partition asked for (v0-1 have only those).
      const topics = (request.topics ?? []).map((topic) => ({
        topic: topic.topic,
        partitions: topic.partitions.map((partition) => ({
          partition,
          offset: -1,
          metadata: '',
          errorCode: refused,
        })),
      }));
      return { errorCode: refused, topics: this.closed ? [] : topics };
    }
    const unstable = (topic: string, partition: number): boolean =>
      request.requireStable === true && this.offsets.hasPending(request.groupId, topic, partition);
    if (request.topics === null) {
      const topics: OffsetFetchResult['topics'] = [];
      for (const [topic, partitions] of this.offsets.all(request.groupId)) {
        topics.push({
          topic,
          partitions: partitions.map(({ partition, value }) =>
            unstable(topic, partition)
              ? { partition, offset: -1, metadata: '', errorCode: KafkaErrorCode.UNSTABLE_OFFSET_COMMIT }
              : { partition, offset: value.offset, metadata: value.metadata, errorCode: KafkaErrorCode.NONE },
          ),
        });
      }
      return { errorCode: KafkaErrorCode.NONE, topics };
    }
    return {
      errorCode: KafkaErrorCode.NONE,
      topics: request.topics.map((topic) => ({
        topic: topic.topic,
        partitions: topic.partitions.map((partition) => {
          if (unstable(topic.topic, partition))
            return { partition, offset: -1, metadata: '', errorCode: KafkaErrorCode.UNSTABLE_OFFSET_COMMIT };
          // A partition never committed answers offset -1 with empty metadata and no error, as in Kafka.
          const value = this.offsets.get(request.groupId, topic.topic, partition);
          return {
            partition,
            offset: value?.offset ?? -1,
            metadata: value === undefined ? '' : value.metadata,
            errorCode: KafkaErrorCode.NONE,
          };
        }),
      })),
    };
  }

  describeGroup(groupId: string): GroupDescription {
    const refused = this.leadership === null ? KafkaErrorCode.NONE : this.refusal(groupId);
    if (refused !== KafkaErrorCode.NONE) {
      return { errorCode: refused, groupId, state: '', protocolType: '', protocolName: '', members: [] };
    }
    const group = this.groups.get(groupId);
    if (group !== undefined) return group.describe();
    // Without members a group lives on only through its committed offsets: Empty as in Kafka, else Dead.
    const state = !this.closed && this.offsets.hasGroup(groupId) ? 'Empty' : 'Dead';
    const protocolType = state === 'Empty' ? 'consumer' : '';
    return { errorCode: KafkaErrorCode.NONE, groupId, state, protocolType, protocolName: '', members: [] };
  }

  listGroups(): { groupId: string; protocolType: string }[] {
    const listed = new Map<string, string>();
    for (const groupId of this.offsets.groups()) listed.set(groupId, 'consumer');
    for (const group of this.groups.values()) listed.set(group.groupId, group.type);
    const out: { groupId: string; protocolType: string }[] = [];
    for (const [groupId, protocolType] of listed) out.push({ groupId, protocolType });
    return out;
  }

  /** Forgets the committed offsets of a deleted topic in every group. */
  forgetTopic(topic: string): Promise<KafkaErrorCode> {
    return this.offsets.forgetTopic(topic, this.nowMs());
  }

  async deleteGroup(groupId: string): Promise<KafkaErrorCode> {
    const refused = this.refusal(groupId);
    if (refused !== KafkaErrorCode.NONE) return refused;
    if (this.groups.has(groupId)) return KafkaErrorCode.NON_EMPTY_GROUP;
    if (!this.offsets.hasGroup(groupId)) return KafkaErrorCode.GROUP_ID_NOT_FOUND;
    return this.offsets.deleteGroup(groupId, this.nowMs());
  }

  async deleteOffsets(request: OffsetDeleteRequest): Promise<OffsetDeleteResult> {
    const answerAll = (errorCode: KafkaErrorCode): OffsetDeleteResult => ({ errorCode, topics: [] });
    const refused = this.refusal(request.groupId);
    if (refused !== KafkaErrorCode.NONE) return answerAll(refused);
    const { groupId } = request;
    const group = this.groups.get(groupId);
    if (group === undefined && !this.offsets.hasGroup(groupId))
      return answerAll(KafkaErrorCode.GROUP_ID_NOT_FOUND);
    let subscribed = new Set<string>();
    if (group !== undefined && group.memberCount > 0) {
      const topics = group.subscribedTopics();
      if (topics === null) return answerAll(KafkaErrorCode.NON_EMPTY_GROUP);
      subscribed = topics;
    }
    const keys: { topic: string; partition: number }[] = [];
    for (const topic of request.topics) {
      if (subscribed.has(topic.topic)) continue;
      for (const partition of topic.partitions) keys.push({ topic: topic.topic, partition });
    }
    const stored = await this.offsets.deleteOffsets(groupId, keys, this.nowMs());
    return {
      errorCode: KafkaErrorCode.NONE,
      topics: request.topics.map((topic) => ({
        topic: topic.topic,
        partitions: topic.partitions.map((partition) => ({
          partition,
          errorCode: subscribed.has(topic.topic) ? KafkaErrorCode.GROUP_SUBSCRIBED_TO_TOPIC : stored,
        })),
      })),
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const group of this.groups.values()) group.close();
    this.groups.clear();
    if (this.leadership !== null) this.offsets.resignAll();
  }

  /** The offsets of a commit to store, and the partitions refused on their own with the reason. */
  private commitEntries(
    request: OffsetCommitRequest,
    commitTimeMs: number,
  ): { entries: OffsetEntry[]; refused: Map<CommitPartition, KafkaErrorCode> } {
    const entries: OffsetEntry[] = [];
    const refused = new Map<CommitPartition, KafkaErrorCode>();
    for (const topic of request.topics) {
      const topicTooLong = utf8.encode(topic.topic).length > OFFSET_KEY_STRING_BYTES_MAX;
      for (const p of topic.partitions) {
        if (topicTooLong) {
          refused.set(p, KafkaErrorCode.INVALID_TOPIC_EXCEPTION);
          continue;
        }
        if (p.metadata !== null && utf8.encode(p.metadata).length > OFFSET_METADATA_BYTES_MAX) {
          refused.set(p, KafkaErrorCode.OFFSET_METADATA_TOO_LARGE);
          continue;
        }
        entries.push({
          key: { groupId: request.groupId, topic: topic.topic, partition: p.partition },
          value: { offset: p.offset, commitTimeMs, metadata: p.metadata },
        });
      }
    }
    return { entries, refused };
  }

  /** Whether a commit from outside any generation (a producer before KIP-447) may be stored now. */
  private simpleCommitCheck(groupId: string): KafkaErrorCode {
    const refused = this.refusal(groupId);
    if (refused !== KafkaErrorCode.NONE) return refused;
    return utf8.encode(groupId).length > OFFSET_KEY_STRING_BYTES_MAX
      ? KafkaErrorCode.INVALID_GROUP_ID
      : KafkaErrorCode.NONE;
  }

  /** Whether a commit may be stored now; the group's own rules apply when it has members. */
  private commitCheck(request: OffsetCommitRequest): KafkaErrorCode {
    const refused = this.refusal(request.groupId);
    if (refused !== KafkaErrorCode.NONE) return refused;
    // An empty group id is allowed, as in Kafka (old clients commit under it); an endless one is not.
    if (utf8.encode(request.groupId).length > OFFSET_KEY_STRING_BYTES_MAX)
      return KafkaErrorCode.INVALID_GROUP_ID;
    const group = this.groups.get(request.groupId);
    if (group !== undefined)
      return group.checkCommit(request.generationId, request.memberId, request.groupInstanceId ?? null);
    // No members: a consumer outside any generation may commit; a generation names members we do not have.
    return request.generationId < 0 ? KafkaErrorCode.NONE : KafkaErrorCode.UNKNOWN_MEMBER_ID;
  }
}

function everyPartition(
  request: OffsetCommitRequest,
  codeOf: (partition: CommitPartition) => KafkaErrorCode,
): OffsetCommitResult {
  return {
    topics: request.topics.map((topic) => ({
      topic: topic.topic,
      partitions: topic.partitions.map((p) => ({ partition: p.partition, errorCode: codeOf(p) })),
    })),
  };
}
