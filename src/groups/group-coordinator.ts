import { randomUUID } from 'node:crypto';
import { KafkaErrorCode } from '../common/kafka-error-code.js';
import type { Engine } from '../engine/engine-api.js';
import { Group, Member } from './group.js';
import type {
  GroupCoordinatorApi,
  GroupDescription,
  JoinGroupRequest,
  JoinGroupResult,
  MemberRef,
  OffsetCommitRequest,
  OffsetCommitResult,
  OffsetFetchRequest,
  OffsetFetchResult,
  SyncGroupRequest,
  SyncGroupResult,
} from './group-coordinator-api.js';
import { OffsetStore } from './offset-store.js';

/**
 * The consumer group coordinator (Kafka's join → sync → heartbeat protocol)
 * and committed offsets. It runs on the acceptor thread: groups are few and
 * their traffic is light. Offsets are stored durably through the engine
 * (offset-store.ts). Operating errors are Kafka error codes in the results.
 */
export interface GroupCoordinatorOptions {
  /** Partitions of `__consumer_offsets` when it is created (default 1). */
  offsetsPartitions?: number;
}

const SESSION_TIMEOUT_MS_MIN = 100;
const SESSION_TIMEOUT_MS_MAX = 30 * 60 * 1000;
const METADATA_BYTES_MAX = 4096;
const EMPTY = new Uint8Array(0);

function joinFailure(errorCode: KafkaErrorCode, memberId = ''): JoinGroupResult {
  return { errorCode, generationId: -1, protocolName: '', leaderId: '', memberId, members: [] };
}

export class GroupCoordinator implements GroupCoordinatorApi {
  private readonly groups = new Map<string, Group>();
  private closed = false;

  private constructor(private readonly offsets: OffsetStore) {}

  static async open(engine: Engine, options: GroupCoordinatorOptions = {}): Promise<GroupCoordinator> {
    return new GroupCoordinator(await OffsetStore.open(engine, options.offsetsPartitions ?? 1));
  }

  joinGroup(request: JoinGroupRequest): Promise<JoinGroupResult> {
    if (this.closed) return Promise.resolve(joinFailure(KafkaErrorCode.COORDINATOR_NOT_AVAILABLE));
    if (request.groupId.length === 0) return Promise.resolve(joinFailure(KafkaErrorCode.INVALID_GROUP_ID));
    if (
      request.sessionTimeoutMs < SESSION_TIMEOUT_MS_MIN ||
      request.sessionTimeoutMs > SESSION_TIMEOUT_MS_MAX
    ) {
      return Promise.resolve(joinFailure(KafkaErrorCode.INVALID_SESSION_TIMEOUT));
    }
    let group = this.groups.get(request.groupId);
    if (group === undefined) {
      group = new Group(request.groupId);
      this.groups.set(request.groupId, group);
    }
    let member = request.memberId === '' ? undefined : group.members.get(request.memberId);
    if (request.memberId !== '' && member === undefined) {
      return Promise.resolve(joinFailure(KafkaErrorCode.UNKNOWN_MEMBER_ID, request.memberId));
    }
    const others = [...group.members.values()].filter((m) => m !== member);
    if (others.length > 0) {
      const common = request.protocols.filter((p) =>
        others.every((o) => o.protocols.some((q) => q.name === p.name)),
      );
      if (request.protocolType !== group.protocolType || common.length === 0) {
        return Promise.resolve(joinFailure(KafkaErrorCode.INCONSISTENT_GROUP_PROTOCOL, request.memberId));
      }
    } else if (request.protocols.length === 0) {
      return Promise.resolve(joinFailure(KafkaErrorCode.INCONSISTENT_GROUP_PROTOCOL, request.memberId));
    }
    if (member === undefined) {
      member = new Member(`${request.clientId || 'member'}-${randomUUID()}`);
      group.members.set(member.memberId, member);
    }
    group.protocolType = request.protocolType;
    member.clientId = request.clientId;
    member.clientHost = request.clientHost;
    member.sessionTimeoutMs = request.sessionTimeoutMs;
    member.rebalanceTimeoutMs = request.rebalanceTimeoutMs;
    member.protocols = request.protocols;
    this.clearSessionTimer(member);
    // A join that replaces one still held (a client retry) answers the old one first.
    member.pendingJoin?.(joinFailure(KafkaErrorCode.REBALANCE_IN_PROGRESS, member.memberId));
    const joined = new Promise<JoinGroupResult>((resolve) => {
      member.pendingJoin = resolve;
    });
    if (group.state !== 'PreparingRebalance') this.prepareRebalance(group);
    if (group.allJoined()) this.completeJoin(group);
    return joined;
  }

