import type { KafkaErrorCode } from '../common/kafka-error-code.js';

/**
 * What the Kafka front door asks of the consumer group coordinator. The
 * coordinator runs on the acceptor thread (groups are few and their traffic is
 * light); committed offsets are stored durably through the engine.
 * Operating errors are Kafka error codes in the results, never rejections.
 */

export interface GroupProtocol {
  name: string;
  metadata: Uint8Array;
}

export interface JoinGroupRequest {
  groupId: string;
  /** Empty on a member's first join. */
  memberId: string;
  /** Static membership (KIP-345): the member's stable identity across restarts; null or absent for dynamic members. */
  groupInstanceId?: string | null;
  /** The client can take `skipAssignment` (JoinGroup v9+, KIP-814). */
  canSkipAssignment?: boolean;
  sessionTimeoutMs: number;
  /** JoinGroup v0 has no rebalance timeout: pass sessionTimeoutMs. */
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: readonly GroupProtocol[];
  clientId: string;
  clientHost: string;
}

export interface JoinGroupMember {
  memberId: string;
  metadata: Uint8Array;
}

export interface JoinGroupResult {
  errorCode: KafkaErrorCode;
  generationId: number;
  protocolName: string;
  leaderId: string;
  memberId: string;
  /** Filled for the leader only; empty for followers. */
  members: JoinGroupMember[];
  /**
   * KIP-814: a static leader that rejoined a stable group gets the members and must not assign again
   * (the group keeps its assignment); absent or false otherwise.
   */
  skipAssignment?: boolean;
}

export interface SyncGroupRequest {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId?: string | null;
  /** Sent by the leader only; followers send none. */
  assignments: readonly { memberId: string; assignment: Uint8Array }[];
}

export interface SyncGroupResult {
  errorCode: KafkaErrorCode;
  assignment: Uint8Array;
}

export interface MemberRef {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId?: string | null;
}

export interface OffsetCommitPartition {
  partition: number;
  offset: number;
  metadata: string | null;
}

export interface OffsetCommitRequest {
  groupId: string;
  /** -1 with an empty memberId: a commit from a consumer outside any group generation (simple consumer). */
  generationId: number;
  memberId: string;
  groupInstanceId?: string | null;
  topics: readonly { topic: string; partitions: readonly OffsetCommitPartition[] }[];
}

/** TxnOffsetCommit's offsets: a commit held pending for the transaction of `producerId`. */
export interface PendingOffsetCommitRequest extends OffsetCommitRequest {
  producerId: number;
}

export interface OffsetCommitResult {
  topics: { topic: string; partitions: { partition: number; errorCode: KafkaErrorCode }[] }[];
}

export interface OffsetFetchRequest {
  groupId: string;
  /** null: every partition the group has committed. */
  topics: readonly { topic: string; partitions: readonly number[] }[] | null;
  /**
   * KIP-447 (OffsetFetch v7+): a partition whose offset an open transaction is committing is
   * answered UNSTABLE_OFFSET_COMMIT (the client retries) rather than with its last committed offset.
   */
  requireStable?: boolean;
}

export interface OffsetFetchResult {
  errorCode: KafkaErrorCode;
  topics: {
    topic: string;
    partitions: { partition: number; offset: number; metadata: string | null; errorCode: KafkaErrorCode }[];
  }[];
}

export interface OffsetDeleteRequest {
  groupId: string;
  topics: readonly { topic: string; partitions: readonly number[] }[];
}

export interface OffsetDeleteResult {
  errorCode: KafkaErrorCode;
  topics: { topic: string; partitions: { partition: number; errorCode: KafkaErrorCode }[] }[];
}

export interface GroupDescription {
  errorCode: KafkaErrorCode;
  groupId: string;
  /** Kafka's state names: Empty, PreparingRebalance, CompletingRebalance, Stable, Dead. */
  state: string;
  protocolType: string;
  protocolName: string;
  members: {
    memberId: string;
    groupInstanceId?: string | null;
    clientId: string;
    clientHost: string;
    metadata: Uint8Array;
    assignment: Uint8Array;
  }[];
}

export interface GroupCoordinatorApi {
  joinGroup(request: JoinGroupRequest): Promise<JoinGroupResult>;
  syncGroup(request: SyncGroupRequest): Promise<SyncGroupResult>;
  heartbeat(request: MemberRef): Promise<KafkaErrorCode>;
  /**
   * Removes a member, named by member id, or by group instance id for a static member (then a
   * member id given too must be the instance's: FENCED_INSTANCE_ID otherwise).
   */
  leaveGroup(groupId: string, memberId: string, groupInstanceId?: string | null): Promise<KafkaErrorCode>;
  commitOffsets(request: OffsetCommitRequest): Promise<OffsetCommitResult>;
  fetchOffsets(request: OffsetFetchRequest): Promise<OffsetFetchResult>;
  describeGroup(groupId: string): GroupDescription;
  listGroups(): { groupId: string; protocolType: string }[];
  /**
   * Deletes a group that has no members, with its committed offsets (Kafka's
   * DeleteGroups): NON_EMPTY_GROUP while members are joined, GROUP_ID_NOT_FOUND
   * for a group the coordinator does not know.
   */
  deleteGroup(groupId: string): Promise<KafkaErrorCode>;
  /**
   * Deletes committed offsets of some partitions of a group (Kafka's
   * OffsetDelete): tombstones written durably first. GROUP_ID_NOT_FOUND for
   * an unknown group; NON_EMPTY_GROUP for a live group that is not a consumer
   * group; GROUP_SUBSCRIBED_TO_TOPIC for each partition of a topic a live
   * consumer group subscribes to (those offsets stay).
   */
  deleteOffsets(request: OffsetDeleteRequest): Promise<OffsetDeleteResult>;
  /** Stops timers and fails held requests with COORDINATOR_NOT_AVAILABLE. */
  close(): Promise<void>;
}
