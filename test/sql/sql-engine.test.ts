import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeInt64 } from '../../src/common/offset.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { BatchHeader, CompressionCodec } from '../../src/record/batch-header.js';
import { buildCompressedBatch } from '../../src/record/compression.js';
import type { ProducedRecord } from '../../src/record/record.js';
import { SqlEngine } from '../../src/sql/sql-engine.js';
import { DEFAULT_SQL_LIMITS } from '../../src/sql/sql-limits.js';

const encoder = new TextEncoder();

function text(value: string): Uint8Array {
  return encoder.encode(value);
}

/** A batch placed at `baseOffset`, as the broker stores it. */
function at(baseOffset: number, batch: Uint8Array): Uint8Array {
  writeInt64(
    new DataView(batch.buffer, batch.byteOffset, batch.byteLength),
    BatchHeader.BASE_OFFSET,
    baseOffset,
  );
  return batch;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let position = 0;
  for (const part of parts) {
    out.set(part, position);
    position += part.length;
  }
  return out;
}

/** The SQL worker's DuckDB, in-process: loading record batches, answering queries, refusing everything else. */
describe('SQL engine', () => {
  let engine: SqlEngine;
  let nextQuery = 1;
  beforeAll(async () => {
    engine = await SqlEngine.open({ ...DEFAULT_SQL_LIMITS, rowsMax: 50 });
  });
  afterAll(() => engine.close());

  /** Plans `sql` over `topics`, loads each topic's partition 0 with `records`, runs it. */
  async function query(sql: string, records: Record<string, Uint8Array>, format: 'json' | 'arrow' = 'json') {
    const id = nextQuery++;
    const scans = await engine.plan(id, sql, Object.keys(records));
    for (const scan of scans)
      engine.load(id, scan.topic, 0, 0, Number.POSITIVE_INFINITY, records[scan.topic]!);
    return engine.run(id, sql, format);
  }

  it('given batches of every codec should read each record with its offset, time, key, value and headers', async () => {
    const codecs = [
      CompressionCodec.NONE,
      CompressionCodec.GZIP,
      CompressionCodec.SNAPPY,
      CompressionCodec.LZ4,
      CompressionCodec.ZSTD,
    ];
    const batches = codecs.map((codec, i) => {
      const records: ProducedRecord[] = [
        { key: text(`k${i}`), value: text(`{"codec":${codec}}`), timestampMs: 1_700_000_000_000 + i },
        {
          key: null,
          value: null,
          headers: [{ key: 'h', value: text('v') }],
          timestampMs: 1_700_000_000_000 + i,
        },
      ];
      return at(
        i * 2,
        codec === CompressionCodec.NONE ? buildRecordBatch(records) : buildCompressedBatch(records, codec),
      );
    });
    const result = await query(
      `SELECT "offset", epoch_ms("timestamp") AS ms, key, value->>'$.codec' AS codec, headers FROM topic ORDER BY "offset"`,
      { topic: concat(...batches) },
    );
    expect(result.rows).toEqual(
      codecs.flatMap((codec, i) => [
        [i * 2, 1_700_000_000_000 + i, `k${i}`, String(codec), null],
        [i * 2 + 1, 1_700_000_000_000 + i, null, null, '{"h":"v"}'],
      ]),
    );
  });

  it('given many records should load them across data chunks and aggregate them', async () => {
    const records = Array.from({ length: 5000 }, (_, i) => ({
      key: text(`u${i % 7}`),
      value: text(`{"n":${i}}`),
    }));
    const result = await query(
      `SELECT count(*) AS n, sum((value->>'$.n')::INTEGER) AS total, count(DISTINCT key) AS keys FROM t`,
      { t: at(0, buildRecordBatch(records)) },
    );
    expect(result.rows).toEqual([[5000, (4999 * 5000) / 2, 7]]);
  });

  it('given bytes that are not UTF-8 should read that value as NULL and count it', async () => {
    const result = await query(`SELECT value FROM bin ORDER BY "offset"`, {
      bin: at(
        0,
        buildRecordBatch([
          { key: null, value: Uint8Array.of(0xff, 0xfe) },
          { key: null, value: text('ok é') },
        ]),
      ),
    });
    expect(result.rows).toEqual([[null], ['ok é']]);
    expect(result.notText).toBe(1);
  });

  it('given more rows than the limit should send the limit and say it was truncated', async () => {
    const records = Array.from({ length: 120 }, (_, i) => ({ key: null, value: text(String(i)) }));
    const result = await query('SELECT value FROM many', { many: at(0, buildRecordBatch(records)) });
    expect(result.rowCount).toBe(50);
    expect(result.rows).toHaveLength(50);
    expect(result.truncated).toBe(true);
  });

  it('given a query that needs more memory than the limit should fail it with SQL_OUT_OF_MEMORY and serve the next', async () => {
    const small = await SqlEngine.open({ ...DEFAULT_SQL_LIMITS, memoryBytes: 16 * 1024 * 1024 });
    try {
      const sql = `SELECT count(*) FROM (SELECT DISTINCT repeat('x', 50) || range::VARCHAR FROM range(3000000))`;
      await small.plan(1, sql, []);
      await expect(small.run(1, sql, 'json')).rejects.toMatchObject({ code: 'SQL_OUT_OF_MEMORY' });
      await small.plan(2, 'SELECT 1', []);
      expect((await small.run(2, 'SELECT 1', 'json')).rows).toEqual([[1]]);
    } finally {
      small.close();
    }
  });

  it('answers Arrow IPC when asked', async () => {
    const result = await query(
      `SELECT count(*) AS n FROM a`,
      { a: at(0, buildRecordBatch([{ key: null, value: text('x') }])) },
      'arrow',
    );
    const { tableFromIPC } = await import('apache-arrow');
    const table = tableFromIPC(result.arrow!);
    expect(table.getChild('n')?.get(0)).toBe(1n);
  });

  it.each([
    ["COPY (SELECT 1) TO '/tmp/pyralog-sql-escape.csv'", 'SQL_NOT_READ_ONLY'],
    ["SELECT * FROM read_csv('/etc/passwd')", 'SQL_NOT_READ_ONLY'],
    ["SELECT * FROM read_text('/etc/hostname')", 'SQL_NOT_READ_ONLY'],
    ["ATTACH '/tmp/pyralog-sql-escape.db'", 'SQL_NOT_READ_ONLY'],
    ['SET enable_external_access = true', 'SQL_NOT_READ_ONLY'],
    ['INSTALL httpfs', 'SQL_NOT_READ_ONLY'],
    ['CREATE TABLE x (a INT)', 'SQL_NOT_READ_ONLY'],
    ['SELECT 1; SELECT 2', 'SQL_INVALID'],
    ['SELEKT 1', 'SQL_INVALID'],
    ["SELECT * FROM 'https://example.com/x.parquet'", 'SQL_NOT_READ_ONLY'],
  ])('refuses %s with %s', async (sql, code) => {
    await expect(query(sql, {})).rejects.toMatchObject({ code });
  });

  it('given read_csv inside an otherwise valid query should still refuse it (DuckDB is locked, not just the parser)', async () => {
    await expect(
      query(`SELECT * FROM t, read_csv('/etc/passwd')`, {
        t: at(0, buildRecordBatch([{ key: null, value: text('x') }])),
      }),
    ).rejects.toMatchObject({ code: 'SQL_NOT_READ_ONLY' });
  });
});
