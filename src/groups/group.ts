import { KafkaErrorCode } from '../common/kafka-error-code.js';
import { subscribedTopics } from './consumer-subscription.js';
import type {
  GroupDescription,
  JoinGroupRequest,
  JoinGroupResult,
  MemberRef,
  SyncGroupRequest,
  SyncGroupResult,
} from './group-coordinator-api.js';
import { GROUP_MEMBERS_MAX } from './group-limits.js';
import { canJoin, selectProtocol } from './group-protocol.js';
import { Member } from './member.js';

/**
 * The state machine of one consumer group, as Kafka's classic group coordinator
 * runs it. Owned by the acceptor thread; every method runs to completion
 * without awaiting, so no two transitions interleave.
 *
 *   Empty ──join──▶ PreparingRebalance ──all rejoined / rebalance timeout──▶ CompletingRebalance
 *     ▲                  ▲      │ last member gone                                │ leader's SyncGroup
 *     └──────────────────┼──────┘                                                 ▼
 *                        └──────── join, leave, session expiry, sync timeout ── Stable
 *
 * Dead is the state after `close()` (and what DescribeGroups reports for a group that does not exist).
 */
export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

export interface GroupHooks {
  /** A fresh, never repeated member id for a first join. */
  newMemberId(clientId: string): string;
  /** Called when the last member is gone: the coordinator forgets groups without members. */
  onEmpty(group: Group): void;
}

const EMPTY = new Uint8Array(0);

export function joinFailure(errorCode: KafkaErrorCode, memberId = ''): JoinGroupResult {
  return { errorCode, generationId: -1, protocolName: '', leaderId: '', memberId, members: [] };
}

function syncFailure(errorCode: KafkaErrorCode): SyncGroupResult {
  return { errorCode, assignment: EMPTY };
}

export class Group {
  private currentState: GroupState = 'Empty';
  private generation = 0;
  private protocolType = '';
  private protocolName = '';
  private leaderId = '';
  private readonly members = new Map<string, Member>();
  /** Static members (KIP-345): group instance id → the member id it holds now. */
  private readonly staticMembers = new Map<string, string>();
  /** The rebalance timeout while PreparingRebalance; the wait for the leader's SyncGroup while CompletingRebalance. */
  private phaseTimer: NodeJS.Timeout | null = null;
  private readonly expire = (member: Member): void => this.onSessionExpired(member);

  constructor(
    readonly groupId: string,
    private readonly hooks: GroupHooks,
  ) {}

  get state(): GroupState {
    return this.currentState;
  }

  get generationId(): number {
    return this.generation;
  }

  get type(): string {
    return this.protocolType;
  }

  get memberCount(): number {
    return this.members.size;
  }

  /**
   * The topics the members' consumer-protocol subscriptions name (under the
   * chosen protocol, or every protocol they offered while none is chosen);
   * null when the group is not a consumer group or a subscription cannot be read.
   */
  subscribedTopics(): Set<string> | null {
    if (this.protocolType !== 'consumer') return null;
    const topics = new Set<string>();
    for (const member of this.members.values()) {
      for (const protocol of member.protocols) {
        if (this.protocolName !== '' && protocol.name !== this.protocolName) continue;
        const named = subscribedTopics(protocol.metadata);
        if (named === null) return null;
        for (const topic of named) topics.add(topic);
      }
    }
    return topics;
  }

