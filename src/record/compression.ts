import { constants, gunzipSync, gzipSync } from 'node:zlib';
import { InvalidBatchError, UnsupportedCompressionError } from '../common/errors.js';
import { KafkaErrorCode } from '../common/kafka-error-code.js';
import { assembleBatch, type BatchOptions, batchTimestamps, encodeRecords } from './batch-builder.js';
import { BatchAttributes, CompressionCodec, compressionCodecName } from './batch-header.js';
import { setDecompressor } from './batch-reader.js';
import type { ProducedRecord } from './record.js';

/**
 * Compression codecs for the records section of a RecordBatch v2.
 *
 * The broker never compresses or decompresses on the produce or fetch path:
 * batches are stored and served exactly as the producer sent them, whatever
 * their codec. Only code that must look inside a batch (the JSON and Arrow
 * front doors, tools, tests) decompresses, in the offload pool where it can.
 *
 * gzip is built into Node; snappy, lz4 and zstd (Node 20's zlib has no zstd)
 * are reported as unsupported with a clear error, and their batches are
 * still stored and served untouched.
 *
 * Importing this module registers `decompressRecords` with the batch reader.
 */

/** Largest decompressed records section accepted: bounds the memory a hostile batch can claim (a zip bomb). */
export const DECOMPRESSED_BYTES_MAX = 256 * 1024 * 1024;

/** Decompresses a records section compressed with `codec`. */
export function decompressRecords(codec: number, compressed: Uint8Array): Uint8Array {
  switch (codec) {
    case CompressionCodec.NONE:
      return compressed;
    case CompressionCodec.GZIP:
      try {
        return gunzipSync(compressed, { maxOutputLength: DECOMPRESSED_BYTES_MAX });
      } catch (error) {
        const tooLarge = (error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
        throw new InvalidBatchError(
          KafkaErrorCode.CORRUPT_MESSAGE,
          tooLarge
            ? `gzip records section inflates past ${DECOMPRESSED_BYTES_MAX} bytes`
            : `gzip records section does not inflate: ${(error as Error).message}`,
        );
      }
    default:
      throw new UnsupportedCompressionError(compressionCodecName(codec));
  }
}

/** Compresses a plain records section with `codec` (gzip only). */
export function compressRecords(codec: number, plain: Uint8Array): Uint8Array {
  switch (codec) {
    case CompressionCodec.NONE:
      return plain;
    case CompressionCodec.GZIP:
      return gzipSync(plain, { level: constants.Z_DEFAULT_COMPRESSION });
    default:
      throw new UnsupportedCompressionError(compressionCodecName(codec));
  }
}

/** Builds a RecordBatch v2 whose records section is compressed with `codec`, as a producer would. */
export function buildCompressedBatch(
  records: readonly ProducedRecord[],
  codec: CompressionCodec,
  options: BatchOptions = {},
): Uint8Array {
  if (records.length === 0) throw new RangeError('a record batch holds at least one record');
  const { baseTimestampMs, maxTimestampMs } = batchTimestamps(records, options);
  let attributes: number = codec;
  if (options.transactional) attributes |= BatchAttributes.TRANSACTIONAL;
  const section = compressRecords(codec, encodeRecords(records, baseTimestampMs));
  return assembleBatch(section, records.length, baseTimestampMs, maxTimestampMs, attributes, options);
}

setDecompressor(decompressRecords);