  syncGroup(request: SyncGroupRequest): Promise<SyncGroupResult> {
    const failure = (errorCode: KafkaErrorCode): Promise<SyncGroupResult> =>
      Promise.resolve({ errorCode, assignment: EMPTY });
    if (this.closed) return failure(KafkaErrorCode.COORDINATOR_NOT_AVAILABLE);
    const group = this.groups.get(request.groupId);
    const member = group?.members.get(request.memberId);
    if (group === undefined || member === undefined) return failure(KafkaErrorCode.UNKNOWN_MEMBER_ID);
    if (request.generationId !== group.generationId) return failure(KafkaErrorCode.ILLEGAL_GENERATION);
    if (group.state === 'PreparingRebalance') return failure(KafkaErrorCode.REBALANCE_IN_PROGRESS);
    this.touchSession(group, member);
    if (group.state === 'Stable')
      return Promise.resolve({ errorCode: KafkaErrorCode.NONE, assignment: member.assignment });
    const synced = new Promise<SyncGroupResult>((resolve) => {
      member.pendingSync = resolve;
    });
    if (request.memberId === group.leaderId) {
      const assignments = new Map(request.assignments.map((entry) => [entry.memberId, entry.assignment]));
      for (const each of group.members.values()) each.assignment = assignments.get(each.memberId) ?? EMPTY;
      group.state = 'Stable';
      for (const each of group.members.values()) {
        const resolve = each.pendingSync;
        each.pendingSync = null;
        resolve?.({ errorCode: KafkaErrorCode.NONE, assignment: each.assignment });
      }
    }
    return synced;
  }

  async heartbeat(request: MemberRef): Promise<KafkaErrorCode> {
    if (this.closed) return KafkaErrorCode.COORDINATOR_NOT_AVAILABLE;
    const group = this.groups.get(request.groupId);
    const member = group?.members.get(request.memberId);
    if (group === undefined || member === undefined) return KafkaErrorCode.UNKNOWN_MEMBER_ID;
    if (request.generationId !== group.generationId) return KafkaErrorCode.ILLEGAL_GENERATION;
    this.touchSession(group, member);
    return group.state === 'PreparingRebalance' ? KafkaErrorCode.REBALANCE_IN_PROGRESS : KafkaErrorCode.NONE;
  }

  async leaveGroup(groupId: string, memberId: string): Promise<KafkaErrorCode> {
    const group = this.groups.get(groupId);
    const member = group?.members.get(memberId);
    if (group === undefined || member === undefined) return KafkaErrorCode.UNKNOWN_MEMBER_ID;
    this.removeMember(group, member);
    return KafkaErrorCode.NONE;
  }

