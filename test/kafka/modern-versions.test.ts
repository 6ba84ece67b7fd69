import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import type { KafkaApi } from '../../src/protocol/kafka/api.js';
import { createTopics } from '../../src/protocol/kafka/create-topics.js';
import { deleteTopics } from '../../src/protocol/kafka/delete-topics.js';
import { describeGroups } from '../../src/protocol/kafka/describe-groups.js';
import { findCoordinator } from '../../src/protocol/kafka/find-coordinator.js';
import { listGroups } from '../../src/protocol/kafka/list-groups.js';
import { listOffsets } from '../../src/protocol/kafka/list-offsets.js';
import { messageCodec } from '../../src/protocol/kafka/message/message-codec.js';
import { metadata } from '../../src/protocol/kafka/metadata.js';
import { offsetCommit } from '../../src/protocol/kafka/offset-commit.js';
import { offsetFetch } from '../../src/protocol/kafka/offset-fetch.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { type KafkaFixture, startKafkaFixture } from '../support/kafka-fixture.js';
import { KafkaWire } from '../support/kafka-wire.js';

/**
 * The newest served versions of each API through a real listener on
 * 127.0.0.1: requests are encoded with the request description (as a client
 * would), sent with request header v2 when flexible, and the responses read
 * with response header v1 and decoded with the response description. Each
 * test checks what the version brings.
 */
type Fields = Record<string, unknown>;

async function call<Q, R>(
  fixture: KafkaFixture,
  api: KafkaApi<Q, R>,
  version: number,
  body: Fields,
): Promise<Fields> {
  const messages = api.messages;
  const flexible = version >= api.firstFlexibleVersion;
  const wire = await KafkaWire.open(fixture.listener.port);
  try {
    wire.request(api.apiKey, version, 1, (w) => {
      if (flexible) w.uvarint(0);
      messageCodec<Fields>(messages.request).encode(w, body, version);
    });
    const answer = await wire.next();
    if (answer === null) throw new Error(`${api.name} v${version}: connection closed`);
    if (flexible) answer.reader.taggedFields(null);
    const decoded = messageCodec<Fields>(messages.response).decode(answer.reader, version);
    expect(answer.reader.remaining()).toBe(0);
    return decoded;
  } finally {
    wire.close();
  }
}

