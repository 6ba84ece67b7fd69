import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { InvalidBatchError, UnsupportedCompressionError } from '../../src/common/errors.js';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { BatchAttributes, BatchHeader, CompressionCodec } from '../../src/record/batch-header.js';
import { decodeBatchRecords } from '../../src/record/batch-reader.js';
import {
  buildCompressedBatch,
  DECOMPRESSED_BYTES_MAX,
  decompressRecords,
} from '../../src/record/compression.js';

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

  it.each([
    ['snappy', CompressionCodec.SNAPPY],
    ['lz4', CompressionCodec.LZ4],
    ['zstd', CompressionCodec.ZSTD],
  ])('reports %s as unsupported with a clear error', (name, codec) => {
    const error = (() => {
      try {
        decompressRecords(codec, new Uint8Array(10));
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(error).toBeInstanceOf(UnsupportedCompressionError);
    expect((error as UnsupportedCompressionError).kafkaCode).toBe(
      KafkaErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
    );
    expect((error as Error).message).toContain(name);
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
});