  async commitOffsets(request: OffsetCommitRequest): Promise<OffsetCommitResult> {
    const everyPartition = (errorCode: KafkaErrorCode): OffsetCommitResult => ({
      topics: request.topics.map((topic) => ({
        topic: topic.topic,
        partitions: topic.partitions.map((p) => ({ partition: p.partition, errorCode })),
      })),
    });
    if (this.closed) return everyPartition(KafkaErrorCode.COORDINATOR_NOT_AVAILABLE);
    if (request.groupId.length === 0) return everyPartition(KafkaErrorCode.INVALID_GROUP_ID);
    const group = this.groups.get(request.groupId);
    const simple = request.generationId < 0 && request.memberId === '';
    if (simple) {
      // A consumer outside any generation may commit only while nobody is in the group.
      if (group !== undefined && group.members.size > 0)
        return everyPartition(KafkaErrorCode.UNKNOWN_MEMBER_ID);
    } else {
      const member = group?.members.get(request.memberId);
      if (group === undefined || member === undefined)
        return everyPartition(KafkaErrorCode.UNKNOWN_MEMBER_ID);
      if (request.generationId !== group.generationId)
        return everyPartition(KafkaErrorCode.ILLEGAL_GENERATION);
      // As in Kafka, members may still commit while a rebalance is being prepared (that is when they
      // commit what they processed before giving partitions up), but not while it completes.
      if (group.state === 'CompletingRebalance') return everyPartition(KafkaErrorCode.REBALANCE_IN_PROGRESS);
      this.touchSession(group, member);
    }
    const nowMs = Date.now();
    const entries = [];
    const tooLarge = new Set<string>();
    for (const topic of request.topics) {
      for (const p of topic.partitions) {
        if (p.metadata !== null && p.metadata.length > METADATA_BYTES_MAX) {
          tooLarge.add(`${topic.topic}:${p.partition}`);
          continue;
        }
        entries.push({
          key: { groupId: request.groupId, topic: topic.topic, partition: p.partition },
          value: { offset: p.offset, commitTimeMs: nowMs, metadata: p.metadata },
        });
      }
    }
    const code = await this.offsets.commit(request.groupId, entries);
    return {
      topics: request.topics.map((topic) => ({
        topic: topic.topic,
        partitions: topic.partitions.map((p) => ({
          partition: p.partition,
          errorCode: tooLarge.has(`${topic.topic}:${p.partition}`)
            ? KafkaErrorCode.OFFSET_METADATA_TOO_LARGE
            : code,
        })),
      })),
    };
  }

