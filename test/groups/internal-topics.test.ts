import { Writable } from 'node:stream';
import { type Logger, pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import { GroupCoordinator } from '../../src/groups/group-coordinator.js';
import { encodeOffsetKey, encodeOffsetValue } from '../../src/groups/offset-record.js';
import { OFFSETS_TOPIC } from '../../src/groups/offset-store.js';
import { ApiKey } from '../../src/protocol/kafka/api.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { BatchHeader } from '../../src/record/batch-header.js';
import { crc32c } from '../../src/record/crc32c.js';
import { type Broker, startBroker } from '../../src/server/broker.js';
import { testBrokerConfig } from '../support/engine-fixture.js';
import { KafkaWire } from '../support/kafka-wire.js';
import { MemoryEngine } from '../support/memory-engine.js';
import { makeTempDir } from '../support/temp-dir.js';

/**
 * Internal topics through the real broker: clients cannot produce to
 * `__consumer_offsets` or delete it; the broker itself still writes it; a
 * damaged record in it is skipped with a log line and never stops a start.
 */
function lines(): { logger: Logger; text: () => string } {
  let text = '';
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString('utf8');
      done();
    },
  });
  return { logger: pino({ level: 'warn' }, sink) as unknown as Logger, text: () => text };
}

async function commit(
  wire: KafkaWire,
  correlationId: number,
  group: string,
  offset: number,
): Promise<number> {
  wire.request(ApiKey.OFFSET_COMMIT, 2, correlationId, (w) =>
    w
      .string(group)
      .int32(-1)
      .string('')
      .int64(-1)
      .int32(1)
      .string('events')
      .int32(1)
      .int32(0)
      .int64(offset)
      .nullableString(null),
  );
  const reader = (await wire.next(10_000))!.reader;
  reader.int32();
  reader.string();
  reader.int32();
  reader.int32();
  return reader.int16();
}

async function committed(wire: KafkaWire, correlationId: number, group: string): Promise<number> {
  wire.request(ApiKey.OFFSET_FETCH, 1, correlationId, (w) =>
    w.string(group).int32(1).string('events').int32(1).int32(0),
  );
  const reader = (await wire.next(10_000))!.reader;
  reader.int32();
  reader.string();
  reader.int32();
  reader.int32();
  return reader.int64();
}

/** A batch whose CRC is right but whose first record's key length claims more bytes than follow. */
function damagedBatch(): Uint8Array {
  const batch = buildRecordBatch([{ key: new Uint8Array(4), value: new Uint8Array(4) }]);
  // Records start after the 61-byte header: length varint, attributes, timestamp delta varint,
  // offset delta varint, then the key length varint: make it claim 60 bytes (zigzag 120).
  batch[61 + 4] = 120;
  const view = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
  view.setUint32(BatchHeader.CRC, crc32c(batch, BatchHeader.CRC_START));
  return batch;
}

