import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KafkaFixture, startKafkaFixture } from '../support/kafka-fixture.js';

/**
 * kafkajs 2.2.4, unchanged, against the Kafka listener: admin, producers
 * (acks 1 and -1, idempotent), a consumer group reading what was produced,
 * and committed offsets.
 */
describe('kafkajs against the Kafka listener', () => {
  let fixture: KafkaFixture;
  let kafka: Kafka;

  beforeAll(async () => {
    fixture = await startKafkaFixture();
    kafka = new Kafka({
      clientId: 'pyralog-test',
      brokers: [`127.0.0.1:${fixture.listener.port}`],
      logLevel: logLevel.NOTHING,
      retry: { retries: 3, initialRetryTime: 50 },
    });
  });

  afterAll(async () => {
    await fixture.close();
  });

  it('creates, lists and deletes topics with the admin client', async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      expect(await admin.createTopics({ topics: [{ topic: 'admin-topic', numPartitions: 3 }] })).toBe(true);
      expect(await admin.listTopics()).toContain('admin-topic');
      const metadata = await admin.fetchTopicMetadata({ topics: ['admin-topic'] });
      expect(metadata.topics[0]?.partitions).toHaveLength(3);
      await admin.deleteTopics({ topics: ['admin-topic'] });
      expect(await admin.listTopics()).not.toContain('admin-topic');
    } finally {
      await admin.disconnect();
    }
  });

  it('produces with acks 1 and -1 and an idempotent producer, and reads everything back with a consumer group', async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'orders', numPartitions: 2 }] });
    await admin.disconnect();

    const plain = kafka.producer();
    const idempotent = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await plain.connect();
    await idempotent.connect();
    const sent: string[] = [];
    for (let i = 0; i < 10; i++) {
      const value = `order-${i}`;
      sent.push(value);
      await plain.send({
        topic: 'orders',
        acks: i % 2 === 0 ? 1 : -1,
        messages: [{ key: `k${i}`, value, partition: i % 2 }],
      });
    }
    for (let i = 10; i < 20; i++) {
      const value = `order-${i}`;
      sent.push(value);
      await idempotent.send({
        topic: 'orders',
        acks: -1,
        messages: [{ key: `k${i}`, value, partition: i % 2 }],
      });
    }
    await plain.disconnect();
    await idempotent.disconnect();

    const consumer = kafka.consumer({ groupId: 'readers', sessionTimeout: 6000, heartbeatInterval: 500 });
    await consumer.connect();
    await consumer.subscribe({ topic: 'orders', fromBeginning: true });
    const received: string[] = [];
    const allReceived = new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) => {
          received.push(message.value?.toString() ?? '');
          if (received.length === sent.length) resolve();
        },
      });
    });
    await Promise.race([
      allReceived,
      new Promise((_, reject) => setTimeout(() => reject(new Error('timed out')), 20_000)),
    ]);
    await consumer.disconnect();
    expect([...received].sort()).toEqual([...sent].sort());

    const offsetsAdmin = kafka.admin();
    await offsetsAdmin.connect();
    const committed = await offsetsAdmin.fetchOffsets({ groupId: 'readers', topics: ['orders'] });
    await offsetsAdmin.disconnect();
    const total = committed[0]!.partitions.reduce((sum, p) => sum + Number(p.offset), 0);
    expect(total).toBe(sent.length);
  }, 40_000);
});