  join(request: JoinGroupRequest): Promise<JoinGroupResult> {
    if (this.currentState === 'Dead')
      return Promise.resolve(joinFailure(KafkaErrorCode.COORDINATOR_NOT_AVAILABLE, request.memberId));
    const instanceId = request.groupInstanceId ?? null;
    if (instanceId !== null) {
      const heldBy = this.staticMembers.get(instanceId);
      if (heldBy !== undefined && request.memberId === '')
        return this.rejoinStatic(this.members.get(heldBy)!, request);
      if (heldBy !== undefined && heldBy !== request.memberId)
        return Promise.resolve(joinFailure(KafkaErrorCode.FENCED_INSTANCE_ID, request.memberId));
    }
    const known = request.memberId === '' ? undefined : this.members.get(request.memberId);
    if (request.memberId !== '' && known === undefined)
      return Promise.resolve(joinFailure(KafkaErrorCode.UNKNOWN_MEMBER_ID, request.memberId));
    const others: Member[] = [];
    for (const member of this.members.values()) if (member !== known) others.push(member);
    if (!canJoin(this.protocolType, others, request.protocolType, request.protocols))
      return Promise.resolve(joinFailure(KafkaErrorCode.INCONSISTENT_GROUP_PROTOCOL, request.memberId));
    if (known === undefined) {
      if (this.members.size >= GROUP_MEMBERS_MAX)
        return Promise.resolve(joinFailure(KafkaErrorCode.GROUP_MAX_SIZE_REACHED));
      const member = new Member(this.hooks.newMemberId(request.clientId));
      this.members.set(member.memberId, member);
      if (instanceId !== null) {
        member.groupInstanceId = instanceId;
        this.staticMembers.set(instanceId, member.memberId);
      }
      return this.holdJoinAndRebalance(member, request);
    }
    // A member that rejoins with exactly the protocols it has (a client retrying after a lost response)
    // gets the current generation back without a rebalance, as in Kafka. The leader rejoining a stable
    // group, or any change of protocols (a new subscription), starts a new generation.
    const unchanged = known.matches(request.protocols);
    if (
      unchanged &&
      (this.currentState === 'CompletingRebalance' ||
        (this.currentState === 'Stable' && known.memberId !== this.leaderId))
    ) {
      known.armSession(this.expire);
      return Promise.resolve(this.joinResult(known));
    }
    return this.holdJoinAndRebalance(known, request);
  }

  sync(request: SyncGroupRequest): Promise<SyncGroupResult> {
    if (this.currentState === 'Dead')
      return Promise.resolve(syncFailure(KafkaErrorCode.COORDINATOR_NOT_AVAILABLE));
    if (this.fenced(request.memberId, request.groupInstanceId))
      return Promise.resolve(syncFailure(KafkaErrorCode.FENCED_INSTANCE_ID));
    const member = this.members.get(request.memberId);
    if (member === undefined) return Promise.resolve(syncFailure(KafkaErrorCode.UNKNOWN_MEMBER_ID));
    if (request.generationId !== this.generation)
      return Promise.resolve(syncFailure(KafkaErrorCode.ILLEGAL_GENERATION));
    if (this.currentState === 'PreparingRebalance')
      return Promise.resolve(syncFailure(KafkaErrorCode.REBALANCE_IN_PROGRESS));
    member.armSession(this.expire);
    if (this.currentState === 'Stable')
      return Promise.resolve({ errorCode: KafkaErrorCode.NONE, assignment: member.assignment });
    const synced = member.holdSync(syncFailure(KafkaErrorCode.REBALANCE_IN_PROGRESS));
    if (member.memberId === this.leaderId) this.completeSync(request.assignments);
    return synced;
  }

  heartbeat(request: MemberRef): KafkaErrorCode {
    if (this.currentState === 'Dead') return KafkaErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (this.fenced(request.memberId, request.groupInstanceId)) return KafkaErrorCode.FENCED_INSTANCE_ID;
    const member = this.members.get(request.memberId);
    if (member === undefined) return KafkaErrorCode.UNKNOWN_MEMBER_ID;
    if (request.generationId !== this.generation) return KafkaErrorCode.ILLEGAL_GENERATION;
    member.armSession(this.expire);
    // Members learn of a rebalance from their heartbeats; they then rejoin.
    return this.currentState === 'PreparingRebalance'
      ? KafkaErrorCode.REBALANCE_IN_PROGRESS
      : KafkaErrorCode.NONE;
  }

