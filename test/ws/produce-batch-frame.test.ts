import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Acks } from '../../src/engine/engine-api.js';
import { decodeBinaryRequest } from '../../src/protocol/ws/binary-request.js';
import { ProduceBatchFrameBuilder } from '../../src/protocol/ws/produce-batch-frame.js';
import { WsRequestError } from '../../src/protocol/ws/ws-request.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { checkBatch } from '../../src/record/batch-check.js';
import { BatchHeader } from '../../src/record/batch-header.js';
import { decodeRecordSet } from '../../src/record/batch-reader.js';

/**
 * The client's kind-1 PRODUCE frame (a RecordBatch v2 built in the frame's buffer): what the
 * broker decodes from it is the topic, partition and acks sent, and a batch with a valid CRC that
 * is byte for byte the batch buildRecordBatch makes of the same records.
 */
const bytesOrNull = fc.option(fc.uint8Array({ maxLength: 300 }), { nil: null });
const recordArbitrary = fc.record({
  key: bytesOrNull,
  value: bytesOrNull,
  timestampMs: fc.oneof(fc.constant(-1), fc.integer({ min: 0, max: 4_000_000_000_000 })),
  headers: fc.option(
    fc.array(fc.record({ key: fc.string({ maxLength: 20 }), value: bytesOrNull }), { maxLength: 3 }),
    {
      nil: null,
    },
  ),
});
type TestRecord = typeof recordArbitrary extends fc.Arbitrary<infer T> ? T : never;

function frameOf(topic: string, partition: number, acks: Acks, records: readonly TestRecord[]): Uint8Array {
  const builder = new ProduceBatchFrameBuilder(topic, partition, acks, 16);
  for (const record of records) builder.add(record.key, record.value, record.timestampMs, record.headers);
  expect(builder.recordCount).toBe(records.length);
  const frame = builder.finish().slice();
  expect(builder.sizeBytes).toBe(frame.length);
  return frame;
}

function batchOf(frame: Uint8Array): { partition: number; bytes: Uint8Array } {
  const request = decodeBinaryRequest(frame);
  if (request.op !== 'produce' || request.batch === null) throw new Error('not a kind-1 produce');
  return request.batch;
}

/** A copy with the base offset and partition leader epoch zeroed: the broker overwrites both. */
function withoutAssignedFields(batch: Uint8Array): Uint8Array {
  const copy = batch.slice();
  copy.fill(0, BatchHeader.BASE_OFFSET, BatchHeader.BASE_OFFSET + 8);
  copy.fill(0, BatchHeader.PARTITION_LEADER_EPOCH, BatchHeader.PARTITION_LEADER_EPOCH + 4);
  return copy;
}

describe('ProduceBatchFrameBuilder', () => {
  it('round trips: the decoded batch is buildRecordBatch of the same records, with a valid CRC', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 40 }),
        fc.integer({ min: 0, max: 0x7fff_ffff }),
        fc.constantFrom<Acks>(0, 1, -1),
        fc.array(recordArbitrary, { minLength: 1, maxLength: 40 }),
        (topic, partition, acks, records) => {
          const frame = frameOf(topic, partition, acks, records);
          const request = decodeBinaryRequest(frame);
          expect(request).toMatchObject({ op: 'produce', topic, acks, frameRecords: null, records: null });
          const batch = batchOf(frame);
          expect(batch.partition).toBe(partition);
          const view = new DataView(batch.bytes.buffer, batch.bytes.byteOffset, batch.bytes.byteLength);
          expect(checkBatch(batch.bytes, view, 0, batch.bytes.length)).toBe(batch.bytes.length);
          // A record without a timestamp gets the batch's base: the first record's, or the clock's.
          const baseTimestampMs = Number(view.getBigInt64(BatchHeader.BASE_TIMESTAMP));
          if (records[0]!.timestampMs >= 0) expect(baseTimestampMs).toBe(records[0]!.timestampMs);
          const stamped = records.map((record) => ({
            key: record.key,
            value: record.value,
            headers: record.headers ?? [],
            timestampMs: record.timestampMs >= 0 ? record.timestampMs : baseTimestampMs,
          }));
          expect(Buffer.from(batch.bytes).equals(buildRecordBatch(stamped, { baseTimestampMs }))).toBe(true);
          const decoded = decodeRecordSet(batch.bytes);
          expect(decoded.map((r) => [r.offset, r.timestampMs, r.key, r.value, r.headers])).toEqual(
            stamped.map((r, i) => [i, r.timestampMs, r.key, r.value, r.headers]),
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  it('never sends a batch without a partition, nor an empty one', () => {
    expect(() => new ProduceBatchFrameBuilder('t', -1, 1)).toThrow(RangeError);
    expect(() => new ProduceBatchFrameBuilder('t', 1.5, 1)).toThrow(RangeError);
    expect(() => new ProduceBatchFrameBuilder('t', 0, 1).finish()).toThrow(RangeError);
  });

  it('refuses a timestamp that is neither -1 nor whole ms >= 0, leaving the batch as it was', () => {
    const builder = new ProduceBatchFrameBuilder('t', 0, 1);
    builder.add(null, Uint8Array.of(1), 5, null);
    const before = builder.sizeBytes;
    for (const bad of [1.5, -2, Number.NaN, 2 ** 53])
      expect(() => builder.add(null, Uint8Array.of(2), bad, null)).toThrow(RangeError);
    expect([builder.recordCount, builder.sizeBytes]).toEqual([1, before]);
    const records = decodeRecordSet(batchOf(builder.finish().slice()).bytes);
    expect(records.map((r) => [r.timestampMs, r.value])).toEqual([[5, Uint8Array.of(1)]]);
  });

  it('a cut or flipped frame is refused by the decoder or fails the batch check: never a valid batch', () => {
    const records: TestRecord[] = Array.from({ length: 5 }, (_, i) => ({
      key: Uint8Array.of(i),
      value: new Uint8Array(20).fill(i),
      timestampMs: 1000 + i,
      headers: [{ key: 'h', value: Uint8Array.of(i) }],
    }));
    const frame = frameOf('topic', 3, 1, records);
    fc.assert(
      fc.property(
        fc.oneof(
          fc.record({ cut: fc.integer({ min: 0, max: frame.length - 1 }) }),
          fc.record({
            flip: fc.integer({ min: 8, max: frame.length - 1 }),
            bit: fc.integer({ min: 0, max: 7 }),
          }),
        ),
        (damage) => {
          let bad: Uint8Array;
          if ('cut' in damage) bad = frame.slice(0, damage.cut);
          else {
            bad = frame.slice();
            bad[damage.flip]! ^= 1 << damage.bit;
          }
          let batch: { partition: number; bytes: Uint8Array };
          try {
            batch = batchOf(bad);
          } catch (error) {
            expect(error).toBeInstanceOf(WsRequestError);
            return;
          }
          // Fields the decoder cannot judge (topic bytes, partition, acks) may change, and so may the
          // two the broker assigns (base offset, leader epoch: outside the CRC); the rest must not.
          const view = new DataView(batch.bytes.buffer, batch.bytes.byteOffset, batch.bytes.byteLength);
          const checked = checkBatch(batch.bytes, view, 0, batch.bytes.length);
          const intact = Buffer.from(withoutAssignedFields(batch.bytes)).equals(
            Buffer.from(withoutAssignedFields(batchOf(frame).bytes)),
          );
          expect(intact || checked !== batch.bytes.length).toBe(true);
        },
      ),
      { numRuns: 400 },
    );
  });
});
