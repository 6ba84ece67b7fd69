import type { GroupProtocol } from './group-coordinator-api.js';
import type { Member } from './member.js';

/**
 * How a group agrees on one protocol (for consumers: the partition assignor).
 * Kept apart from the state machine because it is pure: members in, a name out.
 */

/**
 * Whether a joining member can be in the group with `others` (every member but itself): it must name a
 * protocol type and at least one protocol, the same type as the group, and one protocol all of them
 * support. Otherwise the join gets INCONSISTENT_GROUP_PROTOCOL.
 */
export function canJoin(
  groupProtocolType: string,
  others: readonly Member[],
  protocolType: string,
  protocols: readonly GroupProtocol[],
): boolean {
  if (protocolType.length === 0 || protocols.length === 0) return false;
  if (others.length === 0) return true;
  if (protocolType !== groupProtocolType) return false;
  return protocols.some((protocol) => others.every((other) => other.supports(protocol.name)));
}

/**
 * Picks the protocol of a new generation as Kafka does: among the protocols every member supports, each
 * member votes for the one it prefers most, and the most votes win; ties go to the earlier one in the
 * first member's preference order. Empty when the members have nothing in common (which `canJoin` prevents).
 */
export function selectProtocol(members: readonly Member[]): string {
  const first = members[0];
  if (first === undefined) return '';
  const candidates = first.protocols
    .map((protocol) => protocol.name)
    .filter((name) => members.every((member) => member.supports(name)));
  const votes = new Map<string, number>(candidates.map((name) => [name, 0]));
  for (const member of members) {
    const choice = member.protocols.find((protocol) => votes.has(protocol.name));
    if (choice !== undefined) votes.set(choice.name, (votes.get(choice.name) ?? 0) + 1);
  }
  let best = candidates[0] ?? '';
  for (const name of candidates) if ((votes.get(name) ?? 0) > (votes.get(best) ?? 0)) best = name;
  return best;
}
