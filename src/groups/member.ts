import type {
  GroupProtocol,
  JoinGroupRequest,
  JoinGroupResult,
  SyncGroupResult,
} from './group-coordinator-api.js';
import { REBALANCE_TIMEOUT_MS_MAX } from './group-limits.js';

const EMPTY = new Uint8Array(0);

/**
 * One member of a consumer group: what it said in its last JoinGroup, the
 * assignment the leader gave it, the requests of its that are held, and its
 * session timer. Owned by the acceptor thread; `Group` drives it.
 */
export class Member {
  clientId = '';
  clientHost = '';
  sessionTimeoutMs = 0;
  rebalanceTimeoutMs = 0;
  protocols: readonly GroupProtocol[] = [];
  assignment: Uint8Array = EMPTY;
  /** A static member's instance id (KIP-345); null for a dynamic member. */
  groupInstanceId: string | null = null;
  /** Set while the member's JoinGroup is held for the rebalance. */
  private pendingJoin: ((result: JoinGroupResult) => void) | null = null;
  /** Set while the member's SyncGroup waits for the leader's assignment. */
  private pendingSync: ((result: SyncGroupResult) => void) | null = null;
  private sessionTimer: NodeJS.Timeout | null = null;

  constructor(readonly memberId: string) {}

  /**
   * A static member restarted: the same member under a new member id, with what it had (protocols,
   * assignment, timeouts). Its requests held under the old id are not carried over.
   */
  replacedBy(memberId: string): Member {
    const member = new Member(memberId);
    member.clientId = this.clientId;
    member.clientHost = this.clientHost;
    member.sessionTimeoutMs = this.sessionTimeoutMs;
    member.rebalanceTimeoutMs = this.rebalanceTimeoutMs;
    member.protocols = this.protocols;
    member.assignment = this.assignment;
    member.groupInstanceId = this.groupInstanceId;
    return member;
  }

  /** Takes what the member said in a JoinGroup. */
  update(request: JoinGroupRequest): void {
    this.clientId = request.clientId;
    this.clientHost = request.clientHost;
    this.sessionTimeoutMs = request.sessionTimeoutMs;
    this.rebalanceTimeoutMs = Math.max(0, Math.min(request.rebalanceTimeoutMs, REBALANCE_TIMEOUT_MS_MAX));
    this.protocols = request.protocols;
  }

  /** True when the protocols are the ones the member joined with, names, order and metadata alike. */
  matches(protocols: readonly GroupProtocol[]): boolean {
    if (protocols.length !== this.protocols.length) return false;
    for (let i = 0; i < protocols.length; i++) {
      const mine = this.protocols[i]!;
      const theirs = protocols[i]!;
      if (mine.name !== theirs.name || !sameBytes(mine.metadata, theirs.metadata)) return false;
    }
    return true;
  }

  supports(protocolName: string): boolean {
    return this.protocols.some((protocol) => protocol.name === protocolName);
  }

  metadataFor(protocolName: string): Uint8Array {
    return this.protocols.find((protocol) => protocol.name === protocolName)?.metadata ?? EMPTY;
  }

  get awaitingJoin(): boolean {
    return this.pendingJoin !== null;
  }

  get awaitingSync(): boolean {
    return this.pendingSync !== null;
  }

  /** Holds a JoinGroup; one still held from before (a client retry) is answered with `replaced` first. */
  holdJoin(replaced: JoinGroupResult): Promise<JoinGroupResult> {
    this.answerJoin(replaced);
    return new Promise((resolve) => {
      this.pendingJoin = resolve;
    });
  }

  /** Answers the held JoinGroup, if any. */
  answerJoin(result: JoinGroupResult): void {
    const resolve = this.pendingJoin;
    this.pendingJoin = null;
    resolve?.(result);
  }

  /** Holds a SyncGroup; one still held from before is answered with `replaced` first. */
  holdSync(replaced: SyncGroupResult): Promise<SyncGroupResult> {
    this.answerSync(replaced);
    return new Promise((resolve) => {
      this.pendingSync = resolve;
    });
  }

  /** Answers the held SyncGroup, if any; returns whether there was one. */
  answerSync(result: SyncGroupResult): boolean {
    const resolve = this.pendingSync;
    this.pendingSync = null;
    resolve?.(result);
    return resolve !== null;
  }

  /**
   * (Re)arms the session timer: when the member says nothing for its session timeout, `onExpiry`
   * runs. The timer is unref'd so an idle group never keeps the process alive.
   */
  armSession(onExpiry: (member: Member) => void): void {
    this.clearSession();
    this.sessionTimer = setTimeout(() => {
      this.sessionTimer = null;
      onExpiry(this);
    }, this.sessionTimeoutMs);
    this.sessionTimer.unref();
  }

  clearSession(): void {
    if (this.sessionTimer !== null) clearTimeout(this.sessionTimer);
    this.sessionTimer = null;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
