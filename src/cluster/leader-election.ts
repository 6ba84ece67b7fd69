import type { PartitionRecord } from './cluster-records.js';
import type { BrokerId } from './partition-state.js';

/**
 * The controller's rule for one partition (docs/cluster.md, The controller),
 * as a pure function so that it can be tested exhaustively.
 *
 * `live` maps each live broker to its broker epoch. The leader is live when it
 * is in `live` with the epoch it was elected under; a leader that restarted
 * (another epoch) counts as dead: it may have lost writes it had not synced.
 * Answers the record to write, or null when nothing should change.
 */
export function electLeader(
  record: PartitionRecord,
  live: ReadonlyMap<BrokerId, number>,
  uncleanAllowed: boolean,
): PartitionRecord | null {
  const oldLeader = record.leader;
  if (oldLeader !== -1 && live.get(oldLeader) === record.leaderBrokerEpoch) return null;

  // Other live ISR members first, in assignment order; the old leader itself only when it came back and is
  // the only one left (it still holds everything the ISR acknowledged that it had synced).
  let chosen = -1;
  for (const replica of record.replicas) {
    if (replica !== oldLeader && live.has(replica) && record.isr.includes(replica)) {
      chosen = replica;
      break;
    }
  }
  if (chosen === -1 && oldLeader !== -1 && live.has(oldLeader) && record.isr.includes(oldLeader)) {
    chosen = oldLeader;
  }
  if (chosen !== -1) {
    // The ISR keeps its live members but the old leader (unless it is the new one): dead members and a
    // restarted leader come back only through the new leader's ISR expansion, once caught up.
    const isr = record.isr.filter((id) => id === chosen || (id !== oldLeader && live.has(id)));
    return {
      ...record,
      leader: chosen,
      leaderEpoch: record.leaderEpoch + 1,
      isr,
      leaderBrokerEpoch: live.get(chosen)!,
    };
  }
  if (uncleanAllowed) {
    const anyLive = record.replicas.find((replica) => live.has(replica));
    if (anyLive !== undefined) {
      return {
        ...record,
        leader: anyLive,
        leaderEpoch: record.leaderEpoch + 1,
        isr: [anyLive],
        leaderBrokerEpoch: live.get(anyLive)!,
      };
    }
  }
  if (oldLeader === -1) return null;
  // Offline: no leader; the ISR stays as it was so that one of its members can lead when it comes back.
  return { ...record, leader: -1, leaderEpoch: record.leaderEpoch + 1, leaderBrokerEpoch: -1 };
}
