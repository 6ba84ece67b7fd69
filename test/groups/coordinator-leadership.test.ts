import { afterEach, describe, expect, it } from 'vitest';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import type { FetchOutcome, FetchRequest } from '../../src/engine/engine-api.js';
import type { OffsetsLeadership } from '../../src/groups/group-coordinator.js';
import { OFFSETS_TOPIC, OFFSETS_TOPIC_CONFIG, offsetsPartitionFor } from '../../src/groups/offset-store.js';
import { GatedEngine } from '../support/gated-engine.js';
import type { MemoryEngine } from '../support/memory-engine.js';
import {
  Coordinators,
  codesOf,
  commitRequest,
  FaultyEngine,
  GROUP,
  joinRequest,
  settledWithin,
  stableLoneMember,
} from './group-fixture.js';

/**
 * Cluster mode of the group coordinator, without etcd: a fake control plane
 * says which `__consumer_offsets` partitions this broker leads under which
 * epoch, and one MemoryEngine stands for the replicated offsets log that
 * every leader in turn reads. A group is served only while its partition is
 * led here and loaded: NOT_COORDINATOR elsewhere, COORDINATOR_LOAD_IN_PROGRESS
 * while loading; leadership lost closes its groups and forgets its offsets,
 * leadership regained reads back what other leaders committed meanwhile.
 */

const PARTITIONS = 4;
const PARTITION = offsetsPartitionFor(GROUP, PARTITIONS);

/** The control plane's view: partition → the epoch this broker leads it under (absent: another broker leads). */
class FakeLeadership implements OffsetsLeadership {
  readonly epochs = new Map<number, number>();
  constructor(readonly localBrokerId: number) {}
  leaderEpoch(partition: number): number {
    return this.epochs.get(partition) ?? -1;
  }
}

/** A MemoryEngine whose reads wait while `gate` is set: a load that has not finished yet. */
class SlowReadEngine extends GatedEngine {
  gate: Promise<void> | null = null;
  override async fetch(request: FetchRequest): Promise<FetchOutcome> {
    if (this.gate !== null) await this.gate;
    return super.fetch(request);
  }
}

async function offsetsLog(engine: MemoryEngine = new SlowReadEngine()): Promise<MemoryEngine> {
  expect(await engine.createTopic(OFFSETS_TOPIC, PARTITIONS, OFFSETS_TOPIC_CONFIG)).toBe(KafkaErrorCode.NONE);
  return engine;
}

const simpleCommit = (offset: number, partition = 0) =>
  commitRequest(-1, '', [{ topic: 't', partition, offset }]);

const committedOffset = async (
  groups: Awaited<ReturnType<Coordinators['start']>>,
  partition = 0,
): Promise<{ errorCode: number; offset: number | undefined }> => {
  const fetched = await groups.fetchOffsets({
    groupId: GROUP,
    topics: [{ topic: 't', partitions: [partition] }],
  });
  return { errorCode: fetched.errorCode, offset: fetched.topics[0]?.partitions[0]?.offset };
};

