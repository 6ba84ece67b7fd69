import { InvalidBatchError } from '../common/errors.js';
import { KafkaErrorCode } from '../common/kafka-error-code.js';
import { readInt64 } from '../common/offset.js';
import { BatchAttributes, BatchHeader } from './batch-header.js';
import { decompressRecords } from './compression.js';
import { checkRecordsSection } from './validate.js';

/**
 * The check Kafka's validator makes of a compressed batch: inflate its
 * records section (bounded by `maxDecompressedBytes`) and walk the records,
 * which must be exactly as many as the header's recordCount says, with
 * offsetDeltas 0, 1, 2, … and each record parsing exactly. Without it one
 * small gzip batch claiming 2^31-1 records would move the log end by that
 * much. Runs on the batch checker threads (compressed-batch-checker.ts), never
 * on the acceptor or a shard. The header fields were already checked, or are
 * checked again, by `validateProducedBatch` on the shard.
 *
 * A batch of several on one task travels packed: `packed` holds the batches
 * back to back and `ends[i]` is where batch i ends.
 */
export interface BatchVerdict {
  /** KafkaErrorCode.NONE when the batch is good. */
  errorCode: KafkaErrorCode;
  message: string;
}

export interface PackedBatches {
  packed: Uint8Array;
  ends: readonly number[];
  /** Each batch's CreateTime window (validate.ts `timestampWindow`); ±Infinity where none applies. */
  earliestMs: readonly number[];
  latestMs: readonly number[];
  maxDecompressedBytes: number;
}

const GOOD: BatchVerdict = { errorCode: KafkaErrorCode.NONE, message: '' };

/** Throws `InvalidBatchError` unless the compressed batch's records are what its header claims. */
export function checkCompressedBatch(
  batch: Uint8Array,
  maxDecompressedBytes: number,
  earliestMs = Number.NEGATIVE_INFINITY,
  latestMs = Number.POSITIVE_INFINITY,
): void {
  if (batch.length < BatchHeader.SIZE_BYTES) {
    throw new InvalidBatchError(KafkaErrorCode.CORRUPT_MESSAGE, 'batch is shorter than a RecordBatch header');
  }
  const view = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
  const codec = view.getInt16(BatchHeader.ATTRIBUTES) & BatchAttributes.COMPRESSION_MASK;
  const recordCount = view.getInt32(BatchHeader.RECORD_COUNT);
  if (recordCount < 1) {
    throw new InvalidBatchError(
      KafkaErrorCode.INVALID_RECORD,
      `recordCount is ${recordCount}, must be at least 1`,
    );
  }
  const section = decompressRecords(codec, batch.subarray(BatchHeader.SIZE_BYTES), maxDecompressedBytes);
  // The smallest record is 7 bytes (length, attributes, two deltas, null key and value, no headers):
  // a count the inflated bytes cannot hold is refused before walking.
  if (recordCount > section.length / 7) {
    throw new InvalidBatchError(
      KafkaErrorCode.INVALID_RECORD,
      `recordCount ${recordCount} cannot fit in ${section.length} decompressed bytes`,
    );
  }
  const baseTimestampMs = readInt64(view, BatchHeader.BASE_TIMESTAMP);
  checkRecordsSection(section, 0, recordCount, baseTimestampMs, earliestMs, latestMs);
}

/** Checks each batch of a packed group; one verdict per batch, in order. */
export function checkPackedBatches(group: PackedBatches): BatchVerdict[] {
  const verdicts: BatchVerdict[] = [];
  let start = 0;
  for (let i = 0; i < group.ends.length; i++) {
    const end = group.ends[i]!;
    try {
      checkCompressedBatch(
        group.packed.subarray(start, end),
        group.maxDecompressedBytes,
        group.earliestMs[i],
        group.latestMs[i],
      );
      verdicts.push(GOOD);
    } catch (error) {
      verdicts.push(
        error instanceof InvalidBatchError
          ? { errorCode: error.kafkaCode, message: error.message }
          : {
              errorCode: KafkaErrorCode.CORRUPT_MESSAGE,
              message: `batch does not decompress: ${String(error)}`,
            },
      );
    }
    start = end;
  }
  return verdicts;
}
