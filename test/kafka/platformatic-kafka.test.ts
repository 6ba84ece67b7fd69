import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RegisteredApi } from '../../src/protocol/kafka/api.js';
import { kafkaApis } from '../../src/protocol/kafka/api-registry.js';
import { type KafkaFixture, startKafkaFixture } from '../support/kafka-fixture.js';

/**
 * @platformatic/kafka 2.12.1, a client that implements Kafka's newest
 * versions (Produce up to 11, Fetch up to 17, Metadata 12, ...) and picks the
 * highest version both sides know: against this broker (checked below, by
 * wrapping each API's run) Produce 9, Fetch 12, Metadata 12, ListOffsets 7,
 * OffsetCommit 8, OffsetFetch 8, JoinGroup 9, SyncGroup 5, LeaveGroup 4,
 * FindCoordinator 4, CreateTopics 7, DeleteTopics 6, ListGroups 4 and
 * ApiVersions 3: the flexible versions from a real client. It declares Node 22; on Node 20 it needs
 * Promise.withResolvers, given here.
 */
type Resolvers = {
  promise: Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (reason: unknown) => void;
};
const promiseWithResolvers = Promise as unknown as { withResolvers?: () => Resolvers };
promiseWithResolvers.withResolvers ??= () => {
  let resolve: Resolvers['resolve'] = () => {};
  let reject: Resolvers['reject'] = () => {};
  const promise = new Promise((resolveWith, rejectWith) => {
    resolve = resolveWith;
    reject = rejectWith;
  });
  return { promise, resolve, reject };
};

describe('@platformatic/kafka 2.12.1 (newest versions)', () => {
  let fixture: KafkaFixture;
  /** "Name vN" of every request the listener handled, seen by wrapping each API's run. */
  const seen = new Set<string>();
  const originals = new Map<RegisteredApi, RegisteredApi['run']>();
  beforeAll(async () => {
    for (const api of kafkaApis) {
      const run = api.run;
      originals.set(api, run);
      api.run = (reader, context) => {
        seen.add(`${api.name} v${context.apiVersion}`);
        return run(reader, context);
      };
    }
    fixture = await startKafkaFixture();
  });
  afterAll(async () => {
    for (const [api, run] of originals) api.run = run;
    await fixture.close();
  });

  it('creates a topic, produces, consumes in a group with commits, lists groups and offsets, deletes the topic', async () => {
    const { Admin, Consumer, Producer, stringDeserializers, stringSerializers } = await import(
      '@platformatic/kafka'
    );
    const bootstrapBrokers = [`127.0.0.1:${fixture.listener.port}`];
    const admin = new Admin({ clientId: 'admin', bootstrapBrokers });
    try {
      const [created] = await admin.createTopics({ topics: ['modern'], partitions: 2, replicas: 1 });
      expect(created).toMatchObject({ name: 'modern', partitions: 2, replicas: 1 });
      expect(created!.configuration['cleanup.policy']).toBe('delete');

      const producer = new Producer({
        clientId: 'producer',
        bootstrapBrokers,
        serializers: stringSerializers,
      });
      const sent = await producer.send({
        messages: [
          { topic: 'modern', key: 'a', value: 'one', partition: 0 },
          { topic: 'modern', key: 'b', value: 'two', partition: 1 },
          { topic: 'modern', key: 'c', value: 'three', partition: 1 },
        ],
      });
      expect(sent.offsets?.map((entry) => [entry.partition, Number(entry.offset)])).toEqual([
        [0, 0],
        [1, 0],
      ]);
      await producer.close();

      const consumer = new Consumer({
        groupId: 'modern-group',
        clientId: 'consumer',
        bootstrapBrokers,
        deserializers: stringDeserializers,
        maxWaitTime: 200,
      });
      const stream = await consumer.consume({ topics: ['modern'], mode: 'earliest', autocommit: true });
      const values: string[] = [];
      // Bounded: a stream that never delivers is closed after 20 s, which ends the loop short.
      const timer = setTimeout(() => stream.close().catch(() => undefined), 20_000);
      for await (const message of stream) {
        values.push(message.value);
        if (values.length === 3) break;
      }
      clearTimeout(timer);
      expect(values.sort()).toEqual(['one', 'three', 'two']);
      await stream.close();
      await consumer.close();

      const groups = await admin.listGroups();
      expect(groups.get('modern-group')).toMatchObject({ state: 'Empty', protocolType: 'consumer' });
      const [offsets] = await admin.listConsumerGroupOffsets({ groups: ['modern-group'] });
      const committed = offsets!.topics[0]!.partitions.map((p) => [
        p.partitionIndex,
        Number(p.committedOffset),
      ]);
      expect(committed.sort()).toEqual([
        [0, 1],
        [1, 2],
      ]);

      await admin.deleteTopics({ topics: ['modern'] });
      expect(fixture.engine.describeTopic('modern')).toBeUndefined();
      // The versions it chose: the newest this broker serves.
      for (const used of [
        'ApiVersions v3',
        'Metadata v12',
        'CreateTopics v7',
        'Produce v9',
        'FindCoordinator v4',
        'JoinGroup v9',
        'SyncGroup v5',
        'OffsetFetch v8',
        'Fetch v12',
        'OffsetCommit v8',
        'ListGroups v4',
        'LeaveGroup v4',
        'ListOffsets v7',
        'DeleteTopics v6',
      ]) {
        expect([...seen].sort()).toContain(used);
      }
    } finally {
      await admin.close();
    }
  }, 60_000);
});
