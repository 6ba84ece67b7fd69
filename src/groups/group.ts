import type { GroupProtocol, JoinGroupResult, SyncGroupResult } from './group-coordinator-api.js';

/**
 * The state of one consumer group, as Kafka's group coordinator keeps it.
 * Owned by the acceptor thread; the coordinator drives the transitions.
 *
 *   Empty ──join──▶ PreparingRebalance ──all joined / timeout──▶ CompletingRebalance
 *     ▲                    ▲                                              │ leader's SyncGroup
 *     └──last member gone──┴──join, leave, expiry─────────────── Stable ◀─┘
 */
export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

export class Member {
  clientId = '';
  clientHost = '';
  sessionTimeoutMs = 0;
  rebalanceTimeoutMs = 0;
  protocols: readonly GroupProtocol[] = [];
  assignment: Uint8Array = new Uint8Array(0);
  /** Set while the member's JoinGroup is held for the rebalance. */
  pendingJoin: ((result: JoinGroupResult) => void) | null = null;
  /** Set while a follower's SyncGroup waits for the leader's assignment. */
  pendingSync: ((result: SyncGroupResult) => void) | null = null;
  sessionTimer: NodeJS.Timeout | null = null;

  constructor(readonly memberId: string) {}

  metadataFor(protocolName: string): Uint8Array {
    return this.protocols.find((protocol) => protocol.name === protocolName)?.metadata ?? new Uint8Array(0);
  }
}

export class Group {
  state: GroupState = 'Empty';
  generationId = 0;
  protocolType = '';
  protocolName = '';
  leaderId = '';
  readonly members = new Map<string, Member>();
  rebalanceTimer: NodeJS.Timeout | null = null;

  constructor(readonly groupId: string) {}

  /** Protocol names every member supports, in the order of the first member's preference. */
  commonProtocols(extra?: readonly GroupProtocol[]): string[] {
    const lists = [...this.members.values()].map((member) =>
      member.protocols.map((protocol) => protocol.name),
    );
    if (extra !== undefined) lists.push(extra.map((protocol) => protocol.name));
    if (lists.length === 0) return [];
    return lists[0]!.filter((name) => lists.every((list) => list.includes(name)));
  }

  /**
   * Picks the protocol for a new generation as Kafka does: among the ones all
   * members support, each member votes for its most preferred; most votes wins.
   */
  selectProtocol(): string {
    const candidates = this.commonProtocols();
    const votes = new Map<string, number>(candidates.map((name) => [name, 0]));
    for (const member of this.members.values()) {
      const choice = member.protocols.find((protocol) => votes.has(protocol.name));
      if (choice !== undefined) votes.set(choice.name, votes.get(choice.name)! + 1);
    }
    let best = candidates[0] ?? '';
    for (const name of candidates) if (votes.get(name)! > votes.get(best)!) best = name;
    return best;
  }

  allJoined(): boolean {
    for (const member of this.members.values()) if (member.pendingJoin === null) return false;
    return this.members.size > 0;
  }
}
