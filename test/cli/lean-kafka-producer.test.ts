import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
