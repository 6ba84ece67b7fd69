import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import { ApiKey } from '../../src/protocol/kafka/api.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { type KafkaFixture, startKafkaFixture } from '../support/kafka-fixture.js';
import { KafkaWire } from '../support/kafka-wire.js';

/** The Kafka listener's framing, ordering and limits, over real sockets on 127.0.0.1. */
const text = new TextEncoder();

function produceBody(topic: string, partition: number, acks: number, batch: Uint8Array) {
  return (w: import('../../src/protocol/kafka/primitives.js').KafkaWriter) => {
    w.nullableString(null).int16(acks).int32(5000);
    w.int32(1).string(topic).int32(1).int32(partition).bytesField(batch);
  };
}

describe('Kafka listener', () => {
  let fixture: KafkaFixture;
  beforeAll(async () => {
    fixture = await startKafkaFixture({ maxRequestBytes: 64 * 1024, maxInFlightRequestsPerConnection: 8 });
    await fixture.engine.createTopic('events', 1);
  });
  afterAll(() => fixture.close());

  it('answers pipelined requests in the order they arrived, even when a later one finishes first', async () => {
    const wire = await KafkaWire.open(fixture.listener.port);
    // A long-poll Fetch (held up to 300 ms) followed at once by a quick Metadata.
    wire.request(ApiKey.FETCH, 4, 1, (w) => {
      w.int32(-1)
        .int32(300)
        .int32(1)
        .int32(1 << 20)
        .int8(0);
      w.int32(1)
        .string('events')
        .int32(1)
        .int32(0)
        .int64(0)
        .int32(1 << 20);
    });
    wire.request(ApiKey.METADATA, 1, 2, (w) => w.int32(-1));
    const first = await wire.next();
    const second = await wire.next();
    expect([first?.correlationId, second?.correlationId]).toEqual([1, 2]);
    wire.close();
  });

  it('sends nothing for acks=0 and keeps later responses in order', async () => {
    const wire = await KafkaWire.open(fixture.listener.port);
    const batch = buildRecordBatch([{ key: null, value: text.encode('fire and forget') }]);
    wire.request(ApiKey.PRODUCE, 7, 10, produceBody('events', 0, 0, batch));
    wire.request(ApiKey.PRODUCE, 7, 11, produceBody('events', 0, 1, batch));
    const response = await wire.next();
    expect(response?.correlationId).toBe(11);
    const reader = response!.reader;
    reader.int32(); // topics
    reader.string();
    reader.int32(); // partitions
    expect(reader.int32()).toBe(0);
    expect(reader.int16()).toBe(KafkaErrorCode.NONE);
    expect(reader.int64()).toBe(1); // the acks=0 batch took offset 0
    wire.close();
  });

  it('answers ApiVersions v5 with UNSUPPORTED_VERSION and the list in the v0 layout', async () => {
    const wire = await KafkaWire.open(fixture.listener.port);
    wire.request(ApiKey.API_VERSIONS, 5, 7, () => undefined);
    const response = await wire.next();
    expect(response?.correlationId).toBe(7);
    const reader = response!.reader;
    expect(reader.int16()).toBe(KafkaErrorCode.UNSUPPORTED_VERSION);
    const apis = reader.array((r) => ({ key: r.int16(), min: r.int16(), max: r.int16() }));
    expect(apis).toContainEqual({ key: ApiKey.API_VERSIONS, min: 0, max: 4 });
    expect(apis).toContainEqual({ key: ApiKey.PRODUCE, min: 0, max: 9 });
    expect(reader.remaining()).toBe(0);
    wire.close();
  });

  it('reads request header v2 and answers ApiVersions v3 flexibly with response header v0', async () => {
    const wire = await KafkaWire.open(fixture.listener.port);
    // Header v2: tagged fields (none) after the client id; then client software name and version.
    wire.request(ApiKey.API_VERSIONS, 3, 8, (w) =>
      w.uvarint(0).compactString('librdkafka').compactString('2.0.2').uvarint(0),
    );
    const response = await wire.next();
    expect(response?.correlationId).toBe(8);
    const reader = response!.reader; // header v0: the body starts right after the correlation id
    expect(reader.int16()).toBe(KafkaErrorCode.NONE);
    const apis = reader.compactArray((r) => {
      const api = { key: r.int16(), min: r.int16(), max: r.int16() };
      r.taggedFields(null);
      return api;
    });
    expect(apis).toContainEqual({ key: ApiKey.API_VERSIONS, min: 0, max: 4 });
    expect(reader.int32()).toBe(0); // throttle_time_ms
    reader.taggedFields(null);
    expect(reader.remaining()).toBe(0);
    wire.close();
  });

  it('answers a flexible request (Heartbeat v4) with response header v1', async () => {
    const wire = await KafkaWire.open(fixture.listener.port);
    wire.request(ApiKey.HEARTBEAT, 4, 9, (w) =>
      w.uvarint(0).compactString('no-such-group').int32(1).compactString('m').uvarint(0).uvarint(0),
    );
    const response = await wire.next();
    expect(response?.correlationId).toBe(9);
    const reader = response!.reader;
    reader.taggedFields(null); // response header v1
    expect(reader.int32()).toBe(0);
    expect(reader.int16()).not.toBe(KafkaErrorCode.NONE);
    reader.taggedFields(null);
    expect(reader.remaining()).toBe(0);
    wire.close();
  });

  it('closes the connection on a frame over maxRequestBytes, an unknown API, or a truncated request, and keeps serving others', async () => {
    const oversize = await KafkaWire.open(fixture.listener.port);
    const size = new Uint8Array(4);
    new DataView(size.buffer).setInt32(0, 10 * 1024 * 1024);
    oversize.send(size);
    expect(await oversize.closedWithin(2000)).toBe(true);

    const unknown = await KafkaWire.open(fixture.listener.port);
    unknown.request(999, 0, 1, () => undefined);
    expect(await unknown.closedWithin(2000)).toBe(true);

    const truncated = await KafkaWire.open(fixture.listener.port);
    truncated.request(ApiKey.PRODUCE, 7, 1, (w) => w.nullableString(null).int16(1));
    expect(await truncated.closedWithin(2000)).toBe(true);

    const healthy = await KafkaWire.open(fixture.listener.port);
    healthy.request(ApiKey.API_VERSIONS, 0, 5, () => undefined);
    expect((await healthy.next())?.correlationId).toBe(5);
    healthy.close();
  });

  it('answers a produce of a corrupt batch with CORRUPT_MESSAGE and stores nothing', async () => {
    const wire = await KafkaWire.open(fixture.listener.port);
    const batch = buildRecordBatch([{ key: null, value: text.encode('x') }]);
    batch[batch.length - 1]! ^= 0xff;
    await fixture.engine.createTopic('guarded', 1);
    wire.request(ApiKey.PRODUCE, 3, 1, produceBody('guarded', 0, -1, batch));
    const reader = (await wire.next())!.reader;
    reader.int32();
    reader.string();
    reader.int32();
    reader.int32();
    expect(reader.int16()).toBe(KafkaErrorCode.CORRUPT_MESSAGE);
    const end = await fixture.engine.listOffsets('guarded', 0, -1);
    expect(end.offset).toBe(0);
    wire.close();
  });
});
