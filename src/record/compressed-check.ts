import { InvalidBatchError } from '../common/errors.js';
import { KafkaErrorCode } from '../common/kafka-error-code.js';
import { readInt64 } from '../common/offset.js';
import { BatchAttributes, BatchHeader, CompressionCodec } from './batch-header.js';
import { compressRecords, decompressRecords } from './compression.js';
import { crc32c } from './crc32c.js';
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
 * The same threads recompress a batch whose topic's compression.type names
 * another codec than the batch's, as Kafka does: the records section (already
 * inflated and walked) is compressed with the topic's codec and the header
 * keeps every field but the codec bits, batchLength and CRC.
 *
 * A batch of several on one task travels packed: `packed` holds the batches
 * back to back and `ends[i]` is where batch i ends.
 */
export interface BatchVerdict {
  /** KafkaErrorCode.NONE when the batch is good. */
  errorCode: KafkaErrorCode;
  message: string;
  /** The batch recompressed into its topic's codec, or null when it is kept as it came. */
  converted: Uint8Array | null;
}

/** `targetCodecs[i]` for a batch whose codec is kept (compression.type=producer). */
export const KEEP_CODEC = -1;

/** The codec a topic's compression.type asks for, or KEEP_CODEC for `producer`. */
export function targetCodecOf(compressionType: string): number {
  switch (compressionType) {
    case 'uncompressed':
      return CompressionCodec.NONE;
    case 'gzip':
      return CompressionCodec.GZIP;
    case 'snappy':
      return CompressionCodec.SNAPPY;
    case 'lz4':
      return CompressionCodec.LZ4;
    case 'zstd':
      return CompressionCodec.ZSTD;
    default:
      return KEEP_CODEC;
  }
}

export interface PackedBatches {
  packed: Uint8Array;
  ends: readonly number[];
  /** Each batch's CreateTime window (validate.ts `timestampWindow`); ±Infinity where none applies. */
  earliestMs: readonly number[];
  latestMs: readonly number[];
  /** The codec each batch must end in (its topic's compression.type), or KEEP_CODEC. */
  targetCodecs: readonly number[];
  /** Whether each batch's topic is compacted: its records must all have a key. */
  requireKeys: readonly boolean[];
  maxDecompressedBytes: number;
}

/**
 * Throws `InvalidBatchError` unless the batch's records are what its header claims; returns the batch
 * recompressed into `targetCodec` when that differs from its codec, else null.
 */
export function checkCompressedBatch(
  batch: Uint8Array,
  maxDecompressedBytes: number,
  earliestMs = Number.NEGATIVE_INFINITY,
  latestMs = Number.POSITIVE_INFINITY,
  targetCodec: number = KEEP_CODEC,
  requireKeys = false,
): Uint8Array | null {
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
  checkRecordsSection(section, 0, recordCount, baseTimestampMs, earliestMs, latestMs, requireKeys);
  if (targetCodec === KEEP_CODEC || targetCodec === codec) return null;
  return withRecordsSection(batch, targetCodec, compressRecords(targetCodec, section));
}

/** A copy of `batch`'s header around a new records section in `codec`, with its length and CRC made right. */
function withRecordsSection(batch: Uint8Array, codec: number, section: Uint8Array): Uint8Array {
  const out = new Uint8Array(BatchHeader.SIZE_BYTES + section.length);
  out.set(batch.subarray(0, BatchHeader.SIZE_BYTES), 0);
  out.set(section, BatchHeader.SIZE_BYTES);
  const view = new DataView(out.buffer);
  view.setInt32(BatchHeader.BATCH_LENGTH, out.length - BatchHeader.LOG_OVERHEAD_BYTES);
  const attributes = view.getInt16(BatchHeader.ATTRIBUTES);
  view.setInt16(BatchHeader.ATTRIBUTES, (attributes & ~BatchAttributes.COMPRESSION_MASK) | codec);
  view.setUint32(BatchHeader.CRC, crc32c(out, BatchHeader.CRC_START));
  return out;
}

/** Checks each batch of a packed group; one verdict per batch, in order. */
export function checkPackedBatches(group: PackedBatches): BatchVerdict[] {
  const verdicts: BatchVerdict[] = [];
  let start = 0;
  for (let i = 0; i < group.ends.length; i++) {
    const end = group.ends[i]!;
    try {
      const converted = checkCompressedBatch(
        group.packed.subarray(start, end),
        group.maxDecompressedBytes,
        group.earliestMs[i],
        group.latestMs[i],
        group.targetCodecs[i],
        group.requireKeys[i],
      );
      verdicts.push({ errorCode: KafkaErrorCode.NONE, message: '', converted });
    } catch (error) {
      verdicts.push(
        error instanceof InvalidBatchError
          ? { errorCode: error.kafkaCode, message: error.message, converted: null }
          : {
              errorCode: KafkaErrorCode.CORRUPT_MESSAGE,
              message: `batch does not decompress: ${String(error)}`,
              converted: null,
            },
      );
    }
    start = end;
  }
  return verdicts;
}