  leave(memberId: string, groupInstanceId: string | null = null): KafkaErrorCode {
    if (this.currentState === 'Dead') return KafkaErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (groupInstanceId !== null) {
      // A static member leaves by its instance id; a member id given with it must be the instance's.
      const heldBy = this.staticMembers.get(groupInstanceId);
      if (heldBy === undefined) return KafkaErrorCode.UNKNOWN_MEMBER_ID;
      if (memberId !== '' && memberId !== heldBy) return KafkaErrorCode.FENCED_INSTANCE_ID;
      memberId = heldBy;
    }
    const member = this.members.get(memberId);
    if (member === undefined) return KafkaErrorCode.UNKNOWN_MEMBER_ID;
    this.remove(member);
    return KafkaErrorCode.NONE;
  }

  /**
   * Whether an OffsetCommit from (generationId, memberId) may be stored now, with Kafka's rules: a
   * consumer outside any generation (generation -1) only while the group is empty; a member only in
   * its current generation, and not while the rebalance completes (it must sync first). Members may
   * commit while a rebalance is prepared: that is when they commit what they processed before giving
   * their partitions up.
   */
  checkCommit(generationId: number, memberId: string, groupInstanceId: string | null = null): KafkaErrorCode {
    if (this.currentState === 'Dead') return KafkaErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (this.fenced(memberId, groupInstanceId)) return KafkaErrorCode.FENCED_INSTANCE_ID;
    if (generationId < 0 && this.currentState === 'Empty') return KafkaErrorCode.NONE;
    if (generationId < 0 && memberId === '') return KafkaErrorCode.UNKNOWN_MEMBER_ID;
    const member = this.members.get(memberId);
    if (member === undefined) return KafkaErrorCode.UNKNOWN_MEMBER_ID;
    if (generationId !== this.generation) return KafkaErrorCode.ILLEGAL_GENERATION;
    if (this.currentState === 'CompletingRebalance') return KafkaErrorCode.REBALANCE_IN_PROGRESS;
    member.armSession(this.expire);
    return KafkaErrorCode.NONE;
  }

  /** As Kafka's DescribeGroups: metadata, assignments and the protocol only once the group is stable. */
  describe(): GroupDescription {
    const stable = this.currentState === 'Stable';
    const members: GroupDescription['members'] = [];
    for (const member of this.members.values()) {
      members.push({
        memberId: member.memberId,
        groupInstanceId: member.groupInstanceId,
        clientId: member.clientId,
        clientHost: member.clientHost,
        metadata: stable ? member.metadataFor(this.protocolName) : EMPTY,
        assignment: stable ? member.assignment : EMPTY,
      });
    }
    return {
      errorCode: KafkaErrorCode.NONE,
      groupId: this.groupId,
      state: this.currentState,
      protocolType: this.protocolType,
      protocolName: stable ? this.protocolName : '',
      members,
    };
  }

  /**
   * Stops every timer and answers held requests with `errorCode`, which clients retry:
   * COORDINATOR_NOT_AVAILABLE when the broker stops, NOT_COORDINATOR when the group moves to
   * another broker (its offsets partition is led elsewhere now).
   */
  close(errorCode: KafkaErrorCode = KafkaErrorCode.COORDINATOR_NOT_AVAILABLE): void {
    this.clearPhaseTimer();
    for (const member of this.members.values()) {
      member.clearSession();
      member.answerJoin(joinFailure(errorCode, member.memberId));
      member.answerSync(syncFailure(errorCode));
    }
    this.currentState = 'Dead';
  }

  // ---- transitions -----------------------------------------------------------

  /** A request naming a static member's instance id with another member id comes from a fenced-off instance. */
  private fenced(memberId: string, groupInstanceId: string | null | undefined): boolean {
    if (groupInstanceId === null || groupInstanceId === undefined) return false;
    const heldBy = this.staticMembers.get(groupInstanceId);
    return heldBy !== undefined && heldBy !== memberId;
  }

