import { afterEach, describe, expect, it } from 'vitest';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import type { GroupCoordinator } from '../../src/groups/group-coordinator.js';
import {
  bytes,
  Coordinators,
  codesOf,
  commitRequest,
  GROUP,
  joinRequest,
  settledWithin,
} from './group-fixture.js';

/**
 * Static membership (KIP-345, group.instance.id): a member that restarts and
 * joins again with its instance id takes its old place under a new member id
 * (a follower of a stable group without a rebalance); the old member id is
 * fenced (FENCED_INSTANCE_ID) wherever it names the instance; a LeaveGroup
 * may name the member by instance id alone.
 */
describe('static group membership', () => {
  const coordinators = new Coordinators();
  afterEach(() => coordinators.closeAll());

  /** Two static members, `leader` and `follower`, in a stable group; returns their member ids. */
  async function stableStaticPair(groups: GroupCoordinator) {
    const leader = await groups.joinGroup(joinRequest('', { groupInstanceId: 'leader' }));
    await groups.syncGroup({
      groupId: GROUP,
      generationId: leader.generationId,
      memberId: leader.memberId,
      assignments: [],
    });
    // The newcomer's join is held until the leader rejoins; then one generation holds both.
    const joining = groups.joinGroup(joinRequest('', { groupInstanceId: 'follower' }));
    const leaderJoined = await groups.joinGroup(joinRequest(leader.memberId, { groupInstanceId: 'leader' }));
    const follower = await joining;
    expect(leaderJoined.leaderId).toBe(leaderJoined.memberId);
    const generationId = follower.generationId;
    const followerSync = groups.syncGroup({
      groupId: GROUP,
      generationId,
      memberId: follower.memberId,
      assignments: [],
    });
    await groups.syncGroup({
      groupId: GROUP,
      generationId,
      memberId: leaderJoined.memberId,
      assignments: [
        { memberId: leaderJoined.memberId, assignment: bytes(1) },
        { memberId: follower.memberId, assignment: bytes(2) },
      ],
    });
    expect((await followerSync).assignment).toEqual(bytes(2));
    return { leaderId: leaderJoined.memberId, followerId: follower.memberId, generationId };
  }

  it('a restarted follower gets its place, generation and assignment back without a rebalance', async () => {
    const groups = await coordinators.start();
    const { followerId, generationId } = await stableStaticPair(groups);
    const rejoined = await settledWithin(
      groups.joinGroup(joinRequest('', { groupInstanceId: 'follower' })),
      200,
    );
    if (rejoined === 'pending') throw new Error('a static follower rejoining a stable group was held');
    expect(rejoined).toMatchObject({ errorCode: KafkaErrorCode.NONE, generationId });
    expect(rejoined.memberId).not.toBe(followerId);
    expect(groups.describeGroup(GROUP).state).toBe('Stable');
    const synced = await groups.syncGroup({
      groupId: GROUP,
      generationId,
      memberId: rejoined.memberId,
      groupInstanceId: 'follower',
      assignments: [],
    });
    expect(synced).toEqual({ errorCode: KafkaErrorCode.NONE, assignment: bytes(2) });
    expect(
      groups
        .describeGroup(GROUP)
        .members.map((m) => m.groupInstanceId)
        .sort(),
    ).toEqual(['follower', 'leader']);

    // The old member id is fenced wherever it names the instance.
    const old = { groupId: GROUP, generationId, memberId: followerId, groupInstanceId: 'follower' };
    expect(await groups.heartbeat(old)).toBe(KafkaErrorCode.FENCED_INSTANCE_ID);
    expect((await groups.syncGroup({ ...old, assignments: [] })).errorCode).toBe(
      KafkaErrorCode.FENCED_INSTANCE_ID,
    );
    expect((await groups.joinGroup(joinRequest(followerId, { groupInstanceId: 'follower' }))).errorCode).toBe(
      KafkaErrorCode.FENCED_INSTANCE_ID,
    );
    const commit = {
      ...commitRequest(generationId, followerId, [{ partition: 0, offset: 1 }]),
      groupInstanceId: 'follower',
    };
    expect(codesOf(await groups.commitOffsets(commit))).toEqual([KafkaErrorCode.FENCED_INSTANCE_ID]);
    expect(await groups.heartbeat({ ...old, memberId: rejoined.memberId })).toBe(KafkaErrorCode.NONE);
  });

  it('a restarted leader whose client cannot skip the assignment rejoins into a rebalance', async () => {
    const groups = await coordinators.start();
    const { leaderId, generationId } = await stableStaticPair(groups);
    const rejoined = groups.joinGroup(joinRequest('', { groupInstanceId: 'leader' }));
    expect(groups.describeGroup(GROUP).state).toBe('PreparingRebalance');
    expect(
      await groups.heartbeat({ groupId: GROUP, generationId, memberId: leaderId, groupInstanceId: 'leader' }),
    ).toBe(KafkaErrorCode.FENCED_INSTANCE_ID);
    expect(await settledWithin(rejoined, 50)).toBe('pending');
  });

  it('a restarted leader whose client takes skip_assignment (JoinGroup v9) keeps the group stable', async () => {
    const groups = await coordinators.start();
    const { leaderId, followerId, generationId } = await stableStaticPair(groups);
    const rejoined = await settledWithin(
      groups.joinGroup(joinRequest('', { groupInstanceId: 'leader', canSkipAssignment: true })),
      200,
    );
    if (rejoined === 'pending') throw new Error('a static leader able to skip the assignment was held');
    expect(rejoined).toMatchObject({ errorCode: KafkaErrorCode.NONE, generationId, skipAssignment: true });
    expect(rejoined.memberId).not.toBe(leaderId);
    expect(rejoined.leaderId).toBe(rejoined.memberId);
    expect(rejoined.members.map((m) => m.memberId).sort()).toEqual([rejoined.memberId, followerId].sort());
    expect(groups.describeGroup(GROUP).state).toBe('Stable');
    const synced = await groups.syncGroup({
      groupId: GROUP,
      generationId,
      memberId: rejoined.memberId,
      assignments: [],
    });
    expect(synced).toEqual({ errorCode: KafkaErrorCode.NONE, assignment: bytes(1) });
  });

  it('leaves by instance id alone, and refuses another member id for the instance', async () => {
    const groups = await coordinators.start();
    const { followerId } = await stableStaticPair(groups);
    expect(await groups.leaveGroup(GROUP, 'someone-else', 'follower')).toBe(
      KafkaErrorCode.FENCED_INSTANCE_ID,
    );
    expect(await groups.leaveGroup(GROUP, '', 'nobody')).toBe(KafkaErrorCode.UNKNOWN_MEMBER_ID);
    expect(await groups.leaveGroup(GROUP, '', 'follower')).toBe(KafkaErrorCode.NONE);
    expect(groups.describeGroup(GROUP).members.map((m) => m.memberId)).not.toContain(followerId);
    expect(groups.describeGroup(GROUP).state).toBe('PreparingRebalance');
    // The instance id is free again: a new join with it is a new member.
    const again = groups.joinGroup(joinRequest('', { groupInstanceId: 'follower' }));
    expect(await settledWithin(again, 50)).toBe('pending');
  });
});
