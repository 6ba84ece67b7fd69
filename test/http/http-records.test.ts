import { tableFromIPC } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import { type Acks, type ProduceOutcome, produceFailure } from '../../src/engine/engine-api.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { CompressionCodec } from '../../src/record/batch-header.js';
import { buildCompressedBatch } from '../../src/record/compression.js';
import { recordWindow } from '../../src/server/http-record-window.js';
import { murmur2 } from '../../src/server/partitioner.js';
import { MemoryEngine } from '../support/memory-engine.js';
import {
  type Answer,
  call,
  errorCode,
  type HttpAppFixture,
  postJson,
  startHttpApp,
} from './http-app-fixture.js';

interface ReadBody {
  records: {
    offset: number;
    timestamp: number;
    key: string | null;
    value: string | null;
    headers: Record<string, string | null>;
  }[];
  highWatermark: number;
  nextOffset: number;
}

interface Offsets {
  offsets: ({ partition: number; offset: number } | null)[];
}

const utf8 = (text: string) => new TextEncoder().encode(text);

const read = async (app: HttpAppFixture, path: string): Promise<ReadBody> => {
  const answer = await call(app.base, path);
  expect(answer.status).toBe(200);
  return answer.json as ReadBody;
};

/** Producing and reading records over HTTP on a real socket. */
describe('HTTP record routes', () => {
  let app: HttpAppFixture;
  let offloadedReads = 0;
  beforeAll(async () => {
    app = await startHttpApp({
      config: { maxWaitMsMax: 5_000 },
      // Stands in for the offload pool, counting the reads that were sent there.
      decodeRecordWindow: async (input) => {
        offloadedReads++;
        return recordWindow(input.records, input.fromOffset, input.limit);
      },
    });
  });
  afterAll(() => app.close());

  it('given JSON records when produced then they read back in the documented shape, in body order', async () => {
    await postJson(app.base, '/topics', { name: 'shape', partitions: 2 });
    const produced = await postJson(app.base, '/topics/shape/records', [
      { key: 'k', value: 'v0', partition: 0, headers: { h: 'x', empty: null }, timestamp: 1_700_000_000_000 },
      { value: 'p1', partition: 1 },
      { key: null, value: null, partition: 0 },
      { value: Buffer.from([0, 255, 1]).toString('base64'), encoding: 'base64', partition: 0 },
    ]);
    expect(produced.status).toBe(200);
    expect(produced.json).toEqual({
      offsets: [
        { partition: 0, offset: 0 },
        { partition: 1, offset: 0 },
        { partition: 0, offset: 1 },
        { partition: 0, offset: 2 },
      ],
    });
    const body = await read(app, '/topics/shape/partitions/0/records?offset=0');
    expect(body.highWatermark).toBe(3);
    expect(body.nextOffset).toBe(3);
    expect(body.records[0]).toEqual({
      offset: 0,
      timestamp: 1_700_000_000_000,
      key: 'k',
      value: 'v0',
      headers: { h: 'x', empty: null },
    });
    expect(body.records[1]).toMatchObject({ offset: 1, key: null, value: null, headers: {} });
    const encoded = await read(app, '/topics/shape/partitions/0/records?offset=2&encoding=base64');
    expect([...Buffer.from(encoded.records[0]!.value!, 'base64')]).toEqual([0, 255, 1]);
  });

  it('records before the requested offset in the first batch are skipped, and limit caps the answer', async () => {
    await postJson(app.base, '/topics', { name: 'window' });
    // One batch of ten records: offsets 0..9.
    await postJson(
      app.base,
      '/topics/window/records',
      Array.from({ length: 10 }, (_, i) => ({ value: `v${i}` })),
    );
    const middle = await read(app, '/topics/window/partitions/0/records?offset=4&limit=3');
    expect(middle.records.map((r) => r.offset)).toEqual([4, 5, 6]);
    expect(middle.records.map((r) => r.value)).toEqual(['v4', 'v5', 'v6']);
    expect(middle.nextOffset).toBe(7);
    const end = await read(app, '/topics/window/partitions/0/records?offset=10');
    expect(end.records).toEqual([]);
    expect(end.nextOffset).toBe(10);
    const beyond = await call(app.base, '/topics/window/partitions/0/records?offset=11');
    expect(beyond.status).toBe(416);
    expect(errorCode(beyond)).toBe('OFFSET_OUT_OF_RANGE');
  });

  it('maxBytes smaller than a batch still returns that whole first batch, and paging reaches the end', async () => {
    await postJson(app.base, '/topics', { name: 'paging' });
    for (let b = 0; b < 5; b++) {
      await postJson(
        app.base,
        '/topics/paging/records',
        Array.from({ length: 4 }, (_, i) => ({ value: `b${b}r${i}` })),
      );
    }
    const seen: string[] = [];
    let offset = 0;
    for (let page = 0; page < 20 && offset < 20; page++) {
      const body = await read(app, `/topics/paging/partitions/0/records?offset=${offset}&maxBytes=1`);
      expect(body.records.length).toBeGreaterThan(0);
      seen.push(...body.records.map((r) => r.value!));
      offset = body.nextOffset;
    }
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => `b${Math.floor(i / 4)}r${i % 4}`));
  });

  it('records without a partition go by murmur2 of the key like Kafka, or round robin without a key', async () => {
    await postJson(app.base, '/topics', { name: 'hashed', partitions: 5 });
    const keys = Array.from({ length: 40 }, (_, i) => `user-${i}`);
    const answer = await postJson(
      app.base,
      '/topics/hashed/records',
      keys.map((key) => ({ key, value: 'x' })),
    );
    const offsets = (answer.json as Offsets).offsets;
    keys.forEach((key, i) => {
      const expected = (murmur2(new TextEncoder().encode(key)) & 0x7fffffff) % 5;
      expect(offsets[i]!.partition).toBe(expected);
    });
    const unkeyed = await postJson(
      app.base,
      '/topics/hashed/records',
      Array.from({ length: 10 }, () => ({ value: 'y' })),
    );
    const counts = [0, 0, 0, 0, 0];
    for (const entry of (unkeyed.json as Offsets).offsets) counts[entry!.partition]!++;
    expect(counts).toEqual([2, 2, 2, 2, 2]);
  });

  it('a JSON body larger than max.message.bytes is split into batches, keeping order and offsets', async () => {
    await postJson(app.base, '/topics', { name: 'split', config: { 'max.message.bytes': 1024 } });
    const values = Array.from({ length: 60 }, (_, i) => `${i}`.padStart(100, '.'));
    const answer = await postJson(
      app.base,
      '/topics/split/records',
      values.map((value) => ({ value })),
    );
    expect(answer.status).toBe(200);
    expect((answer.json as Offsets).offsets.map((o) => o!.offset)).toEqual(values.map((_, i) => i));
    const body = await read(app, '/topics/split/partitions/0/records?offset=0&maxBytes=1048576');
    expect(body.records.map((r) => r.value)).toEqual(values);
    const tooBig = await postJson(app.base, '/topics/split/records', [{ value: 'z'.repeat(2000) }]);
    expect(tooBig.status).toBe(413);
    expect(errorCode(tooBig)).toBe('TOO_LARGE');
  });

  it('a ready RecordBatch body is stored as is for ?partition=, whatever the case of its content type', async () => {
    await postJson(app.base, '/topics', { name: 'raw', partitions: 2 });
    const batch = buildRecordBatch([
      { key: null, value: new TextEncoder().encode('r0') },
      { key: null, value: new TextEncoder().encode('r1') },
    ]);
    for (const type of ['application/vnd.kafka.recordbatch', 'Application/Octet-Stream; charset=binary']) {
      const answer = await call(app.base, '/topics/raw/records?partition=1', {
        method: 'POST',
        headers: { 'content-type': type },
        body: batch,
      });
      expect(answer.status).toBe(200);
    }
    const body = await read(app, '/topics/raw/partitions/1/records');
    expect(body.records.map((r) => [r.offset, r.value])).toEqual([
      [0, 'r0'],
      [1, 'r1'],
      [2, 'r0'],
      [3, 'r1'],
    ]);
    const corrupt = batch.slice();
    corrupt[corrupt.length - 1]! ^= 0xff;
    const refused = await call(app.base, '/topics/raw/records?partition=0', {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: corrupt,
    });
    expect(refused.status).toBe(400);
    expect(errorCode(refused)).toBe('INVALID_RECORDS');
    const badPartition = await call(app.base, '/topics/raw/records?partition=2', {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: batch,
    });
    expect(badPartition.status).toBe(400);
  });

  it('acks=0 answers offsets of -1, and an unknown acks value is a 400', async () => {
    await postJson(app.base, '/topics', { name: 'acks' });
    const answer = await postJson(app.base, '/topics/acks/records?acks=0', [{ value: 'a' }]);
    expect(answer.json).toEqual({ offsets: [{ partition: 0, offset: -1 }] });
    expect((await postJson(app.base, '/topics/acks/records?acks=1', [{ value: 'b' }])).json).toEqual({
      offsets: [{ partition: 0, offset: 1 }],
    });
    expect((await postJson(app.base, '/topics/acks/records?acks=2', [{ value: 'c' }])).status).toBe(400);
  });

  it('given maxWaitMs when no record is there yet then the read waits for the next one', async () => {
    await postJson(app.base, '/topics', { name: 'poll' });
    const started = Date.now();
    const pending = read(app, '/topics/poll/partitions/0/records?offset=0&maxWaitMs=4000');
    await new Promise((resolve) => setTimeout(resolve, 150));
    await postJson(app.base, '/topics/poll/records', [{ value: 'late' }]);
    const body = await pending;
    expect(body.records.map((r) => r.value)).toEqual(['late']);
    expect(Date.now() - started).toBeLessThan(3_000);
    const timedOut = Date.now();
    const empty = await read(app, '/topics/poll/partitions/0/records?offset=1&maxWaitMs=200');
    expect(empty.records).toEqual([]);
    expect(Date.now() - timedOut).toBeGreaterThanOrEqual(150);
  });

  it('format=arrow returns the same records as the JSON read, as an Arrow IPC stream', async () => {
    await postJson(app.base, '/topics', { name: 'arrow' });
    await postJson(app.base, '/topics/arrow/records', [
      { key: 'a', value: JSON.stringify({ price: 10.5, sku: 'a' }), headers: { h: '1' } },
      { key: 'b', value: JSON.stringify({ price: 11, inStock: true }) },
      { key: null, value: 'not json' },
    ]);
    const answer = await call(
      app.base,
      '/topics/arrow/partitions/0/records?offset=1&format=arrow&values=json',
    );
    expect(answer.status).toBe(200);
    expect(answer.type).toBe('application/vnd.apache.arrow.stream');
    expect(answer.headers.get('x-pyralog-high-watermark')).toBe('3');
    const table = tableFromIPC(answer.bytes);
    const json = await read(app, '/topics/arrow/partitions/0/records?offset=1');
    expect(table.numRows).toBe(json.records.length);
    expect([...(table.getChild('offset') ?? [])]).toEqual(json.records.map((r) => BigInt(r.offset)));
    expect([...(table.getChild('timestamp') ?? [])]).toEqual(json.records.map((r) => r.timestamp));
    const text = (bytes: Uint8Array | null) => (bytes === null ? null : new TextDecoder().decode(bytes));
    expect([...(table.getChild('key') ?? [])].map(text)).toEqual(json.records.map((r) => r.key));
    expect([...(table.getChild('value') ?? [])].map(text)).toEqual(json.records.map((r) => r.value));
    expect([...(table.getChild('value.price') ?? [])]).toEqual([11, null]);
    expect([...(table.getChild('value.inStock') ?? [])]).toEqual([true, null]);
    expect(table.schema.metadata.get('pyralog.next_offset')).toBe('3');
  });

  it('batches of every codec (gzip, snappy, lz4, zstd) read as records in JSON and Arrow', async () => {
    await postJson(app.base, '/topics', { name: 'codec' });
    const octets = { 'content-type': 'application/octet-stream' };
    const records = (values: string[]) => values.map((v) => ({ key: null, value: utf8(v) }));
    const batches = [
      buildRecordBatch(records(['p0', 'p1'])),
      buildCompressedBatch(records(['g2', 'g3']), CompressionCodec.GZIP),
      buildCompressedBatch(records(['s4']), CompressionCodec.SNAPPY),
      buildCompressedBatch(records(['l5', 'l6']), CompressionCodec.LZ4),
      buildCompressedBatch(records(['z7']), CompressionCodec.ZSTD),
      buildRecordBatch(records(['p8'])),
    ];
    for (const batch of batches) {
      const answer = await call(app.base, '/topics/codec/records', {
        method: 'POST',
        headers: octets,
        body: batch,
      });
      expect(answer.status).toBe(200);
    }
    const values = ['p0', 'p1', 'g2', 'g3', 's4', 'l5', 'l6', 'z7', 'p8'];
    // Plain batches alone decode on the acceptor; a window holding a compressed one goes to the offload pool.
    offloadedReads = 0;
    expect((await read(app, '/topics/codec/partitions/0/records?offset=0&maxBytes=1')).records).toHaveLength(
      2,
    );
    expect(offloadedReads).toBe(0);
    const json = await read(app, '/topics/codec/partitions/0/records?offset=0');
    expect(offloadedReads).toBe(1);
    expect(json.records.map((r) => r.value)).toEqual(values);
    expect(json.nextOffset).toBe(9);
    const fromMiddle = await read(app, '/topics/codec/partitions/0/records?offset=6&limit=2');
    expect(fromMiddle.records.map((r) => r.value)).toEqual(['l6', 'z7']);
    const arrow = await call(app.base, '/topics/codec/partitions/0/records?offset=0&format=arrow');
    expect(arrow.status).toBe(200);
    const table = tableFromIPC(arrow.bytes);
    expect([...(table.getChild('offset') ?? [])]).toEqual(values.map((_, i) => BigInt(i)));
    const text = (bytes: Uint8Array | null) => (bytes === null ? null : new TextDecoder().decode(bytes));
    expect([...(table.getChild('value') ?? [])].map(text)).toEqual(values);
  });

  it('bad read parameters answer 400, an unknown partition 404, and an unknown topic 404', async () => {
    await postJson(app.base, '/topics', { name: 'params', partitions: 2 });
    const cases: [string, number, string][] = [
      ['/topics/params/partitions/0/records?offset=-1', 400, 'BAD_REQUEST'],
      ['/topics/params/partitions/0/records?offset=1e3', 400, 'BAD_REQUEST'],
      ['/topics/params/partitions/0/records?offset=0x10', 400, 'BAD_REQUEST'],
      ['/topics/params/partitions/0/records?maxBytes=0', 400, 'BAD_REQUEST'],
      ['/topics/params/partitions/0/records?maxBytes=-5', 400, 'BAD_REQUEST'],
      ['/topics/params/partitions/0/records?maxBytes=1e9', 400, 'BAD_REQUEST'],
      ['/topics/params/partitions/0/records?limit=0', 400, 'BAD_REQUEST'],
      ['/topics/params/partitions/0/records?limit=ten', 400, 'BAD_REQUEST'],
      ['/topics/params/partitions/0/records?maxWaitMs=999999', 400, 'BAD_REQUEST'],
      ['/topics/params/partitions/0/records?format=csv', 400, 'BAD_REQUEST'],
      ['/topics/params/partitions/0/records?encoding=hex', 400, 'BAD_REQUEST'],
      ['/topics/params/partitions/0/records?values=json', 400, 'BAD_REQUEST'],
      ['/topics/params/partitions/0/records?values=xml&format=arrow', 400, 'BAD_REQUEST'],
      ['/topics/params/partitions/2/records', 404, 'NOT_FOUND'],
      ['/topics/params/partitions/x/records', 404, 'NOT_FOUND'],
      ['/topics/params/partitions/99999999999999999999/records', 404, 'NOT_FOUND'],
      ['/topics/nope/partitions/0/records', 404, 'UNKNOWN_TOPIC'],
    ];
    for (const [path, status, code] of cases) {
      const answer = await call(app.base, path);
      expect({ path, status: answer.status, code: errorCode(answer) }).toEqual({ path, status, code });
    }
  });

  it('given maxBytes and limit above the broker limits when reading then they are clamped and a header says so', async () => {
    await postJson(app.base, '/topics', { name: 'clamp' });
    await postJson(app.base, '/topics/clamp/records', [{ value: 'a' }, { value: 'b' }, { value: 'c' }]);
    const fetchSpy = vi.spyOn(app.engine, 'fetch');
    try {
      const over = app.config.fetchMaxBytes + 1;
      const both = await call(app.base, `/topics/clamp/partitions/0/records?maxBytes=${over}&limit=100001`);
      expect(both.status).toBe(200);
      expect((both.json as ReadBody).records.map((r) => r.value)).toEqual(['a', 'b', 'c']);
      expect(both.headers.get('x-pyralog-clamped')).toBe(
        `maxBytes=${app.config.fetchMaxBytes}, limit=100000`,
      );
      expect(fetchSpy.mock.calls.at(-1)![0].maxBytes).toBe(app.config.fetchMaxBytes);

      // Any run of digits is a number to clamp, however long; the Arrow export clamps the same way.
      const huge = await call(
        app.base,
        '/topics/clamp/partitions/0/records?maxBytes=99999999999999999999999&format=arrow',
      );
      expect(huge.status).toBe(200);
      expect(huge.headers.get('x-pyralog-clamped')).toBe(`maxBytes=${app.config.fetchMaxBytes}`);
      expect(tableFromIPC(huge.bytes).numRows).toBe(3);

      const onlyLimit = await call(app.base, '/topics/clamp/partitions/0/records?limit=5000000&offset=1');
      expect(onlyLimit.headers.get('x-pyralog-clamped')).toBe('limit=100000');
      expect((onlyLimit.json as ReadBody).records.map((r) => r.value)).toEqual(['b', 'c']);

      // Within the limits nothing is said.
      const within = await call(
        app.base,
        `/topics/clamp/partitions/0/records?maxBytes=${app.config.fetchMaxBytes}&limit=100000`,
      );
      expect(within.status).toBe(200);
      expect(within.headers.get('x-pyralog-clamped')).toBeNull();
    } finally {
      fetchSpy.mockRestore();
    }
  });

  it('bad produce bodies answer 400 naming the record, and nothing is written', async () => {
    await postJson(app.base, '/topics', { name: 'strict', partitions: 2 });
    const cases: [string, RegExp][] = [
      ['', /not valid JSON/],
      ['{"value":"x"}', /non-empty JSON array/],
      ['[]', /non-empty JSON array/],
      ['[1]', /record 0 must be an object/],
      ['[{"value":5}]', /record 0 value/],
      ['[{"value":"x"},{"key":{}}]', /record 1 key/],
      ['[{"value":"x","partition":2}]', /partition 2 does not exist/],
      ['[{"value":"x","partition":-1}]', /partition/],
      ['[{"value":"%%%","encoding":"base64"}]', /base64/],
      ['[{"value":"x","encoding":"hex"}]', /encoding/],
      ['[{"value":"x","headers":["h"]}]', /headers/],
      ['[{"value":"x","headers":{"h":7}}]', /header h/],
      ['[{"value":"x","timestamp":"now"}]', /timestamp/],
    ];
    for (const [body, message] of cases) {
      const answer = await call(app.base, '/topics/strict/records', { method: 'POST', body });
      expect({ body, status: answer.status, code: errorCode(answer) }).toEqual({
        body,
        status: 400,
        code: 'BAD_REQUEST',
      });
      expect((answer.json as { error: { message: string } }).error.message).toMatch(message);
    }
    const invalidUtf8 = await call(app.base, '/topics/strict/records', {
      method: 'POST',
      body: new Uint8Array([0x5b, 0xff, 0x5d]),
    });
    expect(invalidUtf8.status).toBe(400);
    const described = (await call(app.base, '/topics/strict')).json as {
      partitions: { logEndOffset: number }[];
    };
    expect(described.partitions.map((p) => p.logEndOffset)).toEqual([0, 0]);
  });
});

