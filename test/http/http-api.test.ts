import { tableFromIPC } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { type HttpFixture, startHttpFixture } from '../support/http-fixture.js';

/** The HTTP API over real sockets on 127.0.0.1. */
describe('HTTP API', () => {
  let fixture: HttpFixture;
  const call = async (path: string, init?: RequestInit) => {
    const response = await fetch(`${fixture.base}${path}`, { ...init, signal: AbortSignal.timeout(10_000) });
    const type = response.headers.get('content-type') ?? '';
    const body: unknown = type.includes('json')
      ? await response.json()
      : new Uint8Array(await response.arrayBuffer());
    return { status: response.status, type, body };
  };
  const post = (path: string, body: unknown) =>
    call(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  beforeAll(async () => {
    fixture = await startHttpFixture({ maxFrameBytes: 64 * 1024 });
  });
  afterAll(() => fixture.close());

  it('answers /health and Prometheus /metrics', async () => {
    expect((await call('/health')).body).toEqual({ status: 'ok' });
    const metrics = await fetch(`${fixture.base}/metrics`);
    expect(metrics.headers.get('content-type')).toContain('text/plain');
    const lines = (await metrics.text()).split('\n').filter((line) => line && !line.startsWith('#'));
    for (const line of lines) expect(line).toMatch(/^[a-z_]+(\{[^}]*\})? [0-9.e+-]+$/);
  });

  it('creates, lists, describes and deletes topics', async () => {
    expect(
      (await post('/topics', { name: 'alpha', partitions: 3, config: { 'retention.ms': 60000 } })).status,
    ).toBe(201);
    expect((await post('/topics', { name: 'alpha', partitions: 3 })).status).toBe(409);
    const list = (await call('/topics')).body as { topics: { name: string; partitions: number }[] };
    expect(list.topics).toContainEqual(expect.objectContaining({ name: 'alpha', partitions: 3 }));
    const described = (await call('/topics/alpha')).body as {
      partitions: { partition: number; logEndOffset: number }[];
      config: Record<string, string>;
    };
    expect(described.partitions.map((p) => p.partition)).toEqual([0, 1, 2]);
    expect(described.config['retention.ms']).toBe('60000');
    expect((await call('/topics/alpha', { method: 'DELETE' })).status).toBe(200);
    expect((await call('/topics/alpha')).status).toBe(404);
  });

  it('produces JSON records and reads them back in the documented shape', async () => {
    await post('/topics', { name: 'beta', partitions: 2 });
    const produced = (await post('/topics/beta/records', [
      { key: 'k', value: 'v0', partition: 0, headers: { h: 'x' } },
      { key: null, value: 'v1', partition: 0 },
      { value: Buffer.from('binary\u0000').toString('base64'), encoding: 'base64', partition: 1 },
    ])) as { status: number; body: { offsets: { partition: number; offset: number }[] } };
    expect(produced.status).toBe(200);
    expect(produced.body.offsets).toEqual([
      { partition: 0, offset: 0 },
      { partition: 0, offset: 1 },
      { partition: 1, offset: 0 },
    ]);
    const read = (await call('/topics/beta/partitions/0/records?offset=1')).body as {
      records: { offset: number; key: string | null; value: string; headers: Record<string, string> }[];
      highWatermark: number;
    };
    expect(read.highWatermark).toBe(2);
    expect(read.records).toEqual([
      expect.objectContaining({ offset: 1, key: null, value: 'v1', headers: {} }),
    ]);
    const first = (await call('/topics/beta/partitions/0/records?offset=0&limit=1')).body as {
      records: { headers: Record<string, string> }[];
    };
    expect(first.records).toHaveLength(1);
    expect(first.records[0]?.headers).toEqual({ h: 'x' });
    const encoded = (await call('/topics/beta/partitions/1/records?encoding=base64')).body as {
      records: { value: string }[];
    };
    expect(Buffer.from(encoded.records[0]!.value, 'base64').toString()).toBe('binary\u0000');
  });

  it('accepts a ready RecordBatch as the body', async () => {
    await post('/topics', { name: 'gamma', partitions: 1 });
    const batch = buildRecordBatch([{ key: null, value: new TextEncoder().encode('raw') }]);
    const response = await call('/topics/gamma/records?partition=0', {
      method: 'POST',
      headers: { 'content-type': 'application/vnd.kafka.recordbatch' },
      body: batch,
    });
    expect(response.body).toEqual({ offsets: [{ partition: 0, offset: 0 }] });
  });

  it('exports records as an Arrow IPC stream, with JSON values as typed columns', async () => {
    await post('/topics', { name: 'delta', partitions: 1 });
    await post('/topics/delta/records', [
      { value: JSON.stringify({ price: 10.5, sku: 'a' }) },
      { value: JSON.stringify({ price: 11, inStock: true }) },
      { value: 'not json' },
    ]);
    const response = await call('/topics/delta/partitions/0/records?offset=1&format=arrow&values=json');
    expect(response.type).toBe('application/vnd.apache.arrow.stream');
    const table = tableFromIPC(response.body as Uint8Array);
    expect(table.numRows).toBe(2);
    expect(table.getChild('offset')?.toArray()).toEqual(BigInt64Array.from([1n, 2n]));
    expect([...(table.getChild('value.price') ?? [])]).toEqual([11, null]);
    expect([...(table.getChild('value.inStock') ?? [])]).toEqual([true, null]);
    expect(table.schema.fields.map((f) => f.name)).toEqual([
      'offset',
      'timestamp',
      'key',
      'value',
      'headers',
      'value.price',
      'value.inStock',
    ]);
  });

  it('answers bad input with JSON errors and the right status, and keeps serving', async () => {
    const cases: [string, RequestInit | undefined, number, string][] = [
      ['/topics/nope', undefined, 404, 'UNKNOWN_TOPIC'],
      ['/topics/nope/records', { method: 'POST', body: '[{"value":"x"}]' }, 404, 'UNKNOWN_TOPIC'],
      ['/topics', { method: 'POST', body: '{not json' }, 400, 'BAD_REQUEST'],
      ['/topics', { method: 'POST', body: '{"name":"x","partitions":0}' }, 400, 'BAD_REQUEST'],
      [
        '/topics',
        { method: 'POST', body: '{"name":"x","config":{"retention.ms":"soon"}}' },
        400,
        'INVALID_CONFIG',
      ],
      ['/topics/beta/records', { method: 'POST', body: '[]' }, 400, 'BAD_REQUEST'],
      ['/topics/beta/records', { method: 'POST', body: '[{"value":5}]' }, 400, 'BAD_REQUEST'],
      ['/topics/beta/partitions/9/records', undefined, 404, 'NOT_FOUND'],
      ['/topics/beta/partitions/0/records?offset=99', undefined, 416, 'OFFSET_OUT_OF_RANGE'],
      ['/nowhere', undefined, 404, 'NOT_FOUND'],
      ['/health', { method: 'PUT' }, 405, 'METHOD_NOT_ALLOWED'],
    ];
    for (const [path, init, status, code] of cases) {
      const response = await call(path, init);
      expect({ path, status: response.status }).toEqual({ path, status });
      expect((response.body as { error: { code: string } }).error.code).toBe(code);
    }
    expect((await call('/health')).status).toBe(200);
  });

  it('refuses a body over the frame limit with 413 without reading it all', async () => {
    const big = JSON.stringify([{ value: 'x'.repeat(200 * 1024) }]);
    const response = await call('/topics/beta/records', { method: 'POST', body: big });
    expect(response.status).toBe(413);
    expect((response.body as { error: { code: string } }).error.code).toBe('TOO_LARGE');
    expect((await call('/health')).status).toBe(200);
  });
});