describe('group coordinator following leadership of __consumer_offsets', () => {
  const coordinators = new Coordinators();
  afterEach(() => coordinators.closeAll());

  const clustered = async (engine: MemoryEngine, leadership: FakeLeadership) =>
    coordinators.start(engine, { leadership, offsetsPartitions: PARTITIONS });

  it('given a group whose offsets partition another broker leads, should answer NOT_COORDINATOR to every group API', async () => {
    const engine = await offsetsLog();
    const groups = await clustered(engine, new FakeLeadership(1));
    expect((await groups.joinGroup(joinRequest(''))).errorCode).toBe(KafkaErrorCode.NOT_COORDINATOR);
    expect(
      (await groups.syncGroup({ groupId: GROUP, generationId: 1, memberId: 'm', assignments: [] })).errorCode,
    ).toBe(KafkaErrorCode.NOT_COORDINATOR);
    expect(await groups.heartbeat({ groupId: GROUP, generationId: 1, memberId: 'm' })).toBe(
      KafkaErrorCode.NOT_COORDINATOR,
    );
    expect(await groups.leaveGroup(GROUP, 'm')).toBe(KafkaErrorCode.NOT_COORDINATOR);
    expect(codesOf(await groups.commitOffsets(simpleCommit(5)))).toEqual([KafkaErrorCode.NOT_COORDINATOR]);
    expect(await committedOffset(groups)).toEqual({ errorCode: KafkaErrorCode.NOT_COORDINATOR, offset: -1 });
    expect(groups.describeGroup(GROUP).errorCode).toBe(KafkaErrorCode.NOT_COORDINATOR);
    expect(await groups.deleteGroup(GROUP)).toBe(KafkaErrorCode.NOT_COORDINATOR);
    expect((await groups.deleteOffsets({ groupId: GROUP, topics: [] })).errorCode).toBe(
      KafkaErrorCode.NOT_COORDINATOR,
    );
    // Nothing was written to the log.
    expect((await engine.describePartitions(OFFSETS_TOPIC))![PARTITION]!.logEndOffset).toBe(0);
  });

  it('given this broker becomes leader of the partition, should answer COORDINATOR_LOAD_IN_PROGRESS until its committed offsets are read back, then serve them', async () => {
    const engine = (await offsetsLog()) as SlowReadEngine;
    // An earlier leader committed offset 7 for the group.
    const before = new FakeLeadership(2);
    const earlier = await clustered(engine, before);
    before.epochs.set(PARTITION, 0);
    await earlier.onOffsetsPartitionState({
      partition: PARTITION,
      partitionCount: PARTITIONS,
      leading: true,
      leaderEpoch: 0,
    });
    expect(codesOf(await earlier.commitOffsets(simpleCommit(7)))).toEqual([KafkaErrorCode.NONE]);

    const leadership = new FakeLeadership(1);
    const groups = await clustered(engine, leadership);
    let open = (): void => undefined;
    engine.gate = new Promise((resolve) => {
      open = resolve;
    });
    // etcd names this broker leader before the role change reaches the coordinator.
    leadership.epochs.set(PARTITION, 1);
    expect(await committedOffset(groups)).toMatchObject({
      errorCode: KafkaErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
    });
    const loaded = groups.onOffsetsPartitionState({
      partition: PARTITION,
      partitionCount: PARTITIONS,
      leading: true,
      leaderEpoch: 1,
    });
    expect(codesOf(await groups.commitOffsets(simpleCommit(9)))).toEqual([
      KafkaErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
    ]);
    expect((await groups.joinGroup(joinRequest(''))).errorCode).toBe(
      KafkaErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
    );
    expect(await settledWithin(loaded, 50)).toBe('pending');
    engine.gate = null;
    open();
    await loaded;
    expect(await committedOffset(groups)).toEqual({ errorCode: KafkaErrorCode.NONE, offset: 7 });
    expect(codesOf(await groups.commitOffsets(simpleCommit(9)))).toEqual([KafkaErrorCode.NONE]);
    expect(await committedOffset(groups)).toEqual({ errorCode: KafkaErrorCode.NONE, offset: 9 });
    // Groups of partitions it does not lead are still someone else's.
    const elsewhere = ['a', 'b', 'c', 'd', 'e', 'f'].find(
      (id) => offsetsPartitionFor(id, PARTITIONS) !== PARTITION,
    )!;
    expect((await groups.fetchOffsets({ groupId: elsewhere, topics: null })).errorCode).toBe(
      KafkaErrorCode.NOT_COORDINATOR,
    );
  });

  it('given leadership moves away and comes back under a new epoch, should close the group (NOT_COORDINATOR), forget its offsets, then read back what the other leader committed meanwhile', async () => {
    const engine = await offsetsLog();
    const here = new FakeLeadership(1);
    const there = new FakeLeadership(2);
    const groups = await clustered(engine, here);
    const other = await clustered(engine, there);
    const lead = async (
      coordinator: typeof groups,
      leadership: FakeLeadership,
      epoch: number,
      loser: { coordinator: typeof groups; leadership: FakeLeadership },
    ) => {
      loser.leadership.epochs.delete(PARTITION);
      await loser.coordinator.onOffsetsPartitionState({
        partition: PARTITION,
        partitionCount: PARTITIONS,
        leading: false,
        leaderEpoch: epoch,
      });
      leadership.epochs.set(PARTITION, epoch);
      await coordinator.onOffsetsPartitionState({
        partition: PARTITION,
        partitionCount: PARTITIONS,
        leading: true,
        leaderEpoch: epoch,
      });
    };

    await lead(groups, here, 0, { coordinator: other, leadership: there });
    const member = await stableLoneMember(groups);
    expect(
      codesOf(
        await groups.commitOffsets(
          commitRequest(member.generationId, member.memberId, [{ partition: 0, offset: 3 }]),
        ),
      ),
    ).toEqual([KafkaErrorCode.NONE]);
    // A newcomer's join is held while the group rebalances; the move answers it NOT_COORDINATOR.
    const held = groups.joinGroup(joinRequest(''));
    await lead(other, there, 1, { coordinator: groups, leadership: here });
    expect((await held).errorCode).toBe(KafkaErrorCode.NOT_COORDINATOR);
    expect(
      await groups.heartbeat({
        groupId: GROUP,
        generationId: member.generationId,
        memberId: member.memberId,
      }),
    ).toBe(KafkaErrorCode.NOT_COORDINATOR);
    expect(groups.listGroups()).toEqual([]);
    // The new leader has the commit, and takes one more from the rejoined group.
    expect(await committedOffset(other)).toEqual({ errorCode: KafkaErrorCode.NONE, offset: 3 });
    expect(codesOf(await other.commitOffsets(simpleCommit(11)))).toEqual([KafkaErrorCode.NONE]);

    await lead(groups, here, 2, { coordinator: other, leadership: there });
    expect(await committedOffset(other)).toMatchObject({ errorCode: KafkaErrorCode.NOT_COORDINATOR });
    expect(await committedOffset(groups)).toEqual({ errorCode: KafkaErrorCode.NONE, offset: 11 });
    expect(groups.listGroups()).toEqual([{ groupId: GROUP, protocolType: 'consumer' }]);
  });

  it('given a commit waiting for its write when leadership moves away, should still be acknowledged (the log holds it) and be read back by the next load', async () => {
    const engine = (await offsetsLog(new GatedEngine())) as GatedEngine;
    const here = new FakeLeadership(1);
    const groups = await clustered(engine, here);
    here.epochs.set(PARTITION, 0);
    await groups.onOffsetsPartitionState({
      partition: PARTITION,
      partitionCount: PARTITIONS,
      leading: true,
      leaderEpoch: 0,
    });
    engine.hold = true;
    const pending = groups.commitOffsets(simpleCommit(4));
    // Leadership moves, then comes straight back under a new epoch while the write still waits.
    here.epochs.delete(PARTITION);
    await groups.onOffsetsPartitionState({
      partition: PARTITION,
      partitionCount: PARTITIONS,
      leading: false,
      leaderEpoch: 1,
    });
    engine.release();
    // Durable (the log took it), so acknowledged; memory of the earlier leadership is gone.
    expect(codesOf(await pending)).toEqual([KafkaErrorCode.NONE]);
    here.epochs.set(PARTITION, 2);
    await groups.onOffsetsPartitionState({
      partition: PARTITION,
      partitionCount: PARTITIONS,
      leading: true,
      leaderEpoch: 2,
    });
    expect(await committedOffset(groups)).toEqual({ errorCode: KafkaErrorCode.NONE, offset: 4 });
  });

  it('given the same epoch told again (an ISR change), should keep the loaded partition and its groups', async () => {
    const engine = await offsetsLog();
    const here = new FakeLeadership(1);
    const groups = await clustered(engine, here);
    here.epochs.set(PARTITION, 3);
    const state = { partition: PARTITION, partitionCount: PARTITIONS, leading: true, leaderEpoch: 3 };
    await groups.onOffsetsPartitionState(state);
    const member = await stableLoneMember(groups);
    await groups.onOffsetsPartitionState(state);
    expect(
      await groups.heartbeat({
        groupId: GROUP,
        generationId: member.generationId,
        memberId: member.memberId,
      }),
    ).toBe(KafkaErrorCode.NONE);
  });

  it('given a write the offsets partition refuses, should answer as Kafka maps it: NOT_COORDINATOR when no longer leader, COORDINATOR_NOT_AVAILABLE when the ISR is short', async () => {
    const engine = (await offsetsLog(new FaultyEngine())) as FaultyEngine;
    const here = new FakeLeadership(1);
    const groups = await clustered(engine, here);
    here.epochs.set(PARTITION, 0);
    await groups.onOffsetsPartitionState({
      partition: PARTITION,
      partitionCount: PARTITIONS,
      leading: true,
      leaderEpoch: 0,
    });
    engine.failProduceWith = KafkaErrorCode.NOT_LEADER_OR_FOLLOWER;
    expect(codesOf(await groups.commitOffsets(simpleCommit(1)))).toEqual([KafkaErrorCode.NOT_COORDINATOR]);
    engine.failProduceWith = KafkaErrorCode.NOT_ENOUGH_REPLICAS;
    expect(codesOf(await groups.commitOffsets(simpleCommit(1)))).toEqual([
      KafkaErrorCode.COORDINATOR_NOT_AVAILABLE,
    ]);
    engine.failProduceWith = KafkaErrorCode.REQUEST_TIMED_OUT;
    expect(codesOf(await groups.commitOffsets(simpleCommit(1)))).toEqual([
      KafkaErrorCode.COORDINATOR_NOT_AVAILABLE,
    ]);
    engine.failProduceWith = null;
    expect(await committedOffset(groups)).toEqual({ errorCode: KafkaErrorCode.NONE, offset: -1 });
  });
});