  /**
   * A static member joins again without its member id (it restarted): it takes its old place under a
   * new member id, and whatever the old id still had held is answered FENCED_INSTANCE_ID. In a stable
   * group, with the same protocols, a follower gets the current generation and its assignment back
   * with no rebalance (KIP-345), and so does the leader when its client takes skip_assignment
   * (JoinGroup v9+, KIP-814: it gets the members and does not assign again); an older leader, or
   * changed protocols, start a rebalance, as Kafka does.
   */
  private rejoinStatic(old: Member, request: JoinGroupRequest): Promise<JoinGroupResult> {
    const member = old.replacedBy(this.hooks.newMemberId(request.clientId));
    old.clearSession();
    old.answerJoin(joinFailure(KafkaErrorCode.FENCED_INSTANCE_ID, old.memberId));
    old.answerSync(syncFailure(KafkaErrorCode.FENCED_INSTANCE_ID));
    this.members.delete(old.memberId);
    this.members.set(member.memberId, member);
    this.staticMembers.set(member.groupInstanceId!, member.memberId);
    const wasLeader = this.leaderId === old.memberId;
    if (wasLeader) this.leaderId = member.memberId;
    const keepsPlace = !wasLeader || request.canSkipAssignment === true;
    if (this.currentState === 'Stable' && keepsPlace && member.matches(request.protocols)) {
      member.update(request);
      member.armSession(this.expire);
      const result = this.joinResult(member);
      return Promise.resolve(wasLeader ? { ...result, skipAssignment: true } : result);
    }
    return this.holdJoinAndRebalance(member, request);
  }

  /** Drops a member from the group's maps (its static instance id too). */
  private forget(member: Member): void {
    this.members.delete(member.memberId);
    const instanceId = member.groupInstanceId;
    if (instanceId !== null && this.staticMembers.get(instanceId) === member.memberId) {
      this.staticMembers.delete(instanceId);
    }
  }

  private holdJoinAndRebalance(member: Member, request: JoinGroupRequest): Promise<JoinGroupResult> {
    member.update(request);
    this.protocolType = request.protocolType;
    // A member whose join is held cannot heartbeat; the rebalance timeout bounds the wait instead.
    member.clearSession();
    const joined = member.holdJoin(joinFailure(KafkaErrorCode.REBALANCE_IN_PROGRESS, member.memberId));
    if (this.currentState !== 'PreparingRebalance') this.prepareRebalance();
    this.maybeCompleteJoin();
    return joined;
  }

  /** Starts a rebalance: members have until the longest rebalance timeout among them to rejoin. */
  private prepareRebalance(): void {
    if (this.currentState === 'CompletingRebalance') {
      // Followers waiting for an assignment of the old generation must rejoin instead.
      for (const member of this.members.values())
        member.answerSync(syncFailure(KafkaErrorCode.REBALANCE_IN_PROGRESS));
    }
    this.currentState = 'PreparingRebalance';
    this.armPhaseTimer(() => this.onRebalanceTimeout());
  }

  private maybeCompleteJoin(): void {
    if (this.currentState !== 'PreparingRebalance') return;
    for (const member of this.members.values()) if (!member.awaitingJoin) return;
    this.completeJoin();
  }

  private onRebalanceTimeout(): void {
    if (this.currentState !== 'PreparingRebalance') return;
    // Members that did not rejoin in time are out of the new generation.
    for (const member of [...this.members.values()]) {
      if (!member.awaitingJoin) {
        member.clearSession();
        this.forget(member);
      }
    }
    this.completeJoin();
  }

