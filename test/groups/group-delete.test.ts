import { afterEach, describe, expect, it } from 'vitest';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import { MemoryEngine } from '../support/memory-engine.js';
import { Coordinators, codesOf, commitRequest, GROUP, joinRequest } from './group-fixture.js';

/** Deleting a consumer group (Kafka's DeleteGroups): only without members, durable through tombstones. */
describe('deleting groups', () => {
  const coordinators = new Coordinators();
  afterEach(() => coordinators.closeAll());

  it('given a group with committed offsets and no members should delete it, and a restarted coordinator should not bring it back', async () => {
    const engine = new MemoryEngine();
    const groups = await coordinators.start(engine);
    const committed = await groups.commitOffsets(
      commitRequest(-1, '', [
        { partition: 0, offset: 5 },
        { partition: 1, offset: 7 },
      ]),
    );
    expect(codesOf(committed)).toEqual([KafkaErrorCode.NONE, KafkaErrorCode.NONE]);
    expect(groups.listGroups().map((g) => g.groupId)).toEqual([GROUP]);
    expect(await groups.deleteGroup(GROUP)).toBe(KafkaErrorCode.NONE);
    expect(groups.listGroups()).toEqual([]);
    expect(groups.describeGroup(GROUP).state).toBe('Dead');
    const reopened = await coordinators.start(engine);
    expect(reopened.listGroups()).toEqual([]);
    const fetched = await reopened.fetchOffsets({
      groupId: GROUP,
      topics: [{ topic: 't', partitions: [0, 1] }],
    });
    expect(fetched.topics[0]!.partitions.map((p) => p.offset)).toEqual([-1, -1]);
  });

  it('given a group deleted and then committed to again should keep only the new commit after a restart', async () => {
    const engine = new MemoryEngine();
    const groups = await coordinators.start(engine);
    await groups.commitOffsets(commitRequest(-1, '', [{ partition: 0, offset: 5 }]));
    await groups.deleteGroup(GROUP);
    await groups.commitOffsets(commitRequest(-1, '', [{ partition: 1, offset: 9 }]));
    const reopened = await coordinators.start(engine);
    const fetched = await reopened.fetchOffsets({ groupId: GROUP, topics: null });
    expect(fetched.topics.flatMap((t) => t.partitions.map((p) => [p.partition, p.offset]))).toEqual([[1, 9]]);
  });

  it('refuses to delete a group with members (NON_EMPTY_GROUP) or one it does not know (GROUP_ID_NOT_FOUND)', async () => {
    const groups = await coordinators.start();
    expect(await groups.deleteGroup('nobody')).toBe(KafkaErrorCode.GROUP_ID_NOT_FOUND);
    await groups.joinGroup(joinRequest(''));
    expect(await groups.deleteGroup(GROUP)).toBe(KafkaErrorCode.NON_EMPTY_GROUP);
  });

  /** ConsumerProtocolSubscription v0: version, topics, user data (null). */
  const subscription = (...topics: string[]): Uint8Array => {
    const parts = [0, 0, 0, 0, 0, topics.length];
    for (const topic of topics) parts.push(0, topic.length, ...[...topic].map((c) => c.charCodeAt(0)));
    parts.push(0xff, 0xff, 0xff, 0xff);
    return Uint8Array.from(parts);
  };

  it('OffsetDelete: refuses the topics a live consumer group subscribes to, deletes the others durably', async () => {
    const engine = new MemoryEngine();
    const groups = await coordinators.start(engine);
    expect((await groups.deleteOffsets({ groupId: 'nobody', topics: [] })).errorCode).toBe(
      KafkaErrorCode.GROUP_ID_NOT_FOUND,
    );
    await groups.commitOffsets(
      commitRequest(-1, '', [
        { topic: 'a', partition: 0, offset: 5 },
        { topic: 'b', partition: 0, offset: 7 },
        { topic: 'b', partition: 1, offset: 8 },
      ]),
    );
    await groups.joinGroup(joinRequest('', { protocols: [{ name: 'range', metadata: subscription('a') }] }));
    const answer = await groups.deleteOffsets({
      groupId: GROUP,
      topics: [
        { topic: 'a', partitions: [0] },
        { topic: 'b', partitions: [0, 3] },
      ],
    });
    expect(answer.errorCode).toBe(KafkaErrorCode.NONE);
    expect(answer.topics.map((t) => t.partitions.map((p) => p.errorCode))).toEqual([
      [KafkaErrorCode.GROUP_SUBSCRIBED_TO_TOPIC],
      [KafkaErrorCode.NONE, KafkaErrorCode.NONE],
    ]);
    const reopened = await coordinators.start(engine);
    const fetched = await reopened.fetchOffsets({ groupId: GROUP, topics: null });
    expect(fetched.topics.flatMap((t) => t.partitions.map((p) => [t.topic, p.partition, p.offset]))).toEqual([
      ['a', 0, 5],
      ['b', 1, 8],
    ]);
  });

  it('OffsetDelete: a live group whose protocol is not the consumer one answers NON_EMPTY_GROUP', async () => {
    const groups = await coordinators.start();
    await groups.commitOffsets(commitRequest(-1, '', [{ partition: 0, offset: 5 }]));
    await groups.joinGroup(joinRequest('', { protocolType: 'connect' }));
    const answer = await groups.deleteOffsets({ groupId: GROUP, topics: [{ topic: 't', partitions: [0] }] });
    expect(answer.errorCode).toBe(KafkaErrorCode.NON_EMPTY_GROUP);
  });
});
