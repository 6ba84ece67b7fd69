import { CompressionTypes, Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import { asOffset } from '../../src/common/offset.js';
import { ApiKey } from '../../src/protocol/kafka/api.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import {
  BatchAttributes,
  BatchHeader,
  CompressionCodec,
  compressionCodecName,
} from '../../src/record/batch-header.js';
import { decodeRecordSet } from '../../src/record/batch-reader.js';
import { buildCompressedBatch } from '../../src/record/compression.js';
import { crc32c } from '../../src/record/crc32c.js';
import { type Broker, startBroker } from '../../src/server/broker.js';
import { testBrokerConfig } from '../support/engine-fixture.js';
import { KafkaWire } from '../support/kafka-wire.js';
import { runCommand } from '../support/run-command.js';
import { runPyralog } from '../support/serve-process.js';
import { makeTempDir } from '../support/temp-dir.js';

/**
 * Compressed batches from real Kafka clients: kcat (librdkafka 2.0.2) and
 * confluent-kafka (python, the same librdkafka) produce in every codec; the
 * stored batches keep the producer's codec; kcat, the HTTP JSON read and the
 * `pyralog consume` CLI all read the records back.
 */
const CODECS = ['gzip', 'snappy', 'lz4', 'zstd'] as const;

function run(command: string, args: readonly string[], input = ''): Promise<string> {
  return runCommand(command, args, input);
}

/**
 * librdkafka sends a batch uncompressed when compressing did not make it
 * smaller (a lone small record, when the linger ends early on a loaded
 * machine): every stored batch is in the codec or plain, and at least one is in the codec.
 */
function expectCodec(codecs: readonly string[], codec: string): void {
  expect(codecs.filter((name) => name !== codec && name !== 'none')).toEqual([]);
  expect(codecs.filter((name) => name === codec).length).toBeGreaterThanOrEqual(1);
}

