import { afterEach, describe, expect, it } from 'vitest';
import { PyralogError } from '../../src/common/errors.js';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import type { Offset } from '../../src/common/offset.js';
import { OFFSET_METADATA_BYTES_MAX } from '../../src/groups/group-limits.js';
import {
  decodeOffsetValue,
  encodeOffsetKey,
  encodeOffsetValue,
  OFFSET_KEY_STRING_BYTES_MAX,
} from '../../src/groups/offset-record.js';
import { OFFSETS_TOPIC } from '../../src/groups/offset-store.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { decodeRecordSet } from '../../src/record/batch-reader.js';
import { GatedEngine } from '../support/gated-engine.js';
import { MemoryEngine } from '../support/memory-engine.js';
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

/** Committed offsets: durable in `__consumer_offsets`, visible only once stored, with Kafka's commit rules. */
describe('committed offsets', () => {
  const coordinators = new Coordinators();
  afterEach(() => coordinators.closeAll());

  const fetchOne = async (
    groups: Awaited<ReturnType<Coordinators['start']>>,
    partitions: number[],
    groupId = GROUP,
    topic = 't',
  ) => {
    const fetched = await groups.fetchOffsets({ groupId, topics: [{ topic, partitions }] });
    expect(fetched.errorCode).toBe(KafkaErrorCode.NONE);
    return fetched.topics[0]!.partitions.map((p) => [p.partition, p.offset, p.metadata, p.errorCode]);
  };

  /** Every record value in one partition of the offsets topic, decoded. */
  async function storedValues(engine: MemoryEngine, partition = 0) {
    const fetched = await engine.fetch({
      partitions: [{ topic: OFFSETS_TOPIC, partition, offset: 0 as Offset, maxBytes: 1 << 20 }],
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
    });
    return decodeRecordSet(fetched.partitions[0]!.records).map((r) => ({
      timestampMs: r.timestampMs,
      value: decodeOffsetValue(r.value!),
    }));
  }

  it('keeps commits durable: a new coordinator on the same engine reads the latest of each back', async () => {
    const engine = new MemoryEngine();
    const first = await coordinators.start(engine);
    const committed = await first.commitOffsets(
      commitRequest(-1, '', [
        { partition: 0, offset: 42, metadata: 'm' },
        { partition: 3, offset: 7, metadata: null },
        { topic: 'u', partition: 1, offset: 9, metadata: '' },
      ]),
    );
    expect(codesOf(committed)).toEqual([KafkaErrorCode.NONE, KafkaErrorCode.NONE, KafkaErrorCode.NONE]);
    await first.commitOffsets(commitRequest(-1, '', [{ partition: 0, offset: 50, metadata: 'later' }]));
    await first.close();

    const second = await coordinators.start(engine);
    expect(await fetchOne(second, [0, 1, 3])).toEqual([
      [0, 50, 'later', KafkaErrorCode.NONE],
      [1, -1, '', KafkaErrorCode.NONE],
      [3, 7, null, KafkaErrorCode.NONE],
    ]);
    const everything = await second.fetchOffsets({ groupId: GROUP, topics: null });
    expect(everything.topics).toEqual([
      {
        topic: 't',
        partitions: [
          { partition: 0, offset: 50, metadata: 'later', errorCode: KafkaErrorCode.NONE },
          { partition: 3, offset: 7, metadata: null, errorCode: KafkaErrorCode.NONE },
        ],
      },
      { topic: 'u', partitions: [{ partition: 1, offset: 9, metadata: '', errorCode: KafkaErrorCode.NONE }] },
    ]);
    expect(second.listGroups()).toEqual([{ groupId: GROUP, protocolType: 'consumer' }]);
    expect(second.describeGroup(GROUP)).toMatchObject({ state: 'Empty', members: [] });
  });

  it('answers offset -1 with no error for every partition of a group that never committed', async () => {
    const groups = await coordinators.start();
    expect(await fetchOne(groups, [0, 5], 'never')).toEqual([
      [0, -1, '', KafkaErrorCode.NONE],
      [5, -1, '', KafkaErrorCode.NONE],
    ]);
    expect((await groups.fetchOffsets({ groupId: 'never', topics: null })).topics).toEqual([]);
  });

  it('given an offsets topic made before compaction, when the coordinator opens, then it becomes compacted', async () => {
    const engine = new MemoryEngine();
    await engine.createTopic(OFFSETS_TOPIC, 1, { retentionMs: -1 });
    expect(engine.describeTopic(OFFSETS_TOPIC)?.config.cleanupPolicy).toBe('delete');
    await coordinators.start(engine);
    expect(engine.describeTopic(OFFSETS_TOPIC)?.config.cleanupPolicy).toBe('compact');
  });

  it('creates the offsets topic once, compacted, with unlimited retention, and keeps its partition count on reopen', async () => {
    const engine = new MemoryEngine();
    const first = await coordinators.start(engine, { offsetsPartitions: 3 });
    const topic = engine.describeTopic(OFFSETS_TOPIC);
    expect(topic?.partitionCount).toBe(3);
    expect(topic?.config.cleanupPolicy).toBe('compact');
    expect(topic?.config.retentionMs).toBe(-1);
    expect(topic?.config.retentionBytes).toBe(-1);
    const groupIds = Array.from({ length: 12 }, (_, i) => `group-${i}`);
    for (const [i, groupId] of groupIds.entries())
      await first.commitOffsets(commitRequest(-1, '', [{ partition: 0, offset: 100 + i }], groupId));
    // The groups spread over the partitions.
    const partitions = await engine.describePartitions(OFFSETS_TOPIC);
    expect(partitions?.filter((p) => p.logEndOffset > 0).length).toBeGreaterThan(1);

    const second = await coordinators.start(engine, { offsetsPartitions: 5 });
    expect(engine.describeTopic(OFFSETS_TOPIC)?.partitionCount).toBe(3);
    for (const [i, groupId] of groupIds.entries())
      expect((await fetchOne(second, [0], groupId))[0]?.[1]).toBe(100 + i);
  });

  it('given a produce that fails, the commit answers its error and is not visible, then or after a restart', async () => {
    const engine = new FaultyEngine();
    const groups = await coordinators.start(engine);
    await groups.commitOffsets(commitRequest(-1, '', [{ partition: 0, offset: 5 }]));
    engine.failProduceWith = KafkaErrorCode.KAFKA_STORAGE_ERROR;
    const failed = await groups.commitOffsets(
      commitRequest(-1, '', [
        { partition: 0, offset: 6 },
        { partition: 1, offset: 1 },
      ]),
    );
    expect(codesOf(failed)).toEqual([KafkaErrorCode.KAFKA_STORAGE_ERROR, KafkaErrorCode.KAFKA_STORAGE_ERROR]);
    expect(await fetchOne(groups, [0, 1])).toEqual([
      [0, 5, null, KafkaErrorCode.NONE],
      [1, -1, '', KafkaErrorCode.NONE],
    ]);
    engine.failProduceWith = null;
    const reopened = await coordinators.start(engine);
    expect((await fetchOne(reopened, [0]))[0]?.[1]).toBe(5);
  });

  it('answers a commit only once its produce is done, and shows it only then', async () => {
    const engine = new GatedEngine();
    const groups = await coordinators.start(engine);
    engine.hold = true;
    const commit = groups.commitOffsets(commitRequest(-1, '', [{ partition: 0, offset: 3 }]));
    expect(await settledWithin(commit, 30)).toBe('pending');
    expect((await fetchOne(groups, [0]))[0]?.[1]).toBe(-1);
    engine.release();
    expect(codesOf(await commit)).toEqual([KafkaErrorCode.NONE]);
    expect((await fetchOne(groups, [0]))[0]?.[1]).toBe(3);
  });

  it('given two commits of one partition answered out of order, the one later in the log wins', async () => {
    const engine = new GatedEngine();
    const groups = await coordinators.start(engine);
    engine.hold = true;
    const earlier = groups.commitOffsets(commitRequest(-1, '', [{ partition: 0, offset: 10 }]));
    engine.hold = false;
    const later = groups.commitOffsets(commitRequest(-1, '', [{ partition: 0, offset: 20 }]));
    expect(codesOf(await later)).toEqual([KafkaErrorCode.NONE]);
    engine.release();
    expect(codesOf(await earlier)).toEqual([KafkaErrorCode.NONE]);
    expect((await fetchOne(groups, [0]))[0]?.[1]).toBe(20);
    expect((await fetchOne(await coordinators.start(engine), [0]))[0]?.[1]).toBe(20);
  });

  it('refuses commits from a stale generation, an unknown member, or a simple consumer while the group has members', async () => {
    const groups = await coordinators.start();
    const a = await groups.joinGroup(joinRequest(''));
    const commit = async (generationId: number, memberId: string) =>
      codesOf(
        await groups.commitOffsets(commitRequest(generationId, memberId, [{ partition: 0, offset: 1 }])),
      )[0];
    expect(await commit(a.generationId - 1, a.memberId)).toBe(KafkaErrorCode.ILLEGAL_GENERATION);
    expect(await commit(-1, a.memberId)).toBe(KafkaErrorCode.ILLEGAL_GENERATION);
    expect(await commit(a.generationId, 'nobody')).toBe(KafkaErrorCode.UNKNOWN_MEMBER_ID);
    expect(await commit(-1, '')).toBe(KafkaErrorCode.UNKNOWN_MEMBER_ID);
    expect(await commit(1, 'somebody')).toBe(KafkaErrorCode.UNKNOWN_MEMBER_ID);
    // Between the join and the leader's sync the rebalance is completing: the member must sync first.
    expect(await commit(a.generationId, a.memberId)).toBe(KafkaErrorCode.REBALANCE_IN_PROGRESS);
    await groups.syncGroup({
      groupId: GROUP,
      generationId: a.generationId,
      memberId: a.memberId,
      assignments: [],
    });
    expect(await commit(a.generationId, a.memberId)).toBe(KafkaErrorCode.NONE);
    expect((await fetchOne(groups, [0]))[0]?.[1]).toBe(1);
    // Nothing refused was stored.
    expect((await groups.fetchOffsets({ groupId: GROUP, topics: null })).topics).toHaveLength(1);
  });

  it('accepts a member commit while a rebalance is being prepared, as Kafka does', async () => {
    const groups = await coordinators.start();
    const a = await stableLoneMember(groups);
    const late = groups.joinGroup(joinRequest(''));
    expect(groups.describeGroup(GROUP).state).toBe('PreparingRebalance');
    const result = await groups.commitOffsets(
      commitRequest(a.generationId, a.memberId, [{ partition: 2, offset: 8 }]),
    );
    expect(codesOf(result)).toEqual([KafkaErrorCode.NONE]);
    await groups.joinGroup(joinRequest(a.memberId));
    await late;
  });

  it('accepts commits from a consumer outside any group when nobody is in it, and after everyone left', async () => {
    const groups = await coordinators.start();
    expect(codesOf(await groups.commitOffsets(commitRequest(-1, '', [{ partition: 0, offset: 1 }])))).toEqual(
      [KafkaErrorCode.NONE],
    );
    const a = await stableLoneMember(groups);
    expect(await groups.leaveGroup(GROUP, a.memberId)).toBe(KafkaErrorCode.NONE);
    expect(codesOf(await groups.commitOffsets(commitRequest(-1, '', [{ partition: 0, offset: 2 }])))).toEqual(
      [KafkaErrorCode.NONE],
    );
    expect((await fetchOne(groups, [0]))[0]?.[1]).toBe(2);
  });

  it('refuses only the partitions whose metadata is too large or whose topic name does not fit a key', async () => {
    const groups = await coordinators.start();
    const result = await groups.commitOffsets(
      commitRequest(-1, '', [
        { partition: 0, offset: 1, metadata: 'x'.repeat(OFFSET_METADATA_BYTES_MAX + 1) },
        { partition: 1, offset: 2, metadata: 'x'.repeat(OFFSET_METADATA_BYTES_MAX) },
        { topic: 'y'.repeat(OFFSET_KEY_STRING_BYTES_MAX + 1), partition: 0, offset: 3 },
      ]),
    );
    expect(codesOf(result)).toEqual([
      KafkaErrorCode.OFFSET_METADATA_TOO_LARGE,
      KafkaErrorCode.NONE,
      KafkaErrorCode.INVALID_TOPIC_EXCEPTION,
    ]);
    expect((await fetchOne(groups, [0, 1])).map((p) => p[1])).toEqual([-1, 2]);
    const longGroup = 'g'.repeat(OFFSET_KEY_STRING_BYTES_MAX + 1);
    expect(
      codesOf(await groups.commitOffsets(commitRequest(-1, '', [{ partition: 0, offset: 1 }], longGroup))),
    ).toEqual([KafkaErrorCode.INVALID_GROUP_ID]);
  });

  it('stamps each commit with the injected clock, in the record and in its batch', async () => {
    const engine = new MemoryEngine();
    let nowMs = 1_700_000_000_000;
    const groups = await coordinators.start(engine, { nowMs: () => nowMs });
    await groups.commitOffsets(commitRequest(-1, '', [{ partition: 0, offset: 1, metadata: 'a' }]));
    nowMs += 5000;
    await groups.commitOffsets(commitRequest(-1, '', [{ partition: 0, offset: 2 }]));
    expect(await storedValues(engine)).toEqual([
      {
        timestampMs: 1_700_000_000_000,
        value: { offset: 1, commitTimeMs: 1_700_000_000_000, metadata: 'a' },
      },
      {
        timestampMs: 1_700_000_005_000,
        value: { offset: 2, commitTimeMs: 1_700_000_005_000, metadata: null },
      },
    ]);
  });

  it('reads back a large offsets log over many fetches, skipping records it does not understand and honouring tombstones', async () => {
    const engine = new MemoryEngine();
    await coordinators.start(engine);
    // 24 batches of 1,000 records, over 1 MiB in all: more than one load fetch.
    let totalBytes = 0;
    for (let batch = 0; batch < 24; batch++) {
      const records = Array.from({ length: 1000 }, (_, i) => ({
        key: encodeOffsetKey({ groupId: `g${i % 50}`, topic: 'big', partition: i }),
        value: encodeOffsetValue({ offset: batch * 1000 + i, commitTimeMs: 1, metadata: 'm'.repeat(20) }),
      }));
      const bytes = buildRecordBatch(records);
      totalBytes += bytes.length;
      expect((await engine.produce(OFFSETS_TOPIC, 0, bytes, -1)).errorCode).toBe(KafkaErrorCode.NONE);
    }
    expect(totalBytes).toBeGreaterThan(1 << 20);
    const junk = [
      { key: null, value: encodeOffsetValue({ offset: 1, commitTimeMs: 1, metadata: null }) },
      { key: Uint8Array.of(0, 9, 1, 2), value: Uint8Array.of(0, 9) },
      // A key without a value is a tombstone (a deleted group leaves these): the offset it names goes.
      { key: encodeOffsetKey({ groupId: 'g0', topic: 'big', partition: 0 }), value: null },
    ];
    await engine.produce(OFFSETS_TOPIC, 0, buildRecordBatch(junk), -1);
    const reopened = await coordinators.start(engine);
    const fetched = await reopened.fetchOffsets({
      groupId: 'g0',
      topics: [{ topic: 'big', partitions: [0, 950] }],
    });
    expect(fetched.topics[0]?.partitions.map((p) => p.offset)).toEqual([-1, 23_950]);
    expect(reopened.listGroups()).toHaveLength(50);
  });

  it('fails to open with a typed error when the offsets topic cannot be created', async () => {
    const engine = new MemoryEngine();
    engine.createTopic = async () => KafkaErrorCode.INVALID_CONFIG;
    const opening = coordinators.start(engine);
    await expect(opening).rejects.toBeInstanceOf(PyralogError);
    await expect(opening).rejects.toMatchObject({ kafkaCode: KafkaErrorCode.INVALID_CONFIG });
  });

  it('answers COORDINATOR_NOT_AVAILABLE to commits and fetches once closed', async () => {
    const groups = await coordinators.start();
    await groups.close();
    expect(codesOf(await groups.commitOffsets(commitRequest(-1, '', [{ partition: 0, offset: 1 }])))).toEqual(
      [KafkaErrorCode.COORDINATOR_NOT_AVAILABLE],
    );
    expect((await groups.fetchOffsets({ groupId: GROUP, topics: null })).errorCode).toBe(
      KafkaErrorCode.COORDINATOR_NOT_AVAILABLE,
    );
  });
});
