import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { compressFrameSync } from 'lz4-napi';
import { describe, expect, it } from 'vitest';
import { compress as zstdCompressWith } from 'zstd-napi';
import { InvalidBatchError, UnsupportedCompressionError } from '../../src/common/errors.js';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { BatchAttributes, BatchHeader, CompressionCodec } from '../../src/record/batch-header.js';
import { decodeBatchRecords } from '../../src/record/batch-reader.js';
import { lz4DecompressedBound } from '../../src/record/codecs/lz4-codec.js';
import { snappyCompressRaw } from '../../src/record/codecs/snappy-codec.js';
import { zstdDecompressedBound } from '../../src/record/codecs/zstd-codec.js';
import {
  buildCompressedBatch,
  compressRecords,
  DECOMPRESSED_BYTES_MAX,
  decompressRecords,
} from '../../src/record/compression.js';

function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  return null;
}

const text = new TextEncoder();
const decoder = new TextDecoder();

describe('compression', () => {
  it('round-trips a gzip batch: the codec bits say gzip and the records decode', () => {
    const records = Array.from({ length: 50 }, (_, i) => ({
      key: text.encode(`k${i}`),
      value: text.encode(`v${i}`.repeat(20)),
    }));
    const batch = buildCompressedBatch(records, CompressionCodec.GZIP, { baseOffset: 10 });
    const view = new DataView(batch.buffer);
    expect(view.getInt16(BatchHeader.ATTRIBUTES) & BatchAttributes.COMPRESSION_MASK).toBe(
      CompressionCodec.GZIP,
    );
    expect(batch.length).toBeLessThan(buildRecordBatch(records).length);
    const decoded = decodeBatchRecords(batch);
    expect(decoded.map((r) => r.offset)).toEqual(records.map((_, i) => 10 + i));
    expect(decoded.map((r) => decoder.decode(r.value ?? new Uint8Array()))).toEqual(
      records.map((r) => decoder.decode(r.value)),
    );
  });

  const codecs = [
    ['gzip', CompressionCodec.GZIP],
    ['snappy', CompressionCodec.SNAPPY],
    ['lz4', CompressionCodec.LZ4],
    ['zstd', CompressionCodec.ZSTD],
  ] as const;

  it.each(codecs)('given any records, %s batches round-trip through build and decode', (_name, codec) => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            key: fc.option(fc.uint8Array({ maxLength: 40 }), { nil: null }),
            value: fc.uint8Array({ maxLength: 3000 }),
          }),
          { minLength: 1, maxLength: 40 },
        ),
        (records) => {
          const batch = buildCompressedBatch(records, codec, { baseOffset: 7 });
          const view = new DataView(batch.buffer, batch.byteOffset);
          expect(view.getInt16(BatchHeader.ATTRIBUTES) & BatchAttributes.COMPRESSION_MASK).toBe(codec);
          const decoded = decodeBatchRecords(batch);
          expect(decoded.map((r) => r.offset)).toEqual(records.map((_, i) => 7 + i));
          expect(decoded.map((r) => Buffer.from(r.value ?? []).toString('hex'))).toEqual(
            records.map((r) => Buffer.from(r.value).toString('hex')),
          );
          expect(decoded.map((r) => (r.key === null ? null : Buffer.from(r.key).toString('hex')))).toEqual(
            records.map((r) => (r.key === null ? null : Buffer.from(r.key).toString('hex'))),
          );
        },
      ),
      { numRuns: 60 },
    );
  });

  it('given a raw snappy block (librdkafka and kafkajs write these), then it decompresses like xerial', () => {
    const plain = new TextEncoder().encode('raw snappy, '.repeat(5000));
    const xerial = compressRecords(CompressionCodec.SNAPPY, plain);
    expect(Array.from(xerial.subarray(0, 8))).toEqual([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0]);
    expect(Buffer.from(decompressRecords(CompressionCodec.SNAPPY, snappyCompressRaw(plain)))).toEqual(
      Buffer.from(plain),
    );
    expect(Buffer.from(decompressRecords(CompressionCodec.SNAPPY, xerial))).toEqual(Buffer.from(plain));
  });

  it.each(codecs)(
    'given a %s section that inflates past the limit, then CORRUPT_MESSAGE before it inflates',
    (_n, codec) => {
      const plain = new Uint8Array(2 * 1024 * 1024);
      const packed = compressRecords(codec, plain);
      expect(packed.length).toBeLessThan(plain.length / 10);
      const error = thrown(() => decompressRecords(codec, packed, 1024 * 1024));
      expect(error).toBeInstanceOf(InvalidBatchError);
      expect((error as InvalidBatchError).kafkaCode).toBe(KafkaErrorCode.CORRUPT_MESSAGE);
      expect((error as Error).message).toMatch(/limit/);
      // The bound from lz4's framing counts each compressed block at its block max size (4 MiB here).
      expect(decompressRecords(codec, packed, 4 * 1024 * 1024).length).toBe(plain.length);
    },
  );

  it.each(codecs)('given damaged %s bytes, then CORRUPT_MESSAGE, never a crash', (_name, codec) => {
    const packed = compressRecords(codec, new TextEncoder().encode('some records, '.repeat(300)));
    fc.assert(
      fc.property(
        fc.nat(packed.length - 1),
        fc.integer({ min: 1, max: 255 }),
        fc.nat(packed.length),
        (at, xor, cut) => {
          const damaged = packed.slice(0, Math.max(1, cut));
          if (at < damaged.length) damaged[at]! ^= xor;
          try {
            decompressRecords(codec, damaged, 1024 * 1024);
          } catch (error) {
            expect(error).toBeInstanceOf(InvalidBatchError);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('given an unknown codec number, then UNSUPPORTED_COMPRESSION_TYPE', () => {
    const error = thrown(() => decompressRecords(5, new Uint8Array(10)));
    expect(error).toBeInstanceOf(UnsupportedCompressionError);
    expect((error as UnsupportedCompressionError).kafkaCode).toBe(
      KafkaErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
    );
  });

  it('given gzip bytes that do not inflate, then CORRUPT_MESSAGE', () => {
    expect(() => decompressRecords(CompressionCodec.GZIP, Uint8Array.from([1, 2, 3, 4]))).toThrow(
      InvalidBatchError,
    );
  });

  it('given a gzip bomb, then it stops at the decompressed size limit', () => {
    const bomb = gzipSync(new Uint8Array(DECOMPRESSED_BYTES_MAX + 1024));
    expect(() => decompressRecords(CompressionCodec.GZIP, bomb)).toThrow(/inflates past/);
  });

  it('given zstd frames without a content size (as streaming Java producers write), with checksums, concatenated, then the block bound holds', () => {
    const part = new TextEncoder().encode('streamed zstd, '.repeat(40_000));
    const frame = zstdCompressWith(part, { contentSizeFlag: false, checksumFlag: true });
    const twoFrames = Buffer.concat([frame, frame]);
    expect(Buffer.from(decompressRecords(CompressionCodec.ZSTD, twoFrames))).toEqual(
      Buffer.concat([part, part]),
    );
    expect(zstdDecompressedBound(twoFrames)).toBeGreaterThanOrEqual(2 * part.length);
    expect(() => decompressRecords(CompressionCodec.ZSTD, twoFrames, part.length)).toThrow(/limit/);
  });

  it('given an lz4 frame with block and content checksums, then it is walked and decoded', () => {
    const plain = new TextEncoder().encode('checked lz4, '.repeat(30_000));
    const frame = compressFrameSync(Buffer.from(plain), { blockChecksums: true, contentChecksum: true });
    expect(lz4DecompressedBound(frame)).toBeGreaterThanOrEqual(plain.length);
    expect(Buffer.from(decompressRecords(CompressionCodec.LZ4, frame))).toEqual(Buffer.from(plain));
    expect(() => decompressRecords(CompressionCodec.LZ4, Buffer.concat([frame, Buffer.from([1])]))).toThrow(
      InvalidBatchError,
    );
  });
});