  async fetchOffsets(request: OffsetFetchRequest): Promise<OffsetFetchResult> {
    if (this.closed) return { errorCode: KafkaErrorCode.COORDINATOR_NOT_AVAILABLE, topics: [] };
    if (request.topics === null) {
      return {
        errorCode: KafkaErrorCode.NONE,
        topics: [...this.offsets.all(request.groupId)].map(([topic, partitions]) => ({
          topic,
          partitions: partitions.map(({ partition, value }) => ({
            partition,
            offset: value.offset,
            metadata: value.metadata,
            errorCode: KafkaErrorCode.NONE,
          })),
        })),
      };
    }
    return {
      errorCode: KafkaErrorCode.NONE,
      topics: request.topics.map((topic) => ({
        topic: topic.topic,
        partitions: topic.partitions.map((partition) => {
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
    const group = this.groups.get(groupId);
    if (group === undefined) {
      return {
        errorCode: KafkaErrorCode.NONE,
        groupId,
        state: 'Dead',
        protocolType: '',
        protocolName: '',
        members: [],
      };
    }
    return {
      errorCode: KafkaErrorCode.NONE,
      groupId,
      state: group.state,
      protocolType: group.protocolType,
      protocolName: group.state === 'Stable' ? group.protocolName : '',
      members: [...group.members.values()].map((member) => ({
        memberId: member.memberId,
        clientId: member.clientId,
        clientHost: member.clientHost,
        metadata: member.metadataFor(group.protocolName),
        assignment: member.assignment,
      })),
    };
  }

  listGroups(): { groupId: string; protocolType: string }[] {
    const listed = new Map<string, string>();
    for (const groupId of this.offsets.groups()) listed.set(groupId, 'consumer');
    for (const group of this.groups.values()) listed.set(group.groupId, group.protocolType);
    return [...listed].map(([groupId, protocolType]) => ({ groupId, protocolType }));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const group of this.groups.values()) {
      if (group.rebalanceTimer !== null) clearTimeout(group.rebalanceTimer);
      for (const member of group.members.values()) {
        this.clearSessionTimer(member);
        member.pendingJoin?.(joinFailure(KafkaErrorCode.COORDINATOR_NOT_AVAILABLE, member.memberId));
        member.pendingSync?.({ errorCode: KafkaErrorCode.COORDINATOR_NOT_AVAILABLE, assignment: EMPTY });
        member.pendingJoin = null;
        member.pendingSync = null;
      }
    }
  }

  // ---- transitions -----------------------------------------------------------

  /** Starts a rebalance: members have until the longest rebalance timeout to (re)join. */
  private prepareRebalance(group: Group): void {
    if (group.state === 'CompletingRebalance') {
      // Followers waiting for an assignment of the old generation must rejoin.
      for (const member of group.members.values()) {
        member.pendingSync?.({ errorCode: KafkaErrorCode.REBALANCE_IN_PROGRESS, assignment: EMPTY });
        member.pendingSync = null;
      }
    }
    group.state = 'PreparingRebalance';
    let timeoutMs = 0;
    for (const member of group.members.values()) timeoutMs = Math.max(timeoutMs, member.rebalanceTimeoutMs);
    if (group.rebalanceTimer !== null) clearTimeout(group.rebalanceTimer);
    group.rebalanceTimer = setTimeout(() => this.onRebalanceTimeout(group), timeoutMs);
    group.rebalanceTimer.unref();
  }

  private onRebalanceTimeout(group: Group): void {
    group.rebalanceTimer = null;
    if (group.state !== 'PreparingRebalance') return;
    // Members that did not rejoin in time are out.
    for (const member of [...group.members.values()]) {
      if (member.pendingJoin === null) {
        this.clearSessionTimer(member);
        group.members.delete(member.memberId);
      }
    }
    this.completeJoin(group);
  }

  private completeJoin(group: Group): void {
    if (group.rebalanceTimer !== null) clearTimeout(group.rebalanceTimer);
    group.rebalanceTimer = null;
    group.generationId++;
    if (group.members.size === 0) {
      group.state = 'Empty';
      group.leaderId = '';
      group.protocolName = '';
      return;
    }
    group.protocolName = group.selectProtocol();
    if (!group.members.has(group.leaderId)) group.leaderId = group.members.keys().next().value!;
    group.state = 'CompletingRebalance';
    const everyone = [...group.members.values()].map((member) => ({
      memberId: member.memberId,
      metadata: member.metadataFor(group.protocolName),
    }));
    for (const member of group.members.values()) {
      const resolve = member.pendingJoin;
      member.pendingJoin = null;
      member.assignment = EMPTY;
      resolve?.({
        errorCode: KafkaErrorCode.NONE,
        generationId: group.generationId,
        protocolName: group.protocolName,
        leaderId: group.leaderId,
        memberId: member.memberId,
        members: member.memberId === group.leaderId ? everyone : [],
      });
      this.touchSession(group, member);
    }
  }

  private removeMember(group: Group, member: Member): void {
    this.clearSessionTimer(member);
    member.pendingJoin?.(joinFailure(KafkaErrorCode.UNKNOWN_MEMBER_ID, member.memberId));
    member.pendingSync?.({ errorCode: KafkaErrorCode.UNKNOWN_MEMBER_ID, assignment: EMPTY });
    group.members.delete(member.memberId);
    if (group.members.size === 0) {
      if (group.rebalanceTimer !== null) clearTimeout(group.rebalanceTimer);
      group.rebalanceTimer = null;
      group.generationId++;
      group.state = 'Empty';
      group.leaderId = '';
      return;
    }
    if (group.state === 'PreparingRebalance') {
      if (group.allJoined()) this.completeJoin(group);
    } else {
      this.prepareRebalance(group);
    }
  }

  /** (Re)arms a member's session timer: no heartbeat, sync or commit within it, and the member is out. */
  private touchSession(group: Group, member: Member): void {
    this.clearSessionTimer(member);
    member.sessionTimer = setTimeout(() => {
      member.sessionTimer = null;
      if (group.members.get(member.memberId) === member && member.pendingJoin === null)
        this.removeMember(group, member);
    }, member.sessionTimeoutMs);
    member.sessionTimer.unref();
  }

  private clearSessionTimer(member: Member): void {
    if (member.sessionTimer !== null) clearTimeout(member.sessionTimer);
    member.sessionTimer = null;
  }
}
