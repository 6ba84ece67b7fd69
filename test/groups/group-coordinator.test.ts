import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import { GroupCoordinator } from '../../src/groups/group-coordinator.js';
import type { JoinGroupRequest } from '../../src/groups/group-coordinator-api.js';
import {
  decodeOffsetKey,
  decodeOffsetValue,
  encodeOffsetKey,
  encodeOffsetValue,
} from '../../src/groups/offset-record.js';
import { MemoryEngine } from '../support/memory-engine.js';

/** The consumer group protocol and committed offsets, with an in-memory engine and real (short) timers. */
const meta = (byte: number) => Uint8Array.of(byte);

function joinRequest(memberId: string, overrides: Partial<JoinGroupRequest> = {}): JoinGroupRequest {
  return {
    groupId: 'g',
    memberId,
    sessionTimeoutMs: 400,
    rebalanceTimeoutMs: 300,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: meta(1) }],
    clientId: 'test',
    clientHost: '127.0.0.1',
    ...overrides,
  };
}

describe('group coordinator', () => {
  const coordinators: GroupCoordinator[] = [];
  afterEach(async () => {
    for (const coordinator of coordinators.splice(0)) await coordinator.close();
  });
  const open = async (engine = new MemoryEngine()) => {
    const coordinator = await GroupCoordinator.open(engine);
    coordinators.push(coordinator);
    return coordinator;
  };

  it('given one member, join → sync → heartbeat makes a stable group with its assignment', async () => {
    const groups = await open();
    const joined = await groups.joinGroup(joinRequest(''));
    expect(joined.errorCode).toBe(KafkaErrorCode.NONE);
    expect(joined.leaderId).toBe(joined.memberId);
    expect(joined.members.map((m) => m.memberId)).toEqual([joined.memberId]);
    const synced = await groups.syncGroup({
      groupId: 'g',
      generationId: joined.generationId,
      memberId: joined.memberId,
      assignments: [{ memberId: joined.memberId, assignment: meta(9) }],
    });
    expect(synced).toEqual({ errorCode: KafkaErrorCode.NONE, assignment: meta(9) });
    expect(
      await groups.heartbeat({ groupId: 'g', generationId: joined.generationId, memberId: joined.memberId }),
    ).toBe(KafkaErrorCode.NONE);
    expect(groups.describeGroup('g').state).toBe('Stable');
  });

  it('given three members, the leader gets every member and each follower gets its own assignment', async () => {
    const groups = await open();
    const first = await groups.joinGroup(joinRequest(''));
    await groups.syncGroup({
      groupId: 'g',
      generationId: first.generationId,
      memberId: first.memberId,
      assignments: [],
    });
    // Two more join; the first must rejoin for the new generation.
    const second = groups.joinGroup(joinRequest(''));
    const third = groups.joinGroup(joinRequest(''));
    expect(
      await groups.heartbeat({ groupId: 'g', generationId: first.generationId, memberId: first.memberId }),
    ).toBe(KafkaErrorCode.REBALANCE_IN_PROGRESS);
    const rejoined = groups.joinGroup(joinRequest(first.memberId));
    const results = await Promise.all([rejoined, second, third]);
    const generation = results[0].generationId;
    expect(results.every((r) => r.generationId === generation && r.errorCode === KafkaErrorCode.NONE)).toBe(
      true,
    );
    const leader = results.find((r) => r.memberId === r.leaderId)!;
    expect(leader.members).toHaveLength(3);
    expect(results.filter((r) => r.members.length === 0)).toHaveLength(2);
    const followers = results.filter((r) => r !== leader);
    const followerSyncs = followers.map((f) =>
      groups.syncGroup({ groupId: 'g', generationId: generation, memberId: f.memberId, assignments: [] }),
    );
    await groups.syncGroup({
      groupId: 'g',
      generationId: generation,
      memberId: leader.memberId,
      assignments: results.map((r, i) => ({ memberId: r.memberId, assignment: meta(i) })),
    });
    const assignments = await Promise.all(followerSyncs);
    expect(assignments.map((a) => a.assignment[0])).toEqual(followers.map((f) => results.indexOf(f)));
  });

  it('given a member that stops heartbeating, it expires and the others rebalance to a new generation', async () => {
    const groups = await open();
    const a = await groups.joinGroup(joinRequest(''));
    await groups.syncGroup({
      groupId: 'g',
      generationId: a.generationId,
      memberId: a.memberId,
      assignments: [],
    });
    const bJoin = groups.joinGroup(joinRequest(''));
    const aRejoin = await groups.joinGroup(joinRequest(a.memberId));
    const b = await bJoin;
    await Promise.all([
      groups.syncGroup({
        groupId: 'g',
        generationId: b.generationId,
        memberId: aRejoin.memberId,
        assignments: [],
      }),
      groups.syncGroup({ groupId: 'g', generationId: b.generationId, memberId: b.memberId, assignments: [] }),
    ]);
    // Only a keeps heartbeating; b's 400 ms session runs out.
    let code: number = KafkaErrorCode.NONE;
    for (let i = 0; i < 20 && code === KafkaErrorCode.NONE; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      code = await groups.heartbeat({ groupId: 'g', generationId: b.generationId, memberId: a.memberId });
    }
    expect(code).toBe(KafkaErrorCode.REBALANCE_IN_PROGRESS);
    const next = await groups.joinGroup(joinRequest(a.memberId));
    expect(next.generationId).toBeGreaterThan(b.generationId);
    expect(next.members.map((m) => m.memberId)).toEqual([a.memberId]);
    expect(await groups.heartbeat({ groupId: 'g', generationId: b.generationId, memberId: b.memberId })).toBe(
      KafkaErrorCode.UNKNOWN_MEMBER_ID,
    );
  });

  it('answers UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION and INCONSISTENT_GROUP_PROTOCOL where they belong', async () => {
    const groups = await open();
    expect((await groups.joinGroup(joinRequest('ghost'))).errorCode).toBe(KafkaErrorCode.UNKNOWN_MEMBER_ID);
    const a = await groups.joinGroup(joinRequest(''));
    expect(
      (
        await groups.syncGroup({
          groupId: 'g',
          generationId: a.generationId + 5,
          memberId: a.memberId,
          assignments: [],
        })
      ).errorCode,
    ).toBe(KafkaErrorCode.ILLEGAL_GENERATION);
    const other = await groups.joinGroup(
      joinRequest('', { protocols: [{ name: 'roundrobin', metadata: meta(2) }] }),
    );
    expect(other.errorCode).toBe(KafkaErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    expect((await groups.joinGroup(joinRequest('', { sessionTimeoutMs: 1 }))).errorCode).toBe(
      KafkaErrorCode.INVALID_SESSION_TIMEOUT,
    );
  });

  it('keeps committed offsets durable: a new coordinator on the same engine returns them', async () => {
    const engine = new MemoryEngine();
    const first = await open(engine);
    const committed = await first.commitOffsets({
      groupId: 'readers',
      generationId: -1,
      memberId: '',
      topics: [
        {
          topic: 't',
          partitions: [
            { partition: 0, offset: 42, metadata: 'm' },
            { partition: 3, offset: 7, metadata: null },
          ],
        },
      ],
    });
    expect(committed.topics[0]?.partitions.map((p) => p.errorCode)).toEqual([
      KafkaErrorCode.NONE,
      KafkaErrorCode.NONE,
    ]);
    await first.commitOffsets({
      groupId: 'readers',
      generationId: -1,
      memberId: '',
      topics: [{ topic: 't', partitions: [{ partition: 0, offset: 50, metadata: 'later' }] }],
    });
    const second = await open(engine);
    const fetched = await second.fetchOffsets({
      groupId: 'readers',
      topics: [{ topic: 't', partitions: [0, 1, 3] }],
    });
    expect(fetched.topics[0]?.partitions.map((p) => [p.partition, p.offset, p.metadata])).toEqual([
      [0, 50, 'later'],
      [1, -1, ''],
      [3, 7, null],
    ]);
    expect(second.listGroups()).toContainEqual({ groupId: 'readers', protocolType: 'consumer' });
  });

  it('refuses a commit from a stale generation or an unknown member', async () => {
    const groups = await open();
    const a = await groups.joinGroup(joinRequest(''));
    const commit = (generationId: number, memberId: string) =>
      groups.commitOffsets({
        groupId: 'g',
        generationId,
        memberId,
        topics: [{ topic: 't', partitions: [{ partition: 0, offset: 1, metadata: null }] }],
      });
    expect((await commit(a.generationId - 1, a.memberId)).topics[0]?.partitions[0]?.errorCode).toBe(
      KafkaErrorCode.ILLEGAL_GENERATION,
    );
    expect((await commit(a.generationId, 'nobody')).topics[0]?.partitions[0]?.errorCode).toBe(
      KafkaErrorCode.UNKNOWN_MEMBER_ID,
    );
    // Between join and the leader's sync the group is completing its rebalance: commits wait for it.
    expect((await commit(a.generationId, a.memberId)).topics[0]?.partitions[0]?.errorCode).toBe(
      KafkaErrorCode.REBALANCE_IN_PROGRESS,
    );
    await groups.syncGroup({
      groupId: 'g',
      generationId: a.generationId,
      memberId: a.memberId,
      assignments: [],
    });
    expect((await commit(a.generationId, a.memberId)).topics[0]?.partitions[0]?.errorCode).toBe(
      KafkaErrorCode.NONE,
    );
  });

  it('round-trips offset records through their codec', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 40 }),
        fc.string({ maxLength: 40 }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.integer({ min: -1, max: Number.MAX_SAFE_INTEGER }),
        fc.option(fc.string({ maxLength: 100 }), { nil: null }),
        (groupId, topic, partition, offset, metadata) => {
          expect(decodeOffsetKey(encodeOffsetKey({ groupId, topic, partition }))).toEqual({
            groupId,
            topic,
            partition,
          });
          expect(decodeOffsetValue(encodeOffsetValue({ offset, commitTimeMs: 5, metadata }))).toEqual({
            offset,
            commitTimeMs: 5,
            metadata,
          });
        },
      ),
    );
  });
});
