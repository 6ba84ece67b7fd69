import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readInt64 } from '../../src/common/offset.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { BatchCheckFailure, checkBatch } from '../../src/record/batch-check.js';
import { BatchHeader } from '../../src/record/batch-header.js';
import { decodeBatchRecords, decodeRecordSet } from '../../src/record/batch-reader.js';
import { crc32c } from '../../src/record/crc32c.js';
import type { ProducedRecord } from '../../src/record/record.js';

const text = new TextEncoder();

/**
 * A one-record batch written out by hand from the RecordBatch and Record
 * grammars in the Kafka documentation ("Message Format": 5.3.1 Record Batch,
 * 5.3.2 Record): header fields in order, big-endian; the record's fields as
 * zig-zag varints. Key "k", value "v", no headers, created at 1700000000000.
 */
function handBuiltBatch(): Uint8Array {
  const record = [
    0x10, // length: 8 bytes follow (zig-zag 16)
    0x00, // attributes
    0x00, // timestampDelta 0
    0x00, // offsetDelta 0
    0x02, // keyLength 1
    0x6b, // "k"
    0x02, // valueLength 1
    0x76, // "v"
    0x00, // headers: 0
  ];
  const ts = [0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00]; // 1700000000000 = 0x18BCFE56800
  const header = [
    ...[0, 0, 0, 0, 0, 0, 0, 0], // baseOffset 0
    ...[0, 0, 0, 58], // batchLength: 61 - 12 + 9
    ...[0xff, 0xff, 0xff, 0xff], // partitionLeaderEpoch -1
    0x02, // magic
    ...[0, 0, 0, 0], // crc, filled below
    ...[0, 0], // attributes: no compression, CreateTime
    ...[0, 0, 0, 0], // lastOffsetDelta 0
    ...ts, // baseTimestamp
    ...ts, // maxTimestamp
    ...[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], // producerId -1
    ...[0xff, 0xff], // producerEpoch -1
    ...[0xff, 0xff, 0xff, 0xff], // baseSequence -1
    ...[0, 0, 0, 1], // recordCount 1
  ];
  const bytes = Uint8Array.from([...header, ...record]);
  new DataView(bytes.buffer).setUint32(17, crc32c(bytes, 21));
  return bytes;
}

const recordArb: fc.Arbitrary<ProducedRecord> = fc.record({
  key: fc.option(fc.uint8Array({ maxLength: 40 }), { nil: null }),
  value: fc.option(fc.uint8Array({ maxLength: 300 }), { nil: null }),
  headers: fc.array(
    fc.record({
      key: fc.string({ maxLength: 10 }),
      value: fc.option(fc.uint8Array({ maxLength: 20 }), { nil: null }),
    }),
    { maxLength: 3 },
  ),
  timestampMs: fc.integer({ min: 1_600_000_000_000, max: 1_800_000_000_000 }),
});

describe('RecordBatch v2 codec', () => {
  it('builds exactly the bytes the Kafka message-format grammar gives', () => {
    const built = buildRecordBatch([
      { key: text.encode('k'), value: text.encode('v'), timestampMs: 1_700_000_000_000 },
    ]);
    expect([...built]).toEqual([...handBuiltBatch()]);
  });

  it('decodes the hand-built batch to its record', () => {
    const [record, ...rest] = decodeBatchRecords(handBuiltBatch());
    expect(rest).toHaveLength(0);
    expect(record?.offset).toBe(0);
    expect(record?.timestampMs).toBe(1_700_000_000_000);
    expect(new TextDecoder().decode(record?.key ?? new Uint8Array())).toBe('k');
    expect(new TextDecoder().decode(record?.value ?? new Uint8Array())).toBe('v');
    expect(record?.headers).toEqual([]);
  });

  it('checks a good batch as its full size and a flipped byte as a CRC failure', () => {
    const batch = handBuiltBatch();
    const view = new DataView(batch.buffer);
    expect(checkBatch(batch, view, 0, batch.length)).toBe(batch.length);
    batch[batch.length - 1] ^= 0x01;
    expect(checkBatch(batch, view, 0, batch.length)).toBe(BatchCheckFailure.BAD_CRC);
  });

  it('reports a torn batch as truncated and a wrong magic as such', () => {
    const batch = handBuiltBatch();
    expect(checkBatch(batch, new DataView(batch.buffer), 0, batch.length - 1)).toBe(
      BatchCheckFailure.TRUNCATED,
    );
    batch[BatchHeader.MAGIC] = 1;
    expect(checkBatch(batch, new DataView(batch.buffer), 0, batch.length)).toBe(BatchCheckFailure.BAD_MAGIC);
  });

  it('rewriting baseOffset and partitionLeaderEpoch keeps the CRC valid (it starts at attributes)', () => {
    const batch = handBuiltBatch();
    const view = new DataView(batch.buffer);
    view.setBigInt64(BatchHeader.BASE_OFFSET, 123456789n);
    view.setInt32(BatchHeader.PARTITION_LEADER_EPOCH, 7);
    expect(checkBatch(batch, view, 0, batch.length)).toBe(batch.length);
    expect(decodeBatchRecords(batch)[0]?.offset).toBe(123456789);
  });

  it('round-trips random records through build and decode', () => {
    fc.assert(
      fc.property(
        fc.array(recordArb, { minLength: 1, maxLength: 20 }),
        fc.nat(2 ** 40),
        (records, baseOffset) => {
          const batch = buildRecordBatch(records, { baseOffset });
          const view = new DataView(batch.buffer);
          expect(checkBatch(batch, view, 0, batch.length)).toBe(batch.length);
          expect(readInt64(view, BatchHeader.BASE_OFFSET)).toBe(baseOffset);
          const decoded = decodeBatchRecords(batch);
          expect(decoded).toHaveLength(records.length);
          decoded.forEach((record, i) => {
            const input = records[i]!;
            expect(record.offset).toBe(baseOffset + i);
            expect(record.timestampMs).toBe(input.timestampMs);
            expect(record.key === null ? null : [...record.key]).toEqual(
              input.key === null ? null : [...input.key],
            );
            expect(record.value === null ? null : [...record.value]).toEqual(
              input.value === null ? null : [...input.value],
            );
            expect(record.headers.map((h) => [h.key, h.value === null ? null : [...h.value]])).toEqual(
              (input.headers ?? []).map((h) => [h.key, h.value === null ? null : [...h.value]]),
            );
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('decodes concatenated batches in order and ignores a partial last batch', () => {
    const a = buildRecordBatch([{ key: null, value: text.encode('a') }], { baseOffset: 0 });
    const b = buildRecordBatch(
      [
        { key: null, value: text.encode('b') },
        { key: null, value: text.encode('c') },
      ],
      {
        baseOffset: 1,
      },
    );
    const set = new Uint8Array(a.length + b.length + 30);
    set.set(a);
    set.set(b, a.length);
    set.set(a.subarray(0, 30), a.length + b.length);
    expect(decodeRecordSet(set).map((r) => r.offset)).toEqual([0, 1, 2]);
  });
});
