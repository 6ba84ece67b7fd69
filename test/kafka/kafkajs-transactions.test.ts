import { type Consumer, Kafka, logLevel } from 'kafkajs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Offset } from '../../src/common/offset.js';
import { decodeRecordSet } from '../../src/record/batch-reader.js';
import { type Broker, startBroker } from '../../src/server/broker.js';
import { testBrokerConfig } from '../support/engine-fixture.js';
import { makeTempDir } from '../support/temp-dir.js';

/**
 * kafkajs transactions against the real broker: `producer.transaction()`
 * with sends to several partitions, `sendOffsets`, commit and abort, read by
 * a read_committed consumer (kafkajs' default isolation): committed
 * transactions appear whole, aborted ones never, and the offsets committed in
 * a transaction become the group's only when it commits. Then a
 * consume-transform-produce loop from A to B with a crash injected (a
 * transaction left open by a producer that dies, fenced by its successor):
 * each pass reads A from the group's committed offset, writes B and commits
 * the offsets in one transaction; B ends with every input exactly once.
 */
describe('kafkajs transactions on the real broker', () => {
  let broker: Broker | null = null;
  const temp = makeTempDir('kafkajs-txn');
  const consumers: Consumer[] = [];
  afterEach(async () => {
    for (const consumer of consumers.splice(0)) await consumer.disconnect();
    await broker?.stop();
    broker = null;
  });
  afterAll(() => temp.cleanup());

  const client = (port: number) =>
    new Kafka({
      clientId: 'txn-test',
      brokers: [`127.0.0.1:${port}`],
      logLevel: logLevel.NOTHING,
      retry: { retries: 10, initialRetryTime: 50 },
    });

  /** Every value a read_committed consumer of `topic` reads before `count` arrive or `timeoutMs` passes. */
  async function readCommitted(
    kafka: Kafka,
    topic: string,
    count: number,
    timeoutMs = 10_000,
  ): Promise<string[]> {
    const consumer = kafka.consumer({
      groupId: `reader-${topic}-${Date.now()}`,
      readUncommitted: false,
      maxWaitTimeInMs: 100,
    });
    consumers.push(consumer);
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const values: string[] = [];
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      void consumer.run({
        eachMessage: async ({ message }) => {
          values.push(message.value?.toString() ?? '');
          if (values.length >= count) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
    return values;
  }

  it('commits a transaction whole, hides an aborted one, and commits sendOffsets only with the transaction', async () => {
    broker = await startBroker(testBrokerConfig(temp.dir), { http: false });
    const kafka = client(broker.kafkaPort);
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [
        { topic: 'orders', numPartitions: 2 },
        { topic: 'source', numPartitions: 1 },
      ],
    });
    await admin.disconnect();
    const producer = kafka.producer({
      transactionalId: 'orders-tx',
      maxInFlightRequests: 1,
      idempotent: true,
    });
    await producer.connect();

    const committed = await producer.transaction();
    await committed.send({
      topic: 'orders',
      messages: [
        { value: 'c1', partition: 0 },
        { value: 'c2', partition: 1 },
      ],
    });
    await committed.sendOffsets({
      consumerGroupId: 'pipeline',
      topics: [{ topic: 'source', partitions: [{ partition: 0, offset: '5' }] }],
    });
    await committed.commit();

    const aborted = await producer.transaction();
    await aborted.send({
      topic: 'orders',
      messages: [
        { value: 'a1', partition: 0 },
        { value: 'a2', partition: 1 },
      ],
    });
    await aborted.sendOffsets({
      consumerGroupId: 'pipeline',
      topics: [{ topic: 'source', partitions: [{ partition: 0, offset: '9' }] }],
    });
    await aborted.abort();

    const last = await producer.transaction();
    await last.send({ topic: 'orders', messages: [{ value: 'c3', partition: 0 }] });
    await last.commit();
    await producer.disconnect();

    const values = await readCommitted(kafka, 'orders', 3);
    expect(values.sort()).toEqual(['c1', 'c2', 'c3']);
    const offsetsAdmin = kafka.admin();
    await offsetsAdmin.connect();
    const offsets = await offsetsAdmin.fetchOffsets({ groupId: 'pipeline', topics: ['source'] });
    await offsetsAdmin.disconnect();
    expect(offsets[0]!.partitions[0]!.offset).toBe('5');
  }, 60_000);

  it('consume-transform-produce from A to B with a producer that dies mid-transaction: B has every input exactly once', async () => {
    broker = await startBroker(testBrokerConfig(temp.dir), { http: false });
    const kafka = client(broker.kafkaPort);
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [
        { topic: 'A', numPartitions: 1 },
        { topic: 'B', numPartitions: 1 },
      ],
    });
    await admin.disconnect();
    const inputs = Array.from({ length: 30 }, (_, i) => `in-${i}`);
    const plain = kafka.producer();
    await plain.connect();
    await plain.send({ topic: 'A', acks: -1, messages: inputs.map((value) => ({ value })) });
    await plain.disconnect();

    /** One pass of the loop: reads A from the group's committed offset, writes B and commits the offsets in one transaction. */
    async function transform(upTo: number, dieBeforeCommit: boolean): Promise<void> {
      const producer = kafka.producer({
        transactionalId: 'a-to-b',
        maxInFlightRequests: 1,
        idempotent: true,
      });
      await producer.connect();
      const offsetsAdmin = kafka.admin();
      await offsetsAdmin.connect();
      const fetched = await offsetsAdmin.fetchOffsets({ groupId: 'a-to-b', topics: ['A'] });
      await offsetsAdmin.disconnect();
      const from = Math.max(0, Number(fetched[0]!.partitions[0]!.offset));
      // Consume A from the group's committed offset (read from the broker's engine: a group consumer
      // per pass would spend most of the test joining).
      const fetchedA = await broker!.engine.fetch({
        partitions: [{ topic: 'A', partition: 0, offset: from as Offset, maxBytes: 1 << 20 }],
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 1 << 20,
      });
      const batch = decodeRecordSet(fetchedA.partitions[0]!.records)
        .filter((record) => record.offset >= from && record.offset < upTo)
        .map((record) => new TextDecoder().decode(record.value ?? new Uint8Array(0)));
      expect(batch).toEqual(inputs.slice(from, upTo));
      const txn = await producer.transaction();
      await txn.send({ topic: 'B', messages: batch.map((value) => ({ value: value.replace('in', 'out') })) });
      await txn.sendOffsets({
        consumerGroupId: 'a-to-b',
        topics: [{ topic: 'A', partitions: [{ partition: 0, offset: String(upTo) }] }],
      });
      if (dieBeforeCommit) {
        // The process dies here: its transaction stays open until the next producer with the id fences it.
        return;
      }
      await txn.commit();
      await producer.disconnect();
    }
    await transform(10, false);
    await transform(20, true);
    await transform(20, false);
    await transform(30, false);

    const values = await readCommitted(kafka, 'B', 30);
    expect(values).toEqual(inputs.map((value) => value.replace('in', 'out')));
  }, 60_000);
});