describe('compressed batches from real Kafka clients', () => {
  let broker: Broker;
  let cleanup = (): void => {};
  let bootstrap = '';

  beforeAll(async () => {
    const temp = makeTempDir('codec-clients');
    cleanup = temp.cleanup;
    broker = await startBroker(testBrokerConfig(temp.dir), { http: true });
    bootstrap = `127.0.0.1:${broker.kafkaPort}`;
  });
  afterAll(async () => {
    await broker.stop();
    cleanup();
  });

  /** The codec of every batch stored in the partition, and its records' values. */
  async function stored(topic: string): Promise<{ codecs: string[]; values: string[] }> {
    const outcome = await broker.engine.fetch({
      partitions: [{ topic, partition: 0, offset: asOffset(0), maxBytes: 1 << 20 }],
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
    });
    const records = outcome.partitions[0]!.records;
    const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
    const codecs: string[] = [];
    for (let at = 0; at + BatchHeader.SIZE_BYTES <= records.length; ) {
      codecs.push(
        compressionCodecName(view.getInt16(at + BatchHeader.ATTRIBUTES) & BatchAttributes.COMPRESSION_MASK),
      );
      at += view.getInt32(at + BatchHeader.BATCH_LENGTH) + BatchHeader.LOG_OVERHEAD_BYTES;
    }
    const values = decodeRecordSet(records).map((r) => new TextDecoder().decode(r.value ?? new Uint8Array()));
    return { codecs, values };
  }

  it.each(CODECS)(
    'kcat -z %s: stored in that codec, and kcat, HTTP and the CLI read it back',
    async (codec) => {
      const topic = `kcat-${codec}`;
      await broker.engine.createTopic(topic, 1);
      const lines = Array.from({ length: 40 }, (_, i) => `${codec} line ${i} ${'x'.repeat(i)}`);
      await run(
        'kcat',
        ['-b', bootstrap, '-P', '-t', topic, '-p', '0', '-z', codec, '-X', 'acks=all', '-X', 'linger.ms=200'],
        `${lines.join('\n')}\n`,
      );
      const { codecs, values } = await stored(topic);
      expectCodec(codecs, codec);
      expect(values).toEqual(lines);
      const consumed = await run('kcat', [
        '-b',
        bootstrap,
        '-C',
        '-t',
        topic,
        '-p',
        '0',
        '-o',
        'beginning',
        '-e',
        '-q',
      ]);
      expect(consumed.trim().split('\n')).toEqual(lines);
      const url = `http://127.0.0.1:${broker.httpPort}`;
      const answer = await fetch(`${url}/topics/${topic}/partitions/0/records?offset=0&limit=1000`);
      const json = (await answer.json()) as { records: { value: string }[] };
      expect(json.records.map((r) => r.value)).toEqual(lines);
      const cli = await runPyralog(['consume', topic, '--url', url]);
      expect(cli.code).toBe(0);
      expect(
        cli.stdout
          .trim()
          .split('\n')
          .map((line) => (JSON.parse(line) as { value: string }).value),
      ).toEqual(lines);
    },
    60_000,
  );

  it('confluent-kafka (python) produces in every codec and consumes them back', async () => {
    const script = `
import sys
from confluent_kafka import Producer, Consumer, TopicPartition
bootstrap = sys.argv[1]
for codec in ${JSON.stringify(CODECS)}:
    topic = 'py-' + codec
    p = Producer({'bootstrap.servers': bootstrap, 'compression.type': codec, 'linger.ms': 200, 'acks': 'all'})
    for i in range(30):
        p.produce(topic, value=('%s value %d %s' % (codec, i, 'y' * i)).encode(), partition=0)
    assert p.flush(20) == 0, 'unflushed'
    c = Consumer({'bootstrap.servers': bootstrap, 'group.id': 'g-' + codec, 'enable.auto.commit': False})
    c.assign([TopicPartition(topic, 0, 0)])
    got = []
    while len(got) < 30:
        m = c.poll(10)
        assert m is not None, 'timed out after %d' % len(got)
        assert m.error() is None, str(m.error())
        got.append(m.value().decode())
    c.close()
    assert got == ['%s value %d %s' % (codec, i, 'y' * i) for i in range(30)], got
    print(codec, 'ok')
`;
    for (const codec of CODECS) await broker.engine.createTopic(`py-${codec}`, 1);
    const out = await run('/usr/bin/python3', ['-c', script, bootstrap]);
    expect(out.trim().split('\n')).toEqual(CODECS.map((codec) => `${codec} ok`));
    for (const codec of CODECS) {
      const { codecs, values } = await stored(`py-${codec}`);
      expectCodec(codecs, codec);
      expect(values).toHaveLength(30);
    }
  }, 90_000);

  it('Produce v0-2 is advertised and each partition of such a request is answered UNSUPPORTED_VERSION', async () => {
    const wire = await KafkaWire.open(broker.kafkaPort);
    try {
      wire.request(ApiKey.API_VERSIONS, 0, 1, () => {});
      const versions = (await wire.next())!.reader;
      expect(versions.int16()).toBe(KafkaErrorCode.NONE);
      const apis = versions.array((r) => ({ key: r.int16(), min: r.int16(), max: r.int16() }));
      expect(apis.find((api) => api.key === ApiKey.PRODUCE)).toMatchObject({ min: 0 });
      for (const version of [0, 1, 2]) {
        wire.request(ApiKey.PRODUCE, version, 10 + version, (w) =>
          w
            .int16(1)
            .int32(1000)
            .array([0], (tw) =>
              tw.string('kcat-gzip').array([0], (pw) => pw.int32(0).nullableBytes(new Uint8Array(70))),
            ),
        );
        const response = (await wire.next())!;
        expect(response.correlationId).toBe(10 + version);
        const topics = response.reader.array((r) => ({
          name: r.string(),
          partitions: r.array((p) => ({
            index: p.int32(),
            errorCode: p.int16(),
            baseOffset: p.int64(),
            appendTimeMs: version >= 2 ? p.int64() : null,
          })),
        }));
        if (version >= 1) expect(response.reader.int32()).toBe(0);
        expect(topics[0]!.partitions[0]!.errorCode).toBe(KafkaErrorCode.UNSUPPORTED_VERSION);
      }
      expect(wire.closed).toBe(false);
    } finally {
      wire.socket.destroy();
    }
  });

  it('a topic with compression.type=zstd stores kcat lz4 and plain batches as zstd, and kcat reads them', async () => {
    const topic = 'topic-zstd';
    await broker.engine.createTopic(topic, 1, { compressionType: 'zstd' });
    const lines = Array.from({ length: 30 }, (_, i) => `recompressed ${i}`);
    await run(
      'kcat',
      ['-b', bootstrap, '-P', '-t', topic, '-p', '0', '-z', 'lz4', '-X', 'acks=all'],
      `${lines.slice(0, 15).join('\n')}\n`,
    );
    await run(
      'kcat',
      ['-b', bootstrap, '-P', '-t', topic, '-p', '0', '-X', 'acks=all'],
      `${lines.slice(15).join('\n')}\n`,
    );
    const { codecs, values } = await stored(topic);
    expect(new Set(codecs)).toEqual(new Set(['zstd']));
    expect(values).toEqual(lines);
    const consumed = await run('kcat', [
      '-b',
      bootstrap,
      '-C',
      '-t',
      topic,
      '-p',
      '0',
      '-o',
      'beginning',
      '-e',
      '-q',
    ]);
    expect(consumed.trim().split('\n')).toEqual(lines);
  }, 60_000);

  it('zstd is refused below Produce v7 and below Fetch v10 with UNSUPPORTED_COMPRESSION_TYPE (KIP-110)', async () => {
    const topic = 'kip-110';
    await broker.engine.createTopic(topic, 1);
    const zstd = buildCompressedBatch(
      [{ key: null, value: new TextEncoder().encode('z') }],
      CompressionCodec.ZSTD,
    );
    const wire = await KafkaWire.open(broker.kafkaPort);
    try {
      const produceAt = async (version: number, correlationId: number) => {
        wire.request(ApiKey.PRODUCE, version, correlationId, (w) =>
          w
            .nullableString(null)
            .int16(-1)
            .int32(5000)
            .array([0], (tw) => tw.string(topic).array([0], (pw) => pw.int32(0).nullableBytes(zstd))),
        );
        const reader = (await wire.next(10_000))!.reader;
        const partitions = reader.array((r) => ({
          name: r.string(),
          parts: r.array((p) => {
            const out = { index: p.int32(), errorCode: p.int16() };
            p.int64();
            p.int64();
            if (version >= 5) p.int64();
            return out;
          }),
        }));
        return partitions[0]!.parts[0]!.errorCode;
      };
      expect(await produceAt(6, 1)).toBe(KafkaErrorCode.UNSUPPORTED_COMPRESSION_TYPE);
      expect(await produceAt(7, 2)).toBe(KafkaErrorCode.NONE);
      const fetchAt = async (version: number, correlationId: number) => {
        wire.request(ApiKey.FETCH, version, correlationId, (w) => {
          w.int32(-1)
            .int32(0)
            .int32(0)
            .int32(1 << 20)
            .int8(0)
            .int32(0)
            .int32(-1);
          w.array([0], (tw) =>
            tw.string(topic).array([0], (pw) => {
              pw.int32(0);
              if (version >= 9) pw.int32(-1);
              pw.int64(0)
                .int64(-1)
                .int32(1 << 20);
            }),
          );
          w.array([], () => {});
        });
        const reader = (await wire.next(10_000))!.reader;
        reader.int32();
        reader.int16();
        reader.int32();
        const topics = reader.array((r) => ({
          name: r.string(),
          parts: r.array((p) => {
            const out = { index: p.int32(), errorCode: p.int16() };
            p.int64();
            p.int64();
            p.int64();
            p.int32(); // aborted transactions: null
            return { ...out, records: p.nullableBytes() };
          }),
        }));
        return topics[0]!.parts[0]!;
      };
      const old = await fetchAt(9, 3);
      expect(old.errorCode).toBe(KafkaErrorCode.UNSUPPORTED_COMPRESSION_TYPE);
      expect(old.records?.length ?? 0).toBe(0);
      const current = await fetchAt(10, 4);
      expect(current.errorCode).toBe(KafkaErrorCode.NONE);
      expect(decodeRecordSet(current.records!).map((r) => new TextDecoder().decode(r.value!))).toEqual(['z']);
    } finally {
      wire.socket.destroy();
    }
  });

  it('kafkajs produces gzip batches and consumes them back', async () => {
    const topic = 'kafkajs-gzip';
    await broker.engine.createTopic(topic, 1);
    const kafka = new Kafka({ clientId: 'codecs', brokers: [bootstrap], logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    const values = Array.from({ length: 25 }, (_, i) => `kafkajs gzip ${i} ${'z'.repeat(i)}`);
    await producer.send({
      topic,
      acks: -1,
      compression: CompressionTypes.GZIP,
      messages: values.map((value) => ({ value, partition: 0 })),
    });
    await producer.disconnect();
    const { codecs, values: storedValues } = await stored(topic);
    expect(codecs).toEqual(['gzip']);
    expect(storedValues).toEqual(values);
    const consumer = kafka.consumer({ groupId: 'codecs-kafkajs' });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const seen: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`consumed only ${seen.length}`)), 20_000);
      void consumer
        .run({
          eachMessage: async ({ message }) => {
            seen.push(message.value?.toString() ?? '');
            if (seen.length === values.length) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
    await consumer.disconnect();
    expect(seen).toEqual(values);
  }, 60_000);

  it('/metrics counts the batches checked, refused and recompressed', async () => {
    const metric = async (name: string) => {
      const text = await (await fetch(`http://127.0.0.1:${broker.httpPort}/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith(`${name} `));
      return Number(line?.split(' ')[1] ?? Number.NaN);
    };
    const before = {
      checked: await metric('pyralog_checked_batches_total'),
      refused: await metric('pyralog_refused_checked_batches_total'),
      recompressed: await metric('pyralog_recompressed_batches_total'),
    };
    await broker.engine.createTopic('metered', 1, { compressionType: 'lz4' });
    const encoder = new TextEncoder();
    const lying = buildCompressedBatch([{ key: null, value: encoder.encode('x') }], CompressionCodec.GZIP);
    const view = new DataView(lying.buffer);
    view.setInt32(BatchHeader.RECORD_COUNT, 5);
    view.setInt32(BatchHeader.LAST_OFFSET_DELTA, 4);
    view.setUint32(BatchHeader.CRC, crc32c(lying.subarray(BatchHeader.CRC_START)));
    expect((await broker.engine.produce('metered', 0, lying, -1)).errorCode).toBe(
      KafkaErrorCode.INVALID_RECORD,
    );
    const plain = buildRecordBatch([{ key: null, value: encoder.encode('y') }]);
    expect((await broker.engine.produce('metered', 0, plain, -1)).errorCode).toBe(KafkaErrorCode.NONE);
    expect(await metric('pyralog_checked_batches_total')).toBe(before.checked + 2);
    expect(await metric('pyralog_refused_checked_batches_total')).toBe(before.refused + 1);
    expect(await metric('pyralog_recompressed_batches_total')).toBe(before.recompressed + 1);
  });
});
