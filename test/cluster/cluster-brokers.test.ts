import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import { ApiKey } from '../../src/protocol/kafka/api.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import type { Broker } from '../../src/server/broker.js';
import { type BrokerCluster, eventually, startBrokerCluster } from '../support/broker-cluster.js';
import { etcdAvailable } from '../support/etcd.js';
import { KafkaWire } from '../support/kafka-wire.js';
import { runCommand } from '../support/run-command.js';

/**
 * Three real brokers (in this process, each with its shard worker) joined through a real etcd: metadata,
 * topic creation through CreateTopics, redirects to the leader, failover of leadership in metadata. The data
 * path between brokers (followers fetching) is not part of this test.
 */

const text = new TextEncoder();

describe.skipIf(!etcdAvailable)('three brokers joined through etcd', () => {
  let cluster: BrokerCluster | undefined;
  /** The cluster's live brokers; a test that stops one removes it. */
  let brokers = new Map<number, Broker>();

  beforeAll(async () => {
    cluster = await startBrokerCluster({ name: 'e2e' });
    brokers = cluster.brokers;
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  function kafka(port: number): Kafka {
    return new Kafka({
      clientId: 'cluster-e2e',
      brokers: [`127.0.0.1:${port}`],
      logLevel: logLevel.NOTHING,
      retry: { retries: 8, initialRetryTime: 100 },
    });
  }

  it('given CreateTopics with replication factor 3, should place three replicas and show them in Metadata from any broker', async () => {
    const admin = kafka(brokers.get(2)!.kafkaPort).admin();
    await admin.connect();
    try {
      expect(
        await admin.createTopics({
          topics: [{ topic: 'replicated', numPartitions: 3, replicationFactor: 3 }],
        }),
      ).toBe(true);
      const cluster = await admin.describeCluster();
      expect(cluster.brokers.map((broker) => broker.nodeId).sort()).toEqual([1, 2, 3]);
      expect([1, 2, 3]).toContain(cluster.controller);
      await eventually(
        () => [1, 2, 3].every((id) => brokers.get(id)!.cluster!.topic('replicated') !== undefined),
        5000,
        'every broker sees the topic',
      );
      const metadata = await admin.fetchTopicMetadata({ topics: ['replicated'] });
      const partitions = metadata.topics[0]!.partitions;
      expect(partitions).toHaveLength(3);
      for (const partition of partitions) {
        expect([...partition.replicas].sort()).toEqual([1, 2, 3]);
        expect([...partition.isr].sort()).toEqual([1, 2, 3]);
        expect(partition.leader).toBe(partition.replicas[0]);
      }
      expect(new Set(partitions.map((partition) => partition.leader)).size).toBe(3);
      const tooWide = await admin
        .createTopics({ topics: [{ topic: 'too-wide', numPartitions: 1, replicationFactor: 4 }] })
        .catch((error: unknown) => error);
      expect((tooWide as { errors?: { type: string }[] }).errors?.[0]?.type).toBe(
        'INVALID_REPLICATION_FACTOR',
      );
    } finally {
      await admin.disconnect();
    }
  });

  it('given kcat pointed at one broker, should list all three brokers', async () => {
    const listing = await runCommand(
      'kcat',
      ['-b', `127.0.0.1:${brokers.get(1)!.kafkaPort}`, '-L'],
      undefined,
      20_000,
    );
    expect(listing).toMatch(/3 brokers:/);
    for (const id of [1, 2, 3])
      expect(listing).toContain(`broker ${id} at 127.0.0.1:${brokers.get(id)!.kafkaPort}`);
  });

  it('given a produce to a broker that does not lead the partition, should answer NOT_LEADER_OR_FOLLOWER, and the leader should take it', async () => {
    await eventually(() => brokers.get(1)!.cluster!.topic('replicated') !== undefined, 5000, 'topic known');
    const topic = brokers.get(1)!.cluster!.topic('replicated')!;
    const state = brokers.get(1)!.cluster!.partition(topic.topicId, 0)!;
    const produceTo = async (port: number): Promise<number> => {
      const wire = await KafkaWire.open(port);
      const batch = buildRecordBatch([{ key: null, value: text.encode('hello') }]);
      wire.request(ApiKey.PRODUCE, 7, 1, (w) => {
        w.nullableString(null).int16(1).int32(5000);
        w.int32(1).string('replicated').int32(1).int32(0).bytesField(batch);
      });
      const reader = (await wire.next())!.reader;
      wire.close();
      reader.int32();
      reader.string();
      reader.int32();
      reader.int32();
      return reader.int16();
    };
    const follower = state.replicas.find((id) => id !== state.leader)!;
    expect(await produceTo(brokers.get(follower)!.kafkaPort)).toBe(KafkaErrorCode.NOT_LEADER_OR_FOLLOWER);
    // The leader creates its local partitions when it is told its role; until then the produce is retriable.
    await eventually(
      async () => (await produceTo(brokers.get(state.leader)!.kafkaPort)) === KafkaErrorCode.NONE,
      10_000,
      'the leader appends',
    );
  });

  it('given kafkajs producing to the topic, should route every partition to its leader', async () => {
    const producer = kafka(brokers.get(3)!.kafkaPort).producer();
    await producer.connect();
    try {
      const results = await producer.send({
        topic: 'replicated',
        acks: 1,
        messages: [0, 1, 2].map((partition) => ({ partition, value: `to-${partition}` })),
      });
      expect(results.map((result) => result.errorCode)).toEqual([0, 0, 0]);
    } finally {
      await producer.disconnect();
    }
  });

  it('given acks=all on a topic with three replicas, should answer once the followers hold the records', async () => {
    const producer = kafka(brokers.get(1)!.kafkaPort).producer();
    await producer.connect();
    try {
      const results = await producer.send({
        topic: 'replicated',
        acks: -1,
        messages: [0, 1, 2].map((partition) => ({ partition, value: `all-${partition}` })),
      });
      expect(results.map((result) => result.errorCode)).toEqual([0, 0, 0]);
      const acked = new Map(results.map((result) => [result.partition, Number(result.baseOffset)]));
      // Every replica's log holds each acknowledged record (followers fetched it before the answer).
      for (const id of [1, 2, 3]) {
        const described = (await brokers.get(id)!.engine.describePartitions('replicated'))!;
        for (const partition of described) {
          expect(Number(partition.logEndOffset)).toBeGreaterThan(acked.get(partition.partition)!);
        }
      }
    } finally {
      await producer.disconnect();
    }
  });

  it('given a kafkajs consumer group, should read every partition from its leader', async () => {
    const consumer = kafka(brokers.get(2)!.kafkaPort).consumer({
      groupId: 'cluster-readers',
      maxWaitTimeInMs: 200,
    });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: 'replicated', fromBeginning: true });
      const seen = new Set<string>();
      await consumer.run({
        eachMessage: async ({ message }) => {
          seen.add(message.value?.toString() ?? '');
        },
      });
      await eventually(
        () => ['all-0', 'all-1', 'all-2'].every((value) => seen.has(value)),
        30_000,
        'every record',
      );
    } finally {
      await consumer.disconnect();
    }
  });

  it('given the leader of a partition stops, should show a new leader from the ISR and the broker gone in Metadata', async () => {
    const observer = brokers.get(1)!.cluster!;
    const topic = observer.topic('replicated')!;
    const led = [0, 1, 2].find((p) => observer.partition(topic.topicId, p)!.leader === 3)!;
    const epochBefore = observer.partition(topic.topicId, led)!.leaderEpoch;
    await brokers.get(3)!.stop();
    brokers.delete(3);
    await eventually(
      () => (observer.partition(topic.topicId, led)?.leaderEpoch ?? -1) > epochBefore,
      10_000,
      'a new leader after broker 3 stopped',
    );
    const admin = kafka(brokers.get(1)!.kafkaPort).admin();
    await admin.connect();
    try {
      const cluster = await admin.describeCluster();
      expect(cluster.brokers.map((broker) => broker.nodeId).sort()).toEqual([1, 2]);
      const metadata = await admin.fetchTopicMetadata({ topics: ['replicated'] });
      const partition = metadata.topics[0]!.partitions.find((p) => p.partitionId === led)!;
      expect([1, 2]).toContain(partition.leader);
      expect(partition.isr).not.toContain(3);
      expect(partition.offlineReplicas).toEqual([3]);
      const producer = kafka(brokers.get(1)!.kafkaPort).producer();
      await producer.connect();
      try {
        const [after] = await producer.send({
          topic: 'replicated',
          acks: -1,
          messages: [{ partition: led, value: 'after-failover' }],
        });
        expect(after!.errorCode).toBe(0);
        // Nothing acknowledged before the failover was lost: the new leader appended after it.
        expect(Number(after!.baseOffset)).toBeGreaterThanOrEqual(2);
      } finally {
        await producer.disconnect();
      }
    } finally {
      await admin.disconnect();
    }
  });
});
