import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidBatchError } from '../../src/common/errors.js';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { BatchAttributes, BatchHeader } from '../../src/record/batch-header.js';
import { buildCompressedBatch } from '../../src/record/compression.js';
import { crc32c } from '../../src/record/crc32c.js';
import { validateProducedBatch } from '../../src/record/validate.js';

const text = new TextEncoder();
const MAX = 1024 * 1024;

function batchOf(count: number): Uint8Array {
  return buildRecordBatch(
    Array.from({ length: count }, (_, i) => ({
      key: text.encode(`k${i}`),
      value: text.encode(`value ${i}`),
    })),
  );
}

/** Rewrites a header field and fixes the CRC, so only the field under test is wrong. */
function withField(batch: Uint8Array, write: (view: DataView) => void): Uint8Array {
  const copy = batch.slice();
  const view = new DataView(copy.buffer);
  write(view);
  view.setUint32(BatchHeader.CRC, crc32c(copy, BatchHeader.CRC_START));
  return copy;
}

function rejectionCode(batch: Uint8Array, maxBytes = MAX): number {
  try {
    validateProducedBatch(batch, maxBytes);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidBatchError);
    return (error as InvalidBatchError).kafkaCode;
  }
  return KafkaErrorCode.NONE;
}

describe('validateProducedBatch', () => {
  it('accepts a well-formed uncompressed batch', () => {
    expect(rejectionCode(batchOf(3))).toBe(KafkaErrorCode.NONE);
  });

  it('accepts a gzip batch without looking inside it', () => {
    const batch = buildCompressedBatch([{ key: null, value: text.encode('x'.repeat(500)) }], 1);
    expect(rejectionCode(batch)).toBe(KafkaErrorCode.NONE);
  });

  it('given a batch over max.message.bytes, then MESSAGE_TOO_LARGE', () => {
    const batch = batchOf(10);
    expect(rejectionCode(batch, batch.length - 1)).toBe(KafkaErrorCode.MESSAGE_TOO_LARGE);
  });

  it('given fewer bytes than a header, then CORRUPT_MESSAGE', () => {
    expect(rejectionCode(batchOf(1).subarray(0, 40))).toBe(KafkaErrorCode.CORRUPT_MESSAGE);
  });

  it('given a flipped byte in the records, then CORRUPT_MESSAGE (CRC)', () => {
    const batch = batchOf(2);
    batch[batch.length - 3] ^= 0x40;
    expect(rejectionCode(batch)).toBe(KafkaErrorCode.CORRUPT_MESSAGE);
  });

  it('given a torn batch (declared length past the end), then CORRUPT_MESSAGE', () => {
    const batch = batchOf(2);
    expect(rejectionCode(batch.subarray(0, batch.length - 1))).toBe(KafkaErrorCode.CORRUPT_MESSAGE);
  });

  it('given trailing bytes after the batch, then CORRUPT_MESSAGE', () => {
    const batch = batchOf(1);
    const longer = new Uint8Array(batch.length + 5);
    longer.set(batch);
    expect(rejectionCode(longer)).toBe(KafkaErrorCode.CORRUPT_MESSAGE);
  });

  it('given magic 1, then INVALID_RECORD', () => {
    expect(rejectionCode(withField(batchOf(1), (v) => v.setInt8(BatchHeader.MAGIC, 1)))).toBe(
      KafkaErrorCode.INVALID_RECORD,
    );
  });

  it('given recordCount 0, then INVALID_RECORD', () => {
    const batch = withField(batchOf(1), (v) => {
      v.setInt32(BatchHeader.RECORD_COUNT, 0);
      v.setInt32(BatchHeader.LAST_OFFSET_DELTA, -1);
    });
    expect(rejectionCode(batch)).toBe(KafkaErrorCode.INVALID_RECORD);
  });

  it('given lastOffsetDelta != recordCount - 1, then INVALID_RECORD', () => {
    expect(rejectionCode(withField(batchOf(3), (v) => v.setInt32(BatchHeader.LAST_OFFSET_DELTA, 5)))).toBe(
      KafkaErrorCode.INVALID_RECORD,
    );
  });

  it('given a recordCount larger than the records present, then INVALID_RECORD', () => {
    const batch = withField(batchOf(2), (v) => {
      v.setInt32(BatchHeader.RECORD_COUNT, 3);
      v.setInt32(BatchHeader.LAST_OFFSET_DELTA, 2);
    });
    expect(rejectionCode(batch)).toBe(KafkaErrorCode.INVALID_RECORD);
  });

  it('given a control batch from a client, then INVALID_RECORD', () => {
    expect(
      rejectionCode(
        withField(batchOf(1), (v) => v.setInt16(BatchHeader.ATTRIBUTES, BatchAttributes.CONTROL)),
      ),
    ).toBe(KafkaErrorCode.INVALID_RECORD);
  });

  it('given a transactional batch without a producer id, then INVALID_RECORD', () => {
    const batch = buildRecordBatch([{ key: null, value: text.encode('t') }], { transactional: true });
    expect(rejectionCode(batch)).toBe(KafkaErrorCode.INVALID_RECORD);
  });

  it('given compression codec 7, then UNSUPPORTED_COMPRESSION_TYPE', () => {
    expect(rejectionCode(withField(batchOf(1), (v) => v.setInt16(BatchHeader.ATTRIBUTES, 7)))).toBe(
      KafkaErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
    );
  });

  it('given records whose offsetDeltas are not 0, 1, 2, then INVALID_RECORD', () => {
    // The second record's offsetDelta varint (zig-zag 2 = 0x02) follows its length, attributes and timestampDelta.
    const batch = batchOf(2);
    const firstRecordBytes = 1 + batch[BatchHeader.SIZE_BYTES]! / 2;
    const second = BatchHeader.SIZE_BYTES + firstRecordBytes;
    expect(batch[second + 3]).toBe(0x02);
    expect(rejectionCode(withField(batch, (v) => v.setUint8(second + 3, 0x04)))).toBe(
      KafkaErrorCode.INVALID_RECORD,
    );
  });

  it('never throws anything but InvalidBatchError for random damage to a valid batch', () => {
    const valid = batchOf(4);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 1, max: 255 })), {
          minLength: 1,
          maxLength: 4,
        }),
        fc.boolean(),
        (flips, fixCrc) => {
          const damaged = valid.slice();
          for (const [at, xor] of flips) damaged[at]! ^= xor;
          if (fixCrc)
            new DataView(damaged.buffer).setUint32(BatchHeader.CRC, crc32c(damaged, BatchHeader.CRC_START));
          rejectionCode(damaged);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