describe('internal topics', () => {
  let broker: Broker | null = null;
  let cleanup = (): void => {};
  afterEach(async () => {
    await broker?.stop();
    broker = null;
    cleanup();
  });

  it('given a client when it produces to or deletes __consumer_offsets should be refused with Kafka error codes', async () => {
    const temp = makeTempDir('internal');
    cleanup = temp.cleanup;
    broker = await startBroker(testBrokerConfig(temp.dir));
    await broker.engine.createTopic('events', 1);
    // The HTTP door refuses it too (the WebSocket door goes through the same engine view).
    const http = await fetch(`http://127.0.0.1:${broker.httpPort}/topics/${OFFSETS_TOPIC}/records`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{ value: 'x' }]),
    });
    expect(http.status).toBeGreaterThanOrEqual(400);
    expect(http.status).toBeLessThan(500);
    const wire = await KafkaWire.open(broker.kafkaPort);
    const batch = buildRecordBatch([{ key: null, value: new Uint8Array(3) }]);
    wire.request(ApiKey.PRODUCE, 3, 1, (w) =>
      w
        .nullableString(null)
        .int16(1)
        .int32(1000)
        .int32(1)
        .string(OFFSETS_TOPIC)
        .int32(1)
        .int32(0)
        .bytesField(batch),
    );
    const produced = (await wire.next())!.reader;
    produced.int32();
    expect(produced.string()).toBe(OFFSETS_TOPIC);
    produced.int32();
    produced.int32();
    expect(produced.int16()).toBe(KafkaErrorCode.INVALID_TOPIC_EXCEPTION);

    wire.request(ApiKey.DELETE_TOPICS, 1, 2, (w) => w.int32(1).string(OFFSETS_TOPIC).int32(1000));
    const deleted = (await wire.next())!.reader;
    deleted.int32();
    deleted.int32();
    deleted.string();
    expect(deleted.int16()).toBe(KafkaErrorCode.POLICY_VIOLATION);
    expect(broker.engine.describeTopic(OFFSETS_TOPIC)).toBeDefined();

    // The broker itself still writes it.
    expect(await commit(wire, 3, 'g', 41)).toBe(KafkaErrorCode.NONE);
    expect(await committed(wire, 4, 'g')).toBe(41);
    wire.close();
  });

  it('given a batch that does not decode in __consumer_offsets when the coordinator loads should skip it with a log line', async () => {
    // Storage recovery and produce validation both refuse such a batch; the loader does not rely on them.
    const engine = new MemoryEngine();
    await engine.createTopic(OFFSETS_TOPIC, 1);
    const good = buildRecordBatch([
      {
        key: encodeOffsetKey({ groupId: 'good', topic: 'events', partition: 0 }),
        value: encodeOffsetValue({ offset: 5, commitTimeMs: 0, metadata: null }),
      },
    ]);
    expect((await engine.produce(OFFSETS_TOPIC, 0, damagedBatch(), -1)).errorCode).toBe(KafkaErrorCode.NONE);
    expect((await engine.produce(OFFSETS_TOPIC, 0, good, -1)).errorCode).toBe(KafkaErrorCode.NONE);
    const log = lines();
    const groups = await GroupCoordinator.open(engine, { log: log.logger });
    const fetched = await groups.fetchOffsets({
      groupId: 'good',
      topics: [{ topic: 'events', partitions: [0] }],
    });
    expect(fetched.topics[0]?.partitions[0]?.offset).toBe(5);
    expect(log.text()).toMatch(/skipping a damaged batch of committed offsets/);
    await groups.close();
  });

  it('given damaged records in __consumer_offsets when the broker restarts should skip them with a log line and keep the good commits', async () => {
    const temp = makeTempDir('internal-damaged');
    cleanup = temp.cleanup;
    const config = testBrokerConfig(temp.dir);
    broker = await startBroker(config, { http: false });
    await broker.engine.createTopic('events', 1);
    let wire = await KafkaWire.open(broker.kafkaPort);
    expect(await commit(wire, 1, 'good', 7)).toBe(KafkaErrorCode.NONE);
    wire.close();
    // Written past the client guard, as a bug or a damaged disk would leave them.
    const nanValue = encodeOffsetValue({ offset: 0, commitTimeMs: 0, metadata: null });
    new DataView(nanValue.buffer, nanValue.byteOffset).setFloat64(2, Number.NaN);
    const nanKey = encodeOffsetKey({ groupId: 'nan', topic: 'events', partition: 0 });
    for (const batch of [
      buildRecordBatch([{ key: new Uint8Array([9, 9, 9]), value: new Uint8Array([1]) }]),
      buildRecordBatch([{ key: nanKey, value: nanValue }]),
    ]) {
      const outcome = await broker.engine.produce(OFFSETS_TOPIC, 0, batch, -1);
      expect(outcome.errorCode).toBe(KafkaErrorCode.NONE);
    }
    await broker.stop();

    const log = lines();
    broker = await startBroker(config, { http: false, logger: log.logger });
    wire = await KafkaWire.open(broker.kafkaPort);
    expect(await committed(wire, 2, 'good')).toBe(7);
    expect(await committed(wire, 3, 'nan')).toBe(-1);
    wire.close();
    expect(log.text()).toMatch(/skipped committed-offset records that are not well formed/);
  });
});