describe('modern Kafka versions through the listener', () => {
  let fixture: KafkaFixture;
  beforeAll(async () => {
    fixture = await startKafkaFixture({ defaultPartitions: 3 });
    await fixture.engine.createTopic('events', 2);
  });
  afterAll(() => fixture.close());

  it('CreateTopics v7: -1 partitions and replication take the broker defaults; the answer has id, counts and configs', async () => {
    const response = await call(fixture, createTopics, 7, {
      topics: [{ name: 'defaults', numPartitions: -1, replicationFactor: -1, assignments: [], configs: [] }],
      timeoutMs: 1000,
    });
    const [topic] = response.topics as Fields[];
    expect(topic).toMatchObject({ name: 'defaults', errorCode: 0, numPartitions: 3, replicationFactor: 1 });
    expect((topic!.topicId as Uint8Array).some((byte) => byte !== 0)).toBe(true);
    const configs = topic!.configs as Fields[];
    expect(configs.find((entry) => entry.name === 'cleanup.policy')).toBeDefined();
  });

  it('Metadata v12: topic ids, a topic asked for by id alone, an unknown id, authorized operations not requested', async () => {
    const all = await call(fixture, metadata, 12, { topics: null, allowAutoTopicCreation: false });
    const events = (all.topics as Fields[]).find((topic) => topic.name === 'events')!;
    expect(events.topicAuthorizedOperations).toBe(-2147483648);
    expect((events.partitions as Fields[]).map((p) => p.leaderEpoch)).toEqual([-1, -1]);
    const byId = await call(fixture, metadata, 12, {
      topics: [
        { topicId: events.topicId, name: null },
        { topicId: Uint8Array.from({ length: 16 }, () => 7), name: null },
      ],
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: true,
    });
    const [found, unknown] = byId.topics as Fields[];
    expect(found).toMatchObject({ name: 'events', errorCode: 0, topicId: events.topicId });
    expect(found!.topicAuthorizedOperations).not.toBe(-2147483648);
    expect(unknown).toMatchObject({ name: null, errorCode: KafkaErrorCode.UNKNOWN_TOPIC_ID });
  });

  it('Metadata v10-11: a topic asked for by an unknown id alone is answered with an empty name (names are not nullable there)', async () => {
    for (const version of [10, 11]) {
      const response = await call(fixture, metadata, version, {
        topics: [{ topicId: Uint8Array.from({ length: 16 }, () => 7), name: null }],
        allowAutoTopicCreation: false,
      });
      expect(response.topics).toMatchObject([{ name: '', errorCode: KafkaErrorCode.UNKNOWN_TOPIC_ID }]);
    }
  });

  it('ListOffsets v7: earliest, latest and max timestamp (-3)', async () => {
    for (const timestampMs of [1000, 5000, 3000]) {
      const batch = buildRecordBatch([{ key: null, value: Uint8Array.of(1), timestampMs }]);
      await fixture.engine.produce('events', 0, batch, 1);
    }
    const response = await call(fixture, listOffsets, 7, {
      replicaId: -1,
      topics: [
        {
          name: 'events',
          partitions: [
            { partitionIndex: 0, timestampMs: -2 },
            { partitionIndex: 0, timestampMs: -1 },
            { partitionIndex: 0, timestampMs: -3 },
          ],
        },
      ],
    });
    const partitions = (response.topics as Fields[])[0]!.partitions as Fields[];
    expect(partitions.map((p) => p.offset)).toEqual([0, 3, 1]);
    expect(partitions[2]!.timestampMs).toBe(5000);
  });

  it('OffsetCommit v8 answers UNKNOWN_TOPIC_OR_PARTITION for a missing topic or partition and commits the rest', async () => {
    const response = await call(fixture, offsetCommit, 8, {
      groupId: 'simple',
      generationId: -1,
      memberId: '',
      topics: [
        {
          topic: 'events',
          partitions: [
            { partition: 0, offset: 2, metadata: null },
            { partition: 9, offset: 1 },
          ],
        },
        { topic: 'no-such-topic', partitions: [{ partition: 0, offset: 1, metadata: '' }] },
      ],
    });
    expect(response.topics).toEqual([
      {
        topic: 'events',
        partitions: [
          { partition: 0, errorCode: 0 },
          { partition: 9, errorCode: KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION },
        ],
      },
      {
        topic: 'no-such-topic',
        partitions: [{ partition: 0, errorCode: KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION }],
      },
    ]);
  });

  it('OffsetFetch v8: several groups in one request, one with every committed partition (topics null)', async () => {
    const response = await call(fixture, offsetFetch, 8, {
      groups: [
        { groupId: 'simple', topics: null },
        { groupId: 'nobody', topics: [{ topic: 'events', partitions: [1] }] },
      ],
    });
    const [simple, nobody] = response.groups as Fields[];
    expect(simple).toMatchObject({
      groupId: 'simple',
      errorCode: 0,
      topics: [{ topic: 'events', partitions: [{ partition: 0, offset: 2, errorCode: 0 }] }],
    });
    expect(nobody).toMatchObject({
      groupId: 'nobody',
      topics: [{ topic: 'events', partitions: [{ partition: 1, offset: -1 }] }],
    });
  });

  it('FindCoordinator v4 answers each key; ListGroups v4 filters by state', async () => {
    const found = await call(fixture, findCoordinator, 4, { keyType: 0, coordinatorKeys: ['a', 'b'] });
    expect((found.coordinators as Fields[]).map((c) => [c.key, c.errorCode, c.nodeId])).toEqual([
      ['a', 0, fixture.config.nodeId],
      ['b', 0, fixture.config.nodeId],
    ]);
    const empty = await call(fixture, listGroups, 4, { statesFilter: ['Empty'] });
    expect(empty.groups).toContainEqual({ groupId: 'simple', protocolType: 'consumer', groupState: 'Empty' });
    const stable = await call(fixture, listGroups, 4, { statesFilter: ['Stable'] });
    expect(stable.groups).toEqual([]);
  });

  it('DescribeGroups v5: authorized operations only when asked for', async () => {
    const asked = await call(fixture, describeGroups, 5, {
      groups: ['simple'],
      includeAuthorizedOperations: true,
    });
    expect((asked.groups as Fields[])[0]).toMatchObject({ groupId: 'simple', authorizedOperations: 328 });
    const notAsked = await call(fixture, describeGroups, 5, { groups: ['simple'] });
    expect((notAsked.groups as Fields[])[0]).toMatchObject({ authorizedOperations: -2147483648 });
  });

  it('DeleteTopics v6 deletes by topic id and answers an unknown id UNKNOWN_TOPIC_ID', async () => {
    const all = await call(fixture, metadata, 12, { topics: null, allowAutoTopicCreation: false });
    const target = (all.topics as Fields[]).find((topic) => topic.name === 'defaults')!;
    const response = await call(fixture, deleteTopics, 6, {
      topics: [
        { name: null, topicId: target.topicId },
        { name: null, topicId: Uint8Array.from({ length: 16 }, () => 9) },
      ],
      timeoutMs: 1000,
    });
    expect(response.topics).toMatchObject([
      { name: 'defaults', errorCode: 0, topicId: target.topicId },
      { name: null, errorCode: KafkaErrorCode.UNKNOWN_TOPIC_ID },
    ]);
    expect(fixture.engine.describeTopic('defaults')).toBeUndefined();
  });
});
