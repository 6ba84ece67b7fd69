import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeanKafkaConsumer } from '../../src/cli/bench/lean-kafka-consumer.js';
import { LeanKafkaProducer } from '../../src/cli/bench/lean-kafka-producer.js';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import type { Offset } from '../../src/common/offset.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { type Broker, startBroker } from '../../src/server/broker.js';
import { testBrokerConfig } from '../support/engine-fixture.js';
import { makeTempDir } from '../support/temp-dir.js';

/** The benchmarks' load generator must speak Produce correctly, or their figures mean nothing. */
describe('lean Kafka producer', () => {
  let broker: Broker;
  let producer: LeanKafkaProducer;
  const temp = makeTempDir('lean-producer');
  const batch = buildRecordBatch([{ key: null, value: new Uint8Array(100).fill(9) }]);

  beforeAll(async () => {
    broker = await startBroker(testBrokerConfig(join(temp.dir, 'data')));
    expect(await broker.engine.createTopic('lean', 4)).toBe(KafkaErrorCode.NONE);
    producer = await LeanKafkaProducer.connect(broker.kafkaPort);
  });
  afterAll(async () => {
    producer.close();
    await broker.stop();
    temp.cleanup();
  });

  it('sends one batch per request and gets each partition its next offset, pipelined', async () => {
    const acks = await Promise.all(
      Array.from({ length: 8 }, (_, i) => producer.produce('lean', i % 2, batch, 1)),
    );
    expect(acks.map((ack) => ack.errorCode)).toEqual(Array(8).fill(0));
    expect(acks.map((ack) => ack.baseOffset)).toEqual([0, 0, 1, 1, 2, 2, 3, 3]);
  });

  it('sends one batch to each of several partitions in one request, as Kafka clients do', async () => {
    const ack = await producer.produceToPartitions('lean', [2, 3], batch, -1);
    expect(ack).toEqual({ errorCode: 0, baseOffset: 0 });
    const partitions = await broker.engine.describePartitions('lean');
    expect(partitions!.map((p) => p.logEndOffset)).toEqual([4, 4, 1, 1]);
  });

  it('reports the first partition error of a request', async () => {
    const ack = await producer.produceToPartitions('lean', [0, 7], batch, 1);
    expect(ack.errorCode).toBe(KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect(ack.baseOffset).toBe(4);
  });

  it('sends a prepared request again and again, each time as a new request with its own answer', async () => {
    // acks=-1: under fsync always the fetch below sees only what is durable.
    const prepared = producer.prepare('lean', [3], batch, -1);
    const offsets: number[] = [];
    for (let i = 0; i < 5; i++) offsets.push((await producer.send(prepared)).baseOffset);
    expect(offsets).toEqual([1, 2, 3, 4, 5]);
    const stored = await broker.engine.fetch({
      partitions: [{ topic: 'lean', partition: 3, offset: 5 as Offset, maxBytes: 1 << 20 }],
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
    });
    // The broker stored the producer's batch as sent (past the base offset and leader epoch it rewrites).
    expect(Buffer.from(stored.partitions[0]!.records.subarray(16))).toEqual(Buffer.from(batch.subarray(16)));
  });
});

/** A generator must end with an error when its broker goes away, not wait for ever on requests in flight. */
describe('lean Kafka clients whose connection closes', () => {
  let server: Server;
  let port = 0;
  beforeAll(async () => {
    // Takes a request's first bytes, then closes the connection without an answer.
    server = createServer((socket) => socket.once('data', () => socket.destroy()));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('given produces in flight when the connection closes then each rejects, and later sends too', async () => {
    const producer = await LeanKafkaProducer.connect(port);
    const batch = buildRecordBatch([{ key: null, value: new Uint8Array(10) }]);
    const inFlight = [producer.produce('t', 0, batch, 1), producer.produce('t', 1, batch, 1)];
    for (const request of inFlight) await expect(request).rejects.toThrow(/closed/);
    await expect(producer.produce('t', 0, batch, 1)).rejects.toThrow(/closed/);
    producer.close();
  });

  it('given a fetch in flight when the connection closes then it rejects, and a later fetch too', async () => {
    const consumer = await LeanKafkaConsumer.connect(port);
    await expect(consumer.fetch('t', new Map([[0, 0]]), 10_000, 1024)).rejects.toThrow(/closed/);
    await expect(consumer.fetch('t', new Map([[0, 0]]), 0, 1024)).rejects.toThrow(/closed/);
    consumer.close();
  });
});
