import { type List, type Struct, type Table, tableFromIPC } from 'apache-arrow';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { BatchAttributes, BatchHeader, CompressionCodec } from '../../src/record/batch-header.js';
import { buildCompressedBatch } from '../../src/record/compression.js';
import type { ProducedRecord } from '../../src/record/record.js';
import { encodeRecordsAsArrow, JSON_COLUMNS_MAX } from '../../src/server/arrow-export.js';

const text = new TextEncoder();
const utf8 = (value: string) => text.encode(value);

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function jsonRecords(values: readonly string[], baseOffset = 0): Uint8Array {
  return buildRecordBatch(
    values.map((value) => ({ key: null, value: utf8(value) })),
    { baseOffset },
  );
}

const column = (table: Table, name: string) => [...(table.getChild(name) ?? [])];

/** The Arrow export, called directly and read back with apache-arrow. */
describe('encodeRecordsAsArrow', () => {
  it('given no records then the stream holds the schema and zero rows', () => {
    const table = tableFromIPC(
      encodeRecordsAsArrow({ records: new Uint8Array(0), fromOffset: 0, limit: 10, valuesAsJson: true }),
    );
    expect(table.numRows).toBe(0);
    expect(
      table.schema.fields.map((field) => `${field.name}: ${String(field.type)} ${field.nullable}`),
    ).toEqual([
      'offset: Int64 false',
      'timestamp: Timestamp<MILLISECOND> false',
      'key: Binary true',
      'value: Binary true',
      'headers: List<Struct<{key:Utf8, value:Binary}>> false',
    ]);
    const item = (table.schema.fields[4]!.type as List).children[0]!;
    expect((item.type as Struct).children.map((f) => `${f.name} ${f.nullable}`)).toEqual([
      'key false',
      'value true',
    ]);
  });

  it('skips records before fromOffset in the first batch, stops at limit, and keeps every field', () => {
    const first: ProducedRecord[] = [
      { key: utf8('k0'), value: utf8('v0'), timestampMs: 1000 },
      { key: null, value: utf8('v1'), timestampMs: 1001, headers: [{ key: 'h', value: utf8('x') }] },
      { key: utf8('k2'), value: null, timestampMs: 1002, headers: [{ key: 'n', value: null }] },
    ];
    const second: ProducedRecord[] = [
      { key: utf8('k3'), value: new Uint8Array([0, 255]), timestampMs: 2000 },
      { key: utf8('k4'), value: utf8('v4'), timestampMs: 2001 },
    ];
    const records = concat(
      buildRecordBatch(first, { baseOffset: 10 }),
      buildRecordBatch(second, { baseOffset: 13 }),
    );
    const table = tableFromIPC(
      encodeRecordsAsArrow({ records, fromOffset: 11, limit: 3, valuesAsJson: false }),
    );
    expect(table.numRows).toBe(3);
    expect(column(table, 'offset')).toEqual([11n, 12n, 13n]);
    expect(column(table, 'timestamp')).toEqual([1001, 1002, 2000]);
    const bytes = (value: Uint8Array | null) => (value === null ? null : [...value]);
    expect(column(table, 'key').map(bytes)).toEqual([null, [...utf8('k2')], [...utf8('k3')]]);
    expect(column(table, 'value').map(bytes)).toEqual([[...utf8('v1')], null, [0, 255]]);
    const headers = column(table, 'headers').map((list) =>
      [...list].map((h: { key: string; value: Uint8Array | null }) => [h.key, bytes(h.value)]),
    );
    expect(headers).toEqual([[['h', [...utf8('x')]]], [['n', null]], []]);
    expect(table.schema.metadata.get('pyralog.next_offset')).toBe('14');
  });

  it('decodes compressed batches and steps over control batches', () => {
    const compressed = buildCompressedBatch(
      [
        { key: null, value: utf8('g0') },
        { key: null, value: utf8('g1') },
      ],
      CompressionCodec.GZIP,
      { baseOffset: 0 },
    );
    const control = buildRecordBatch([{ key: new Uint8Array(4), value: new Uint8Array(6) }], {
      baseOffset: 2,
    });
    const view = new DataView(control.buffer, control.byteOffset);
    view.setInt16(BatchHeader.ATTRIBUTES, view.getInt16(BatchHeader.ATTRIBUTES) | BatchAttributes.CONTROL);
    const plain = buildRecordBatch([{ key: null, value: utf8('p3') }], { baseOffset: 3 });
    const records = concat(compressed, control, plain);
    const table = tableFromIPC(
      encodeRecordsAsArrow({ records, fromOffset: 0, limit: 100, valuesAsJson: false }),
    );
    expect(column(table, 'offset')).toEqual([0n, 1n, 3n]);
    expect(column(table, 'value').map((v: Uint8Array) => new TextDecoder().decode(v))).toEqual([
      'g0',
      'g1',
      'p3',
    ]);
    expect(table.schema.metadata.get('pyralog.next_offset')).toBe('4');
  });

  it('given values=json then JSON object values become typed columns, null where a field is missing', () => {
    const values = [
      JSON.stringify({ price: 10.5, sku: 'a', ok: true, mixed: 1, nested: { x: 1 } }),
      JSON.stringify({ price: 11, ok: false, mixed: 'two', extra: null }),
      'not json',
      JSON.stringify([1, 2]),
      JSON.stringify(5),
      JSON.stringify({ sku: 'c', mixed: [3], list: [1, 'a'] }),
    ];
    const table = tableFromIPC(
      encodeRecordsAsArrow({ records: jsonRecords(values), fromOffset: 0, limit: 100, valuesAsJson: true }),
    );
    const jsonFields = table.schema.fields.slice(5).map((f) => `${f.name}: ${String(f.type)} ${f.nullable}`);
    expect(jsonFields).toEqual([
      'value.price: Float64 true',
      'value.sku: Utf8 true',
      'value.ok: Bool true',
      'value.mixed: Utf8 true',
      'value.nested: Utf8 true',
      'value.extra: Utf8 true',
      'value.list: Utf8 true',
    ]);
    expect(column(table, 'value.price')).toEqual([10.5, 11, null, null, null, null]);
    expect(column(table, 'value.sku')).toEqual(['a', null, null, null, null, 'c']);
    expect(column(table, 'value.ok')).toEqual([true, false, null, null, null, null]);
    // Mixed types keep every value, each as JSON text.
    expect(column(table, 'value.mixed')).toEqual(['1', '"two"', null, null, null, '[3]']);
    expect(column(table, 'value.nested')).toEqual(['{"x":1}', null, null, null, null, null]);
    expect(column(table, 'value.extra')).toEqual([null, null, null, null, null, null]);
    expect(column(table, 'value.list')).toEqual([null, null, null, null, null, '[1,"a"]']);
    // The raw value column is still there, untouched.
    expect(new TextDecoder().decode(column(table, 'value')[2] as Uint8Array)).toBe('not json');
  });

  it('given more JSON fields than the cap then the first ones are kept and the rest counted in metadata', () => {
    const wide = Object.fromEntries(Array.from({ length: JSON_COLUMNS_MAX + 44 }, (_, i) => [`f${i}`, i]));
    const table = tableFromIPC(
      encodeRecordsAsArrow({
        records: jsonRecords([JSON.stringify(wide)]),
        fromOffset: 0,
        limit: 1,
        valuesAsJson: true,
      }),
    );
    expect(table.schema.fields.length).toBe(5 + JSON_COLUMNS_MAX);
    expect(table.schema.fields.at(-1)!.name).toBe(`value.f${JSON_COLUMNS_MAX - 1}`);
    expect(table.schema.metadata.get('pyralog.omitted_json_fields')).toBe('44');
  });

  it('round-trips any records: what is read back equals what was written, from fromOffset up to limit', () => {
    const bytes = fc.option(fc.uint8Array({ maxLength: 40 }), { nil: null });
    const record = fc.record({
      key: bytes,
      value: bytes,
      timestampMs: fc.integer({ min: 0, max: 2 ** 41 }),
      headers: fc.array(fc.record({ key: fc.string({ maxLength: 8 }), value: bytes }), { maxLength: 3 }),
    });
    fc.assert(
      fc.property(
        fc.array(fc.array(record, { minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 4 }),
        fc.nat(40),
        fc.integer({ min: 1, max: 40 }),
        (batches, fromOffset, limit) => {
          let offset = 0;
          const parts = batches.map((records) => {
            const batch = buildRecordBatch(records, { baseOffset: offset });
            offset += records.length;
            return batch;
          });
          const all = batches.flat();
          const table = tableFromIPC(
            encodeRecordsAsArrow({ records: concat(...parts), fromOffset, limit, valuesAsJson: false }),
          );
          const expected = all.slice(fromOffset, fromOffset + limit);
          expect(table.numRows).toBe(expected.length);
          const rows = table.toArray().map((row) => row.toJSON());
          rows.forEach((row, i) => {
            const want = expected[i]!;
            expect(row.offset).toBe(BigInt(fromOffset + i));
            expect(row.timestamp).toBe(want.timestampMs);
            expect(row.key === null ? null : [...row.key]).toEqual(want.key === null ? null : [...want.key]);
            expect(row.value === null ? null : [...row.value]).toEqual(
              want.value === null ? null : [...want.value],
            );
            const headers = [...row.headers].map((h: { key: string; value: Uint8Array | null }) => ({
              key: h.key,
              value: h.value === null ? null : [...h.value],
            }));
            expect(headers).toEqual(
              want.headers.map((h) => ({ key: h.key, value: h.value === null ? null : [...h.value] })),
            );
          });
        },
      ),
      { numRuns: 60, seed: 20_251_123 },
    );
  });
});