  /** Every member has rejoined (or the rest timed out): one new generation for all. */
  private completeJoin(): void {
    this.clearPhaseTimer();
    this.generation++;
    if (this.members.size === 0) {
      this.becomeEmpty();
      return;
    }
    this.protocolName = selectProtocol([...this.members.values()]);
    if (!this.members.has(this.leaderId)) this.leaderId = this.members.keys().next().value ?? '';
    this.currentState = 'CompletingRebalance';
    for (const member of this.members.values()) {
      member.assignment = EMPTY;
      member.answerJoin(this.joinResult(member));
      member.armSession(this.expire);
    }
    this.armPhaseTimer(() => this.onSyncTimeout());
  }

  private joinResult(member: Member): JoinGroupResult {
    const isLeader = member.memberId === this.leaderId;
    const members: JoinGroupResult['members'] = [];
    if (isLeader) {
      for (const each of this.members.values())
        members.push({ memberId: each.memberId, metadata: each.metadataFor(this.protocolName) });
    }
    return {
      errorCode: KafkaErrorCode.NONE,
      generationId: this.generation,
      protocolName: this.protocolName,
      leaderId: this.leaderId,
      memberId: member.memberId,
      members,
    };
  }

  /** The leader's SyncGroup carries every assignment: hand each member its own. */
  private completeSync(assignments: SyncGroupRequest['assignments']): void {
    const byMember = new Map<string, Uint8Array>();
    for (const entry of assignments) byMember.set(entry.memberId, entry.assignment);
    this.clearPhaseTimer();
    this.currentState = 'Stable';
    for (const member of this.members.values()) {
      member.assignment = byMember.get(member.memberId) ?? EMPTY;
      // The session restarts when the member gets its assignment: it could not heartbeat while it waited.
      if (member.answerSync({ errorCode: KafkaErrorCode.NONE, assignment: member.assignment }))
        member.armSession(this.expire);
    }
  }

  /** The leader never sent its assignment: members that did not sync are out, the rest rebalance. */
  private onSyncTimeout(): void {
    if (this.currentState !== 'CompletingRebalance') return;
    for (const member of [...this.members.values()]) {
      if (!member.awaitingSync) {
        member.clearSession();
        this.forget(member);
      }
    }
    this.prepareRebalance();
    this.maybeCompleteJoin();
  }

  private onSessionExpired(member: Member): void {
    if (this.members.get(member.memberId) !== member || this.currentState === 'Dead') return;
    // A member waiting on us cannot heartbeat; the rebalance and sync timeouts bound those waits.
    if (member.awaitingJoin || member.awaitingSync) {
      member.armSession(this.expire);
      return;
    }
    this.remove(member);
  }

  /** A member leaves (LeaveGroup or session expiry); the others rebalance without it. */
  private remove(member: Member): void {
    member.clearSession();
    member.answerJoin(joinFailure(KafkaErrorCode.UNKNOWN_MEMBER_ID, member.memberId));
    member.answerSync(syncFailure(KafkaErrorCode.UNKNOWN_MEMBER_ID));
    this.forget(member);
    if (this.currentState !== 'PreparingRebalance') this.prepareRebalance();
    this.maybeCompleteJoin();
  }

  private becomeEmpty(): void {
    this.clearPhaseTimer();
    this.currentState = 'Empty';
    this.leaderId = '';
    this.protocolName = '';
    this.hooks.onEmpty(this);
  }

  /** Arms the phase timer for the longest rebalance timeout among the members (unref'd). */
  private armPhaseTimer(onTimeout: () => void): void {
    this.clearPhaseTimer();
    let timeoutMs = 0;
    for (const member of this.members.values()) timeoutMs = Math.max(timeoutMs, member.rebalanceTimeoutMs);
    this.phaseTimer = setTimeout(() => {
      this.phaseTimer = null;
      onTimeout();
    }, timeoutMs);
    this.phaseTimer.unref();
  }

  private clearPhaseTimer(): void {
    if (this.phaseTimer !== null) clearTimeout(this.phaseTimer);
    this.phaseTimer = null;
  }
}
