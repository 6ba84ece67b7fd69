/**
 * How a returning follower finds where its log stops agreeing with its
 * leader's (KIP-101, with KIP-279's fix for a leader that never had the
 * follower's epoch): it asks the leader where its own latest epoch ends
 * (OffsetForLeaderEpoch) and cuts there, repeating with the epoch it is left
 * with until the answer names an epoch it has. Pure: the caller does the
 * asking and the cutting. A follower never cuts below its high watermark
 * when the leader cannot answer (an old-style fallback, as Kafka's).
 */
import { UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET } from '../storage/leader-epoch-cache.js';

export interface EpochAnswer {
  /** The largest epoch at or below the one asked for that the answering log knows; -1 when none. */
  leaderEpoch: number;
  /** Where that epoch ends there; -1 when unknown. */
  endOffset: number;
}

/** What the follower knows of its own log. */
export interface FollowerLog {
  readonly logEndOffset: number;
  readonly highWatermark: number;
  endOffsetForEpoch(epoch: number): EpochAnswer;
}

export interface TruncationStep {
  /** Cut the follower's log to end at or below this offset. */
  truncateTo: number;
  /** False: after the cut, ask the leader again with the follower's (new) latest epoch. */
  done: boolean;
}

/** One round: the leader answered `leader` for the follower's latest epoch. */
export function truncationStep(leader: EpochAnswer, follower: FollowerLog): TruncationStep {
  const end = follower.logEndOffset;
  if (leader.endOffset === UNDEFINED_EPOCH_OFFSET) {
    // The leader knows no epoch at or below ours: keep only what was committed.
    return { truncateTo: Math.min(follower.highWatermark, end), done: true };
  }
  const local = follower.endOffsetForEpoch(leader.leaderEpoch);
  if (local.leaderEpoch === UNDEFINED_EPOCH || local.endOffset === UNDEFINED_EPOCH_OFFSET) {
    // Every epoch here is later than the leader's answer: nothing past its end can agree.
    return { truncateTo: Math.min(leader.endOffset, end), done: true };
  }
  if (local.leaderEpoch !== leader.leaderEpoch) {
    // We never had the leader's epoch (KIP-279): cut to where our largest epoch below it ends, and ask
    // again with the epoch we are left with.
    return { truncateTo: Math.min(local.endOffset, end), done: false };
  }
  return { truncateTo: Math.min(leader.endOffset, local.endOffset, end), done: true };
}
