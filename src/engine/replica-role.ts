import { KafkaErrorCode } from '../common/kafka-error-code.js';

/**
 * A partition's part in replication, as its shard holds it (set by
 * ROLE_CHANGE, shard-message.ts). Owned by the shard thread. A partition on a
 * single node has none (null): it leads at epoch 0 with an ISR of itself, and
 * produce and fetch pay one null check for the possibility.
 */
export interface ReplicaRole {
  role: 'leader' | 'follower';
  leaderEpoch: number;
  /** Replicas in the ISR as etcd committed it, the leader included. */
  isrCount: number;
  /** The topic's min.insync.replicas: acks=all is refused below it. */
  minInsyncReplicas: number;
}

/**
 * KIP-320's fencing of a request that names the leader epoch it believes
 * current: -1 is not checked; an older epoch is FENCED_LEADER_EPOCH, a newer
 * one (this broker has not heard of it yet) UNKNOWN_LEADER_EPOCH. A partition
 * without replication is at epoch 0.
 */
export function leaderEpochError(replica: ReplicaRole | null, currentLeaderEpoch: number): KafkaErrorCode {
  if (currentLeaderEpoch < 0) return KafkaErrorCode.NONE;
  const epoch = replica === null ? 0 : replica.leaderEpoch;
  if (currentLeaderEpoch < epoch) return KafkaErrorCode.FENCED_LEADER_EPOCH;
  if (currentLeaderEpoch > epoch) return KafkaErrorCode.UNKNOWN_LEADER_EPOCH;
  return KafkaErrorCode.NONE;
}
