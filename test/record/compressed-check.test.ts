import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidBatchError } from '../../src/common/errors.js';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { checkBatch } from '../../src/record/batch-check.js';
import { BatchHeader, CompressionCodec } from '../../src/record/batch-header.js';
import { decodeBatchRecords } from '../../src/record/batch-reader.js';
import { checkCompressedBatch, checkPackedBatches, KEEP_CODEC } from '../../src/record/compressed-check.js';
import { buildCompressedBatch } from '../../src/record/compression.js';
import { crc32c } from '../../src/record/crc32c.js';

const text = new TextEncoder();
const CODECS = [CompressionCodec.GZIP, CompressionCodec.SNAPPY, CompressionCodec.LZ4, CompressionCodec.ZSTD];

function valuesBatch(count: number, codec: CompressionCodec): Uint8Array {
  return buildCompressedBatch(
    Array.from({ length: count }, (_, i) => ({ key: null, value: text.encode(`value-${i}`) })),
    codec,
  );
}

/** Rewrites the header's recordCount and lastOffsetDelta together (as a hostile producer would) and fixes the CRC. */
function claimRecords(batch: Uint8Array, recordCount: number): Uint8Array {
  const copy = batch.slice();
  const view = new DataView(copy.buffer);
  view.setInt32(BatchHeader.RECORD_COUNT, recordCount);
  view.setInt32(BatchHeader.LAST_OFFSET_DELTA, recordCount - 1);
  view.setUint32(BatchHeader.CRC, crc32c(copy.subarray(BatchHeader.CRC_START)));
  return copy;
}

function verdictOf(batch: Uint8Array): { code: number; message: string } {
  try {
    checkCompressedBatch(batch, 1 << 20);
    return { code: KafkaErrorCode.NONE, message: '' };
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidBatchError);
    return { code: (error as InvalidBatchError).kafkaCode, message: (error as Error).message };
  }
}

describe('checking compressed batches as Kafka validator does', () => {
  it('given a gzip batch of 3 records claiming 2^31-1, then INVALID_RECORD', () => {
    const verdict = verdictOf(claimRecords(valuesBatch(3, CompressionCodec.GZIP), 2 ** 31 - 1));
    expect(verdict.code).toBe(KafkaErrorCode.INVALID_RECORD);
    expect(verdict.message).toMatch(/2147483647/);
  });

  it.each(CODECS)(
    'given codec %i, a batch claiming more or fewer records than it holds is refused',
    (codec) => {
      const batch = valuesBatch(5, codec);
      expect(verdictOf(batch).code).toBe(KafkaErrorCode.NONE);
      expect(verdictOf(claimRecords(batch, 6)).code).toBe(KafkaErrorCode.INVALID_RECORD);
      expect(verdictOf(claimRecords(batch, 4)).code).toBe(KafkaErrorCode.INVALID_RECORD);
    },
  );

  it('given any records in any codec, then a batch the builder made passes', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...CODECS),
        fc.array(fc.uint8Array({ maxLength: 500 }), { minLength: 1, maxLength: 60 }),
        (codec, values) => {
          const batch = buildCompressedBatch(
            values.map((value) => ({ key: null, value })),
            codec,
          );
          expect(verdictOf(batch).code).toBe(KafkaErrorCode.NONE);
        },
      ),
      { numRuns: 80 },
    );
  });

  it('given a section that inflates past the limit, then CORRUPT_MESSAGE', () => {
    const big = buildCompressedBatch([{ key: null, value: new Uint8Array(4 << 20) }], CompressionCodec.ZSTD);
    const verdict = verdictOf(big);
    expect(verdict.code).toBe(KafkaErrorCode.CORRUPT_MESSAGE);
    expect(verdict.message).toMatch(/limit/);
  });

  it('given a packed group, then each batch gets its own verdict, in order', () => {
    const good = valuesBatch(2, CompressionCodec.LZ4);
    const lying = claimRecords(valuesBatch(2, CompressionCodec.SNAPPY), 1000);
    const packed = new Uint8Array(good.length * 2 + lying.length);
    packed.set(good, 0);
    packed.set(lying, good.length);
    packed.set(good, good.length + lying.length);
    const verdicts = checkPackedBatches({
      packed,
      ends: [good.length, good.length + lying.length, packed.length],
      earliestMs: [0, 0, 0],
      latestMs: [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY, 10],
      targetCodecs: [KEEP_CODEC, KEEP_CODEC, KEEP_CODEC],
      requireKeys: [false, false, false],
      maxDecompressedBytes: 1 << 20,
    });
    // The third is well formed, but its records' CreateTime is past its window.
    expect(verdicts.map((v) => v.errorCode)).toEqual([
      KafkaErrorCode.NONE,
      KafkaErrorCode.INVALID_RECORD,
      KafkaErrorCode.INVALID_TIMESTAMP,
    ]);
  });

  it.each(CODECS)(
    'given codec %i, a record whose CreateTime is outside the window is refused INVALID_TIMESTAMP',
    (codec) => {
      const nowMs = 1_700_000_000_000;
      const batch = buildCompressedBatch(
        [
          { key: null, value: text.encode('on time'), timestampMs: nowMs },
          { key: null, value: text.encode('late'), timestampMs: nowMs + 2 * 3600_000 },
        ],
        codec,
      );
      const refused = (() => {
        try {
          checkCompressedBatch(batch, 1 << 20, nowMs - 1000, nowMs + 3600_000);
        } catch (error) {
          return error as InvalidBatchError;
        }
        return null;
      })();
      expect(refused?.kafkaCode).toBe(KafkaErrorCode.INVALID_TIMESTAMP);
      expect(refused?.message).toMatch(/record 1/);
      expect(() => checkCompressedBatch(batch, 1 << 20, nowMs - 1000, nowMs + 3 * 3600_000)).not.toThrow();
    },
  );

  it("given a topic codec other than the batch's, then the batch is recompressed with every header field kept", () => {
    const all = [CompressionCodec.NONE, ...CODECS];
    for (const from of all) {
      for (const to of all) {
        const records = Array.from({ length: 20 }, (_, i) => ({
          key: text.encode(`k${i}`),
          value: text.encode(`value ${i} `.repeat(i + 1)),
        }));
        const source =
          from === CompressionCodec.NONE
            ? buildRecordBatch(records, { producerId: 42, producerEpoch: 3, baseSequence: 7 })
            : buildCompressedBatch(records, from, { producerId: 42, producerEpoch: 3, baseSequence: 7 });
        const converted = checkCompressedBatch(
          source,
          1 << 20,
          Number.NEGATIVE_INFINITY,
          Number.POSITIVE_INFINITY,
          to,
        );
        if (from === to) {
          expect(converted).toBeNull();
          continue;
        }
        const batch = converted!;
        const view = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
        expect(checkBatch(batch, view, 0, batch.length)).toBe(batch.length);
        expect(view.getInt16(BatchHeader.ATTRIBUTES) & 0x07).toBe(to);
        for (const field of [
          BatchHeader.PRODUCER_ID + 4,
          BatchHeader.BASE_SEQUENCE,
          BatchHeader.RECORD_COUNT,
        ]) {
          expect(view.getInt32(field)).toBe(new DataView(source.buffer, source.byteOffset).getInt32(field));
        }
        expect(decodeBatchRecords(batch).map((r) => new TextDecoder().decode(r.value!))).toEqual(
          records.map((r) => new TextDecoder().decode(r.value)),
        );
      }
    }
  });
});