/** An engine whose partition 1 refuses every produce, and whose topic "stuck" never answers. */
class FlakyEngine extends MemoryEngine {
  override async produce(
    topic: string,
    partition: number,
    batch: Uint8Array,
    acks: Acks,
  ): Promise<ProduceOutcome> {
    if (topic === 'stuck') return new Promise<ProduceOutcome>(() => undefined);
    if (partition === 1) {
      return produceFailure(KafkaErrorCode.KAFKA_STORAGE_ERROR, 'disk on fire');
    }
    return super.produce(topic, partition, batch, acks);
  }
}

describe('HTTP produce when the engine fails', () => {
  let app: HttpAppFixture;
  beforeAll(async () => {
    app = await startHttpApp({ engine: new FlakyEngine(), config: { requestTimeoutMs: 300 } });
    await postJson(app.base, '/topics', { name: 'mixed', partitions: 2 });
    await postJson(app.base, '/topics', { name: 'stuck' });
  });
  afterAll(() => app.close());

  it('given one partition failing then the error says so and offsets show what was written', async () => {
    const answer: Answer = await postJson(app.base, '/topics/mixed/records', [
      { value: 'a', partition: 0 },
      { value: 'b', partition: 1 },
      { value: 'c', partition: 0 },
    ]);
    expect(answer.status).toBe(503);
    expect(answer.json).toEqual({
      error: { code: 'UNAVAILABLE', message: 'partition 1: disk on fire' },
      offsets: [{ partition: 0, offset: 0 }, null, { partition: 0, offset: 1 }],
    });
  });

  it('given an engine that never answers then the request gets 503 after the request timeout', async () => {
    const started = Date.now();
    const answer = await postJson(app.base, '/topics/stuck/records', [{ value: 'a' }]);
    expect(answer.status).toBe(503);
    expect((answer.json as { error: { message: string } }).error.message).toMatch(/timed out after 300 ms/);
    expect(Date.now() - started).toBeLessThan(3_000);
  });
});
