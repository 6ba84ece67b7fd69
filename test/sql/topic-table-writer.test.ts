import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeInt64 } from '../../src/common/offset.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { BatchHeader, CompressionCodec } from '../../src/record/batch-header.js';
import { buildCompressedBatch } from '../../src/record/compression.js';
import type { ProducedRecord } from '../../src/record/record.js';
import { type DuckDbTextAddon, duckDbTextAddon } from '../../src/sql/duckdb-text-addon.js';
import { walkRecords } from '../../src/sql/topic-rows.js';
import { TopicTableWriter } from '../../src/sql/topic-table-writer.js';

const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** What a key or value reads as: its text, or null when absent or not UTF-8. */
function expectedText(bytes: Uint8Array | null): string | null {
  if (bytes === null) return null;
  try {
    return utf8Strict.decode(bytes);
  } catch {
    return null;
  }
}

function isNotText(bytes: Uint8Array | null): boolean {
  return bytes !== null && expectedText(bytes) === null;
}

/** Bytes that are often UTF-8 and often almost: ASCII, any text, and raw bytes with the edge cases of UTF-8. */
const fieldBytes = fc.oneof(
  fc.constant(null),
  fc.string({ maxLength: 40 }).map((text) => new TextEncoder().encode(text)),
  fc.string({ unit: 'binary', maxLength: 20 }).map((text) => new TextEncoder().encode(text)),
  fc.uint8Array({ maxLength: 24 }),
  fc
    .array(
      fc.constantFrom(
        [0xc0, 0x80],
        [0xc2, 0x80],
        [0xe0, 0x9f, 0x80],
        [0xe0, 0xa0, 0x80],
        [0xed, 0xa0, 0x80],
        [0xed, 0x9f, 0xbf],
        [0xf0, 0x8f, 0x80, 0x80],
        [0xf0, 0x90, 0x80, 0x80],
        [0xf4, 0x8f, 0xbf, 0xbf],
        [0xf4, 0x90, 0x80, 0x80],
        [0xf5, 0x80, 0x80, 0x80],
        [0xe2, 0x82],
        [0x41],
        [0x80],
      ),
      { maxLength: 6 },
    )
    .map((parts) => new Uint8Array(parts.flat())),
);

const batchArb = fc.record({
  codec: fc.constantFrom(
    CompressionCodec.NONE,
    CompressionCodec.NONE,
    CompressionCodec.GZIP,
    CompressionCodec.ZSTD,
  ),
  records: fc.array(fc.record({ key: fieldBytes, value: fieldBytes }), { minLength: 1, maxLength: 40 }),
});

const implementations: [string, DuckDbTextAddon | null][] = [['one call per field', null]];
if (duckDbTextAddon !== null) implementations.push(['the addon, one call per batch', duckDbTextAddon]);

/** Keys and values into DuckDB string vectors: both ways must read back exactly what TextDecoder says. */
describe('topic table writer', () => {
  let instance: DuckDBInstance;
  beforeAll(async () => {
    instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  });
  afterAll(() => instance.closeSync());

  it('loads the addon where npm install built it', () => {
    // A built addon that does not load would silently fall back to the slow path.
    const built = existsSync(
      fileURLToPath(new URL('../../src/native/build/Release/duckdb_text.node', import.meta.url)),
    );
    if (built && process.env.PYRALOG_SQL_TEXT !== 'js') expect(duckDbTextAddon).not.toBeNull();
  });

  async function load(
    connection: DuckDBConnection,
    records: Uint8Array,
    addon: DuckDbTextAddon | null,
  ): Promise<{ rows: unknown[][]; notText: number }> {
    const writer = await TopicTableWriter.create(connection, 't', undefined, addon);
    walkRecords(records, 0, Number.POSITIVE_INFINITY, writer);
    writer.finish();
    const reader = await connection.runAndReadAll('SELECT "offset", key, value FROM t ORDER BY "offset"');
    const rows = reader.getRowsJS();
    await connection.run('DROP TABLE t');
    return { rows, notText: writer.notText };
  }

  for (const [name, addon] of implementations) {
    it(`given keys and values of any bytes, with ${name}, should read each as its text or NULL and count the rest`, async () => {
      const connection = await instance.connect();
      try {
        await fc.assert(
          fc.asyncProperty(fc.array(batchArb, { minLength: 1, maxLength: 120 }), async (batches) => {
            const parts: Uint8Array[] = [];
            const expected: [bigint, string | null, string | null][] = [];
            let notText = 0;
            let offset = 0;
            for (const { codec, records } of batches) {
              const produced: ProducedRecord[] = records.map(({ key, value }) => ({ key, value }));
              const batch =
                codec === CompressionCodec.NONE
                  ? buildRecordBatch(produced)
                  : buildCompressedBatch(produced, codec);
              writeInt64(new DataView(batch.buffer, batch.byteOffset), BatchHeader.BASE_OFFSET, offset);
              parts.push(batch);
              for (const { key, value } of records) {
                expected.push([BigInt(offset++), expectedText(key), expectedText(value)]);
                notText += Number(isNotText(key)) + Number(isNotText(value));
              }
            }
            const all = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
            let position = 0;
            for (const part of parts) {
              all.set(part, position);
              position += part.length;
            }
            const loaded = await load(connection, all, addon);
            expect(loaded.rows).toEqual(expected);
            expect(loaded.notText).toBe(notText);
          }),
          { numRuns: 40 },
        );
      } finally {
        connection.closeSync();
      }
    });
  }

  it.runIf(duckDbTextAddon !== null)('refuses positions outside the bytes, assigning nothing', async () => {
    const addon = duckDbTextAddon!;
    const connection = await instance.connect();
    try {
      const writer = await TopicTableWriter.create(connection, 't');
      const vector = (writer as unknown as { valueVector: Parameters<DuckDbTextAddon['assignText']>[0] })
        .valueVector;
      const valid = new Uint8Array(256);
      const bytes = new Uint8Array(8);
      expect(() => addon.assignText(vector, bytes, new Int32Array([4, 5]), 0, 1, valid)).toThrow(RangeError);
      expect(() => addon.assignText(vector, bytes, new Int32Array([-1, 2]), 0, 1, valid)).toThrow(RangeError);
      expect(() => addon.assignText(vector, bytes, new Int32Array([0, 2]), 0, 2, valid)).toThrow(RangeError);
      expect(valid.every((bits) => bits === 0)).toBe(true);
      writer.finish();
    } finally {
      connection.closeSync();
    }
  });
});
