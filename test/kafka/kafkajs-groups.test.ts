import { CompressionTypes, type Consumer, Kafka, logLevel } from 'kafkajs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type Broker, startBroker } from '../../src/server/broker.js';
import { testBrokerConfig } from '../support/engine-fixture.js';
import { makeTempDir } from '../support/temp-dir.js';

/**
 * A kafkajs consumer group against the real broker: three members over six
 * partitions, one joining and one leaving mid-stream, gzip batches from the
 * producer, every record consumed exactly once per group, and the group's
 * position kept across a broker restart.
 */
describe('kafkajs consumer group on the real broker', () => {
  let broker: Broker | null = null;
  const temp = makeTempDir('kafkajs-group');
  afterEach(async () => {
    await broker?.stop();
    broker = null;
  });
  afterAll(() => temp.cleanup());

  it('rebalances on join and leave, consumes every record exactly once, and resumes after a restart', async () => {
    broker = await startBroker(testBrokerConfig(temp.dir), { http: false });
    const client = (port: number) =>
      new Kafka({
        clientId: 'group-test',
        brokers: [`127.0.0.1:${port}`],
        logLevel: logLevel.NOTHING,
        retry: { retries: 8, initialRetryTime: 100 },
      });
    let kafka = client(broker.kafkaPort);
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'jobs', numPartitions: 6 }] });
    await admin.disconnect();
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const total = 600;
    for (let i = 0; i < total; i += 50) {
      await producer.send({
        topic: 'jobs',
        acks: -1,
        compression: CompressionTypes.GZIP,
        messages: Array.from({ length: 50 }, (_, j) => ({ key: `job-${i + j}`, value: `job-${i + j}` })),
      });
    }

    const deliveries = new Map<string, number>();
    const consumers: Consumer[] = [];
    const startMember = async (): Promise<Consumer> => {
      const consumer = kafka.consumer({
        groupId: 'workers',
        sessionTimeout: 6000,
        heartbeatInterval: 300,
        rebalanceTimeout: 5000,
      });
      await consumer.connect();
      await consumer.subscribe({ topic: 'jobs', fromBeginning: true });
      await consumer.run({
        autoCommitThreshold: 1,
        eachMessage: async ({ message }) => {
          const value = message.value?.toString() ?? '';
          deliveries.set(value, (deliveries.get(value) ?? 0) + 1);
          // Slow enough that the joins and leaves below land mid-stream.
          await new Promise((resolve) => setTimeout(resolve, 2));
        },
      });
      consumers.push(consumer);
      return consumer;
    };
    const waitFor = async (count: number, timeoutMs: number) => {
      const deadline = Date.now() + timeoutMs;
      while (deliveries.size < count && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 50));
      expect(deliveries.size, `deliveries after waiting for ${count}`).toBeGreaterThanOrEqual(count);
    };
    const first = await startMember();
    await startMember();
    await waitFor(150, 20_000);
    await startMember();
    await waitFor(350, 20_000);
    await first.disconnect(); // leaves the group: the others take its partitions over
    await waitFor(total, 30_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    for (const consumer of consumers) await consumer.disconnect().catch(() => undefined);
    const duplicates = [...deliveries].filter(([, count]) => count > 1);
    expect(duplicates).toEqual([]);
    expect(deliveries.size).toBe(total);
    await producer.disconnect();

    // Restart the broker: the group resumes where it committed, seeing only new records.
    await broker.stop();
    broker = await startBroker(testBrokerConfig(temp.dir), { http: false });
    kafka = client(broker.kafkaPort);
    const lateProducer = kafka.producer();
    await lateProducer.connect();
    await lateProducer.send({
      topic: 'jobs',
      acks: -1,
      messages: Array.from({ length: 12 }, (_, i) => ({ key: `late-${i}`, value: `late-${i}` })),
    });
    await lateProducer.disconnect();
    const resumed: string[] = [];
    const consumer = kafka.consumer({ groupId: 'workers', sessionTimeout: 6000, heartbeatInterval: 300 });
    await consumer.connect();
    await consumer.subscribe({ topic: 'jobs', fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => void resumed.push(message.value?.toString() ?? ''),
    });
    const deadline = Date.now() + 20_000;
    while (resumed.length < 12 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 50));
    await new Promise((resolve) => setTimeout(resolve, 300));
    await consumer.disconnect();
    expect(resumed.sort()).toEqual(Array.from({ length: 12 }, (_, i) => `late-${i}`).sort());
  }, 120_000);
});
