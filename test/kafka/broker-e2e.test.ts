import { Kafka, logLevel } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import { ApiKey } from '../../src/protocol/kafka/api.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { type Broker, startBroker } from '../../src/server/broker.js';
import { testBrokerConfig } from '../support/engine-fixture.js';
import { KafkaWire } from '../support/kafka-wire.js';
import { runCommand } from '../support/run-command.js';
import { makeTempDir } from '../support/temp-dir.js';

/**
 * Real Kafka clients against the real broker: shards on worker threads, the
 * partition log on disk, restarts in between.
 */
const text = new TextEncoder();

function kcat(args: readonly string[], input?: string): Promise<string> {
  return runCommand('kcat', args, input, 20_000);
}

describe('Kafka clients against the real broker', () => {
  let broker: Broker | null = null;
  let cleanup = (): void => {};
  afterEach(async () => {
    await broker?.stop();
    broker = null;
    cleanup();
  });
  const start = async (dir: string): Promise<Broker> => {
    broker = await startBroker(testBrokerConfig(dir), { http: false });
    return broker;
  };

  it('serves kafkajs producers and a consumer group, and keeps committed offsets across a restart', async () => {
    const temp = makeTempDir('e2e-kafkajs');
    cleanup = temp.cleanup;
    const first = await start(temp.dir);
    const kafka = new Kafka({
      clientId: 'e2e',
      brokers: [`127.0.0.1:${first.kafkaPort}`],
      logLevel: logLevel.NOTHING,
      retry: { retries: 5, initialRetryTime: 100 },
    });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'clicks', numPartitions: 4 }] });
    await admin.disconnect();
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    for (let i = 0; i < 10; i++) {
      await producer.send({
        topic: 'clicks',
        acks: -1,
        messages: Array.from({ length: 20 }, (_, j) => ({
          key: `user-${(i * 20 + j) % 7}`,
          value: `click-${i * 20 + j}`,
        })),
      });
    }
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: 'dashboards', sessionTimeout: 6000, heartbeatInterval: 500 });
    await consumer.connect();
    await consumer.subscribe({ topic: 'clicks', fromBeginning: true });
    const seen = new Set<string>();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${seen.size} of 200 arrived`)), 30_000);
      void consumer.run({
        eachMessage: async ({ message }) => {
          seen.add(message.value?.toString() ?? '');
          if (seen.size === 200) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
    await consumer.disconnect();
    expect(seen.size).toBe(200);
    await first.stop();

    const second = await start(temp.dir);
    const again = new Kafka({
      clientId: 'e2e',
      brokers: [`127.0.0.1:${second.kafkaPort}`],
      logLevel: logLevel.NOTHING,
    });
    const offsetsAdmin = again.admin();
    await offsetsAdmin.connect();
    const committed = await offsetsAdmin.fetchOffsets({ groupId: 'dashboards', topics: ['clicks'] });
    const topicOffsets = await offsetsAdmin.fetchTopicOffsets('clicks');
    await offsetsAdmin.disconnect();
    const total = committed[0]!.partitions.reduce((sum, p) => sum + Number(p.offset), 0);
    expect(total).toBe(200);
    expect(topicOffsets.reduce((sum, p) => sum + Number(p.high), 0)).toBe(200);
  }, 90_000);

  it('drops a retried idempotent batch, refuses a sequence gap and a stale epoch, and remembers across a restart', async () => {
    const temp = makeTempDir('e2e-idempotent');
    cleanup = temp.cleanup;
    let running = await start(temp.dir);
    await running.engine.createTopic('ledger', 1);
    const produceOnce = async (
      port: number,
      producerId: number,
      epoch: number,
      sequence: number,
      values: string[],
    ) => {
      const wire = await KafkaWire.open(port);
      const batch = buildRecordBatch(
        values.map((value) => ({ key: null, value: text.encode(value) })),
        { producerId, producerEpoch: epoch, baseSequence: sequence },
      );
      wire.request(ApiKey.PRODUCE, 7, 1, (w) => {
        w.nullableString(null).int16(-1).int32(5000);
        w.int32(1).string('ledger').int32(1).int32(0).bytesField(batch);
      });
      const reader = (await wire.next())!.reader;
      wire.close();
      reader.int32();
      reader.string();
      reader.int32();
      reader.int32();
      return { errorCode: reader.int16(), baseOffset: reader.int64() };
    };
    const producerId = await running.engine.nextProducerId();
    expect(await produceOnce(running.kafkaPort, producerId, 0, 0, ['a', 'b'])).toEqual({
      errorCode: 0,
      baseOffset: 0,
    });
    expect(await produceOnce(running.kafkaPort, producerId, 0, 2, ['c'])).toEqual({
      errorCode: 0,
      baseOffset: 2,
    });
    // The same batch again (a retry after a lost response): not appended, answered with its first offset.
    expect(await produceOnce(running.kafkaPort, producerId, 0, 2, ['c'])).toEqual({
      errorCode: 0,
      baseOffset: 2,
    });
    expect((await produceOnce(running.kafkaPort, producerId, 0, 7, ['gap'])).errorCode).toBe(
      KafkaErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
    );
    expect(await produceOnce(running.kafkaPort, producerId, 1, 0, ['new epoch'])).toEqual({
      errorCode: 0,
      baseOffset: 3,
    });
    expect((await produceOnce(running.kafkaPort, producerId, 0, 3, ['old epoch'])).errorCode).toBe(
      KafkaErrorCode.INVALID_PRODUCER_EPOCH,
    );
    await running.stop();
    running = await start(temp.dir);
    expect(await produceOnce(running.kafkaPort, producerId, 1, 0, ['new epoch'])).toEqual({
      errorCode: 0,
      baseOffset: 3,
    });
    const end = await running.engine.listOffsets('ledger', 0, -1);
    expect(end.offset).toBe(4);
  }, 60_000);

  it('works with kcat (librdkafka): metadata, produce and consume', async () => {
    const temp = makeTempDir('e2e-kcat');
    cleanup = temp.cleanup;
    const running = await start(temp.dir);
    await running.engine.createTopic('lines', 2);
    const brokerAddress = `127.0.0.1:${running.kafkaPort}`;
    const metadataText = await kcat(['-b', brokerAddress, '-L', '-t', 'lines']);
    expect(metadataText).toContain('topic "lines" with 2 partitions');
    const lines = Array.from({ length: 50 }, (_, i) => `line-${i}`);
    await kcat(
      ['-b', brokerAddress, '-P', '-t', 'lines', '-p', '0', '-X', 'acks=all'],
      `${lines.join('\n')}\n`,
    );
    const consumed = await kcat([
      '-b',
      brokerAddress,
      '-C',
      '-t',
      'lines',
      '-p',
      '0',
      '-o',
      'beginning',
      '-e',
      '-q',
    ]);
    expect(consumed.trim().split('\n')).toEqual(lines);
  }, 60_000);
});
