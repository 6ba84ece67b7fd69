import { afterEach, describe, expect, it } from 'vitest';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import type { GroupCoordinator } from '../../src/groups/group-coordinator.js';
import type { JoinGroupResult } from '../../src/groups/group-coordinator-api.js';
import { GROUP_MEMBERS_MAX } from '../../src/groups/group-limits.js';
import {
  bytes,
  Coordinators,
  GROUP,
  joinRequest,
  settledWithin,
  sleep,
  stableLoneMember,
} from './group-fixture.js';

/**
 * The join → sync → heartbeat protocol of one group, with real (short) timers:
 * sessions of 400 ms and rebalance timeouts of 300 ms.
 */
describe('group membership', () => {
  const coordinators = new Coordinators();
  afterEach(() => coordinators.closeAll());

  const sync = (
    groups: GroupCoordinator,
    generationId: number,
    memberId: string,
    assignments: { memberId: string; assignment: Uint8Array }[] = [],
  ) => groups.syncGroup({ groupId: GROUP, generationId, memberId, assignments });
  const heartbeat = (groups: GroupCoordinator, generationId: number, memberId: string) =>
    groups.heartbeat({ groupId: GROUP, generationId, memberId });

  /** A stable group of `count` members (the first one leads); returns their join results. */
  async function stableGroup(groups: GroupCoordinator, count: number): Promise<JoinGroupResult[]> {
    const first = await stableLoneMember(groups);
    if (count === 1) return [first];
    const newcomers = Array.from({ length: count - 1 }, () => groups.joinGroup(joinRequest('')));
    const results = await Promise.all([groups.joinGroup(joinRequest(first.memberId)), ...newcomers]);
    const generation = results[0]!.generationId;
    const syncs = results.slice(1).map((r) => sync(groups, generation, r.memberId));
    await sync(
      groups,
      generation,
      first.memberId,
      results.map((r, i) => ({ memberId: r.memberId, assignment: bytes(i) })),
    );
    await Promise.all(syncs);
    return results;
  }

  it('given one member, join → sync → heartbeat makes a stable group holding its assignment', async () => {
    const groups = await coordinators.start();
    const joined = await groups.joinGroup(joinRequest('', { clientId: 'app' }));
    expect(joined.errorCode).toBe(KafkaErrorCode.NONE);
    expect(joined.memberId.startsWith('app-')).toBe(true);
    expect(joined.generationId).toBe(1);
    expect(joined.protocolName).toBe('range');
    expect(joined.leaderId).toBe(joined.memberId);
    expect(joined.members).toEqual([{ memberId: joined.memberId, metadata: bytes(1) }]);
    expect(groups.describeGroup(GROUP).state).toBe('CompletingRebalance');
    const synced = await sync(groups, joined.generationId, joined.memberId, [
      { memberId: joined.memberId, assignment: bytes(9) },
    ]);
    expect(synced).toEqual({ errorCode: KafkaErrorCode.NONE, assignment: bytes(9) });
    expect(await heartbeat(groups, joined.generationId, joined.memberId)).toBe(KafkaErrorCode.NONE);
    expect(groups.describeGroup(GROUP)).toEqual({
      errorCode: KafkaErrorCode.NONE,
      groupId: GROUP,
      state: 'Stable',
      protocolType: 'consumer',
      protocolName: 'range',
      members: [
        {
          memberId: joined.memberId,
          groupInstanceId: null,
          clientId: 'app',
          clientHost: '127.0.0.1',
          metadata: bytes(1),
          assignment: bytes(9),
        },
      ],
    });
    expect(groups.listGroups()).toEqual([{ groupId: GROUP, protocolType: 'consumer' }]);
  });

  it('gives every first join its own generated member id', async () => {
    const groups = await coordinators.start();
    const [a, b] = await Promise.all([
      groups.joinGroup(joinRequest('', { groupId: 'one' })),
      groups.joinGroup(joinRequest('', { groupId: 'two' })),
    ]);
    expect(a.memberId).not.toBe('');
    expect(a.memberId).not.toBe(b.memberId);
  });

  it('given three members, the leader gets every member and each follower waits for and gets its own assignment', async () => {
    const groups = await coordinators.start();
    const first = await stableLoneMember(groups);
    const second = groups.joinGroup(joinRequest('', { protocols: [{ name: 'range', metadata: bytes(2) }] }));
    const third = groups.joinGroup(joinRequest('', { protocols: [{ name: 'range', metadata: bytes(3) }] }));
    // The newcomers' joins are held until the known member rejoins.
    expect(await settledWithin(second, 50)).toBe('pending');
    expect(await heartbeat(groups, first.generationId, first.memberId)).toBe(
      KafkaErrorCode.REBALANCE_IN_PROGRESS,
    );
    const results = await Promise.all([groups.joinGroup(joinRequest(first.memberId)), second, third]);
    const generation = first.generationId + 1;
    for (const r of results) {
      expect(r.errorCode).toBe(KafkaErrorCode.NONE);
      expect(r.generationId).toBe(generation);
      expect(r.leaderId).toBe(first.memberId);
    }
    const [leader, ...followers] = results;
    expect(leader!.members).toEqual([
      { memberId: first.memberId, metadata: bytes(1) },
      { memberId: followers[0]!.memberId, metadata: bytes(2) },
      { memberId: followers[1]!.memberId, metadata: bytes(3) },
    ]);
    expect(followers.every((f) => f.members.length === 0)).toBe(true);
    const followerSyncs = followers.map((f) => sync(groups, generation, f.memberId));
    expect(await settledWithin(followerSyncs[0]!, 50)).toBe('pending');
    const leaderSync = await sync(
      groups,
      generation,
      leader!.memberId,
      results.map((r, i) => ({ memberId: r.memberId, assignment: bytes(10 + i) })),
    );
    expect(leaderSync).toEqual({ errorCode: KafkaErrorCode.NONE, assignment: bytes(10) });
    expect(await Promise.all(followerSyncs)).toEqual([
      { errorCode: KafkaErrorCode.NONE, assignment: bytes(11) },
      { errorCode: KafkaErrorCode.NONE, assignment: bytes(12) },
    ]);
    expect(groups.describeGroup(GROUP).members.map((m) => m.assignment)).toEqual([
      bytes(10),
      bytes(11),
      bytes(12),
    ]);
  });

  it('given a stable group, a late joiner triggers a rebalance into one new generation for all', async () => {
    const groups = await coordinators.start();
    const [a, b] = await stableGroup(groups, 2);
    const generation = a!.generationId;
    const late = groups.joinGroup(joinRequest(''));
    expect(groups.describeGroup(GROUP).state).toBe('PreparingRebalance');
    expect(await heartbeat(groups, generation, a!.memberId)).toBe(KafkaErrorCode.REBALANCE_IN_PROGRESS);
    expect(await heartbeat(groups, generation, b!.memberId)).toBe(KafkaErrorCode.REBALANCE_IN_PROGRESS);
    expect((await sync(groups, generation, b!.memberId)).errorCode).toBe(
      KafkaErrorCode.REBALANCE_IN_PROGRESS,
    );
    const results = await Promise.all([
      groups.joinGroup(joinRequest(a!.memberId)),
      groups.joinGroup(joinRequest(b!.memberId)),
      late,
    ]);
    expect(new Set(results.map((r) => r.generationId))).toEqual(new Set([generation + 1]));
    expect(results.find((r) => r.memberId === r.leaderId)?.members).toHaveLength(3);
    // The old generation is gone.
    expect(await heartbeat(groups, generation, a!.memberId)).toBe(KafkaErrorCode.ILLEGAL_GENERATION);
    expect((await sync(groups, generation, a!.memberId)).errorCode).toBe(KafkaErrorCode.ILLEGAL_GENERATION);
  });

  it('given a member that stops heartbeating, it expires and the others rebalance to a new generation', async () => {
    const groups = await coordinators.start();
    const [a, b] = await stableGroup(groups, 2);
    const generation = a!.generationId;
    // Only a keeps heartbeating; b's 400 ms session runs out.
    let code: number = KafkaErrorCode.NONE;
    const startedMs = Date.now();
    for (let i = 0; i < 20 && code === KafkaErrorCode.NONE; i++) {
      await sleep(50);
      code = await heartbeat(groups, generation, a!.memberId);
    }
    expect(code).toBe(KafkaErrorCode.REBALANCE_IN_PROGRESS);
    expect(Date.now() - startedMs).toBeGreaterThanOrEqual(350);
    const next = await groups.joinGroup(joinRequest(a!.memberId));
    expect(next.generationId).toBe(generation + 1);
    expect(next.members.map((m) => m.memberId)).toEqual([a!.memberId]);
    expect(await heartbeat(groups, generation, b!.memberId)).toBe(KafkaErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('given a member that does not rejoin, the others are answered when the rebalance timeout ends, without it', async () => {
    const groups = await coordinators.start();
    const [a, b] = await stableGroup(groups, 2);
    const startedMs = Date.now();
    const rejoined = await groups.joinGroup(joinRequest(a!.memberId));
    // a's join was held for the 300 ms rebalance timeout, waiting for b.
    expect(Date.now() - startedMs).toBeGreaterThanOrEqual(250);
    expect(rejoined.errorCode).toBe(KafkaErrorCode.NONE);
    expect(rejoined.generationId).toBe(a!.generationId + 1);
    expect(rejoined.members.map((m) => m.memberId)).toEqual([a!.memberId]);
    expect((await groups.joinGroup(joinRequest(b!.memberId))).errorCode).toBe(
      KafkaErrorCode.UNKNOWN_MEMBER_ID,
    );
  });

  it('given a member that leaves, the others rebalance; when the last leaves the group is gone', async () => {
    const groups = await coordinators.start();
    const [a, b] = await stableGroup(groups, 2);
    expect(await groups.leaveGroup(GROUP, b!.memberId)).toBe(KafkaErrorCode.NONE);
    expect(await groups.leaveGroup(GROUP, b!.memberId)).toBe(KafkaErrorCode.UNKNOWN_MEMBER_ID);
    expect(await heartbeat(groups, a!.generationId, a!.memberId)).toBe(KafkaErrorCode.REBALANCE_IN_PROGRESS);
    const next = await groups.joinGroup(joinRequest(a!.memberId));
    expect(next.generationId).toBe(a!.generationId + 1);
    expect(next.members.map((m) => m.memberId)).toEqual([a!.memberId]);
    expect(await groups.leaveGroup(GROUP, a!.memberId)).toBe(KafkaErrorCode.NONE);
    expect(groups.describeGroup(GROUP).state).toBe('Dead');
    expect(groups.listGroups()).toEqual([]);
  });

  it('answers a held join UNKNOWN_MEMBER_ID when its member leaves, and completes the others', async () => {
    const groups = await coordinators.start();
    const [a, b] = await stableGroup(groups, 2);
    const aJoin = groups.joinGroup(joinRequest(a!.memberId));
    const lateJoin = groups.joinGroup(joinRequest(''));
    expect(await groups.leaveGroup(GROUP, a!.memberId)).toBe(KafkaErrorCode.NONE);
    expect((await aJoin).errorCode).toBe(KafkaErrorCode.UNKNOWN_MEMBER_ID);
    const bJoin = await groups.joinGroup(joinRequest(b!.memberId));
    expect(bJoin.errorCode).toBe(KafkaErrorCode.NONE);
    expect((await lateJoin).generationId).toBe(bJoin.generationId);
  });

  it('answers UNKNOWN_MEMBER_ID and ILLEGAL_GENERATION where Kafka does', async () => {
    const groups = await coordinators.start();
    expect((await groups.joinGroup(joinRequest('ghost'))).errorCode).toBe(KafkaErrorCode.UNKNOWN_MEMBER_ID);
    const a = await groups.joinGroup(joinRequest(''));
    expect((await groups.joinGroup(joinRequest('ghost'))).errorCode).toBe(KafkaErrorCode.UNKNOWN_MEMBER_ID);
    expect((await sync(groups, a.generationId, 'ghost')).errorCode).toBe(KafkaErrorCode.UNKNOWN_MEMBER_ID);
    expect(await heartbeat(groups, a.generationId, 'ghost')).toBe(KafkaErrorCode.UNKNOWN_MEMBER_ID);
    expect(await groups.heartbeat({ groupId: 'nope', generationId: 1, memberId: a.memberId })).toBe(
      KafkaErrorCode.UNKNOWN_MEMBER_ID,
    );
    expect(
      (await groups.syncGroup({ groupId: 'nope', generationId: 1, memberId: 'x', assignments: [] }))
        .errorCode,
    ).toBe(KafkaErrorCode.UNKNOWN_MEMBER_ID);
    expect(await groups.leaveGroup('nope', a.memberId)).toBe(KafkaErrorCode.UNKNOWN_MEMBER_ID);
    expect((await sync(groups, a.generationId + 5, a.memberId)).errorCode).toBe(
      KafkaErrorCode.ILLEGAL_GENERATION,
    );
    expect(await heartbeat(groups, a.generationId - 1, a.memberId)).toBe(KafkaErrorCode.ILLEGAL_GENERATION);
    // Heartbeats after the join but before the sync are fine (the client's heartbeat thread may run).
    expect(await heartbeat(groups, a.generationId, a.memberId)).toBe(KafkaErrorCode.NONE);
  });

  it('answers INCONSISTENT_GROUP_PROTOCOL when a member has no protocol, type or protocol in common with the group', async () => {
    const groups = await coordinators.start();
    expect((await groups.joinGroup(joinRequest('', { protocols: [] }))).errorCode).toBe(
      KafkaErrorCode.INCONSISTENT_GROUP_PROTOCOL,
    );
    expect((await groups.joinGroup(joinRequest('', { protocolType: '' }))).errorCode).toBe(
      KafkaErrorCode.INCONSISTENT_GROUP_PROTOCOL,
    );
    // Refused first joins leave no group behind.
    expect(groups.describeGroup(GROUP).state).toBe('Dead');
    await stableLoneMember(groups);
    const other = await groups.joinGroup(
      joinRequest('', { protocols: [{ name: 'roundrobin', metadata: bytes(2) }] }),
    );
    expect(other.errorCode).toBe(KafkaErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const otherType = await groups.joinGroup(joinRequest('', { protocolType: 'connect' }));
    expect(otherType.errorCode).toBe(KafkaErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    // The refused joins did not disturb the group.
    expect(groups.describeGroup(GROUP).state).toBe('Stable');
  });

  it('refuses session timeouts out of range and empty group ids', async () => {
    const groups = await coordinators.start();
    expect((await groups.joinGroup(joinRequest('', { sessionTimeoutMs: 1 }))).errorCode).toBe(
      KafkaErrorCode.INVALID_SESSION_TIMEOUT,
    );
    expect((await groups.joinGroup(joinRequest('', { sessionTimeoutMs: 2 ** 31 - 1 }))).errorCode).toBe(
      KafkaErrorCode.INVALID_SESSION_TIMEOUT,
    );
    expect((await groups.joinGroup(joinRequest('', { groupId: '' }))).errorCode).toBe(
      KafkaErrorCode.INVALID_GROUP_ID,
    );
  });

  it('picks the protocol every member supports that most members prefer', async () => {
    const groups = await coordinators.start();
    const rr = { name: 'roundrobin', metadata: bytes(7) };
    const range = { name: 'range', metadata: bytes(8) };
    const sticky = { name: 'sticky', metadata: bytes(9) };
    const first = await stableLoneMember(groups, { protocols: [range, rr, sticky] });
    // Newcomers first: a lone leader rejoining alone would complete its rebalance at once.
    const second = groups.joinGroup(joinRequest('', { protocols: [sticky, rr] }));
    const third = groups.joinGroup(joinRequest('', { protocols: [rr, range, sticky] }));
    const results = await Promise.all([
      groups.joinGroup(joinRequest(first.memberId, { protocols: [range, rr, sticky] })),
      second,
      third,
    ]);
    // Common: roundrobin and sticky. First choices among them: roundrobin, sticky, roundrobin.
    expect(results.map((r) => r.protocolName)).toEqual(['roundrobin', 'roundrobin', 'roundrobin']);
    expect(results[0]!.members.map((m) => m.metadata)).toEqual([bytes(7), bytes(7), bytes(7)]);
  });

  it('given a stable group, a follower rejoining with unchanged protocols gets the current generation without a rebalance', async () => {
    const groups = await coordinators.start();
    const [a, b] = await stableGroup(groups, 2);
    const again = await groups.joinGroup(joinRequest(b!.memberId));
    expect(again).toMatchObject({
      errorCode: KafkaErrorCode.NONE,
      generationId: b!.generationId,
      members: [],
    });
    expect(groups.describeGroup(GROUP).state).toBe('Stable');
    // New metadata (say, a new subscription) starts a rebalance.
    const changed = groups.joinGroup(
      joinRequest(b!.memberId, { protocols: [{ name: 'range', metadata: bytes(5) }] }),
    );
    expect(groups.describeGroup(GROUP).state).toBe('PreparingRebalance');
    await groups.joinGroup(joinRequest(a!.memberId));
    expect((await changed).generationId).toBe(b!.generationId + 1);
  });

  it('given a leader that never syncs, the followers are told to rejoin and the leader is dropped after the rebalance timeout', async () => {
    const groups = await coordinators.start();
    const first = await stableLoneMember(groups);
    const newcomer = groups.joinGroup(joinRequest(''));
    const results = await Promise.all([groups.joinGroup(joinRequest(first.memberId)), newcomer]);
    const follower = results[1]!;
    const startedMs = Date.now();
    const waiting = await sync(groups, follower.generationId, follower.memberId);
    expect(waiting.errorCode).toBe(KafkaErrorCode.REBALANCE_IN_PROGRESS);
    expect(Date.now() - startedMs).toBeGreaterThanOrEqual(250);
    const rejoined = await groups.joinGroup(joinRequest(follower.memberId));
    expect(rejoined.leaderId).toBe(follower.memberId);
    expect(rejoined.members.map((m) => m.memberId)).toEqual([follower.memberId]);
    expect(await heartbeat(groups, rejoined.generationId, first.memberId)).toBe(
      KafkaErrorCode.UNKNOWN_MEMBER_ID,
    );
  });

  it('reports the states PreparingRebalance, CompletingRebalance and Stable through a rebalance', async () => {
    const groups = await coordinators.start();
    const [a] = await stableGroup(groups, 1);
    const late = groups.joinGroup(joinRequest(''));
    const preparing = groups.describeGroup(GROUP);
    expect(preparing.state).toBe('PreparingRebalance');
    expect(preparing.protocolName).toBe('');
    expect(preparing.members.every((m) => m.metadata.length === 0 && m.assignment.length === 0)).toBe(true);
    const [aJoin, lateJoin] = await Promise.all([groups.joinGroup(joinRequest(a!.memberId)), late]);
    expect(groups.describeGroup(GROUP).state).toBe('CompletingRebalance');
    const lateSync = sync(groups, lateJoin.generationId, lateJoin.memberId);
    await sync(groups, aJoin.generationId, a!.memberId, [
      { memberId: a!.memberId, assignment: bytes(1) },
      { memberId: lateJoin.memberId, assignment: bytes(2) },
    ]);
    await lateSync;
    const stable = groups.describeGroup(GROUP);
    expect(stable.state).toBe('Stable');
    expect(stable.protocolName).toBe('range');
    expect(stable.members).toHaveLength(2);
  });

  it(`refuses member ${GROUP_MEMBERS_MAX + 1} with GROUP_MAX_SIZE_REACHED`, async () => {
    const groups = await coordinators.start();
    await stableLoneMember(groups);
    const held = Array.from({ length: GROUP_MEMBERS_MAX - 1 }, () => groups.joinGroup(joinRequest('')));
    expect((await groups.joinGroup(joinRequest(''))).errorCode).toBe(KafkaErrorCode.GROUP_MAX_SIZE_REACHED);
    await groups.close();
    const answers = await Promise.all(held);
    expect(answers.every((r) => r.errorCode === KafkaErrorCode.COORDINATOR_NOT_AVAILABLE)).toBe(true);
  });

  it('on close, answers held joins and syncs with COORDINATOR_NOT_AVAILABLE, and every later request too', async () => {
    const groups = await coordinators.start();
    const first = await stableLoneMember(groups);
    const newcomer = groups.joinGroup(joinRequest(''));
    const results = await Promise.all([groups.joinGroup(joinRequest(first.memberId)), newcomer]);
    const heldSync = sync(groups, results[1]!.generationId, results[1]!.memberId);
    const heldJoin = groups.joinGroup(joinRequest('', { groupId: 'other' }));
    const otherMember = await heldJoin;
    const heldOtherJoin = groups.joinGroup(joinRequest('', { groupId: 'other' }));
    await groups.close();
    expect((await heldSync).errorCode).toBe(KafkaErrorCode.COORDINATOR_NOT_AVAILABLE);
    expect((await heldOtherJoin).errorCode).toBe(KafkaErrorCode.COORDINATOR_NOT_AVAILABLE);
    expect(otherMember.errorCode).toBe(KafkaErrorCode.NONE);
    expect((await groups.joinGroup(joinRequest(''))).errorCode).toBe(
      KafkaErrorCode.COORDINATOR_NOT_AVAILABLE,
    );
    expect((await sync(groups, 1, first.memberId)).errorCode).toBe(KafkaErrorCode.COORDINATOR_NOT_AVAILABLE);
    expect(await heartbeat(groups, 1, first.memberId)).toBe(KafkaErrorCode.COORDINATOR_NOT_AVAILABLE);
    expect(await groups.leaveGroup(GROUP, first.memberId)).toBe(KafkaErrorCode.COORDINATOR_NOT_AVAILABLE);
  });
});
