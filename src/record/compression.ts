import { constants, gunzipSync, gzipSync } from 'node:zlib';
import { InvalidBatchError, UnsupportedCompressionError } from '../common/errors.js';
import { KafkaErrorCode } from '../common/kafka-error-code.js';
import { assembleBatch, type BatchOptions, batchTimestamps, encodeRecords } from './batch-builder.js';
import { BatchAttributes, CompressionCodec, compressionCodecName } from './batch-header.js';
import { setDecompressor } from './batch-reader.js';
import { lz4Compress, lz4Decompress } from './codecs/lz4-codec.js';
import { snappyCompress, snappyDecompress } from './codecs/snappy-codec.js';
import { zstdCompress, zstdDecompress } from './codecs/zstd-codec.js';
import type { ProducedRecord } from './record.js';

/**
 * Compression codecs for the records section of a RecordBatch v2: gzip
 * (node:zlib), snappy (`@napi-rs/snappy`, raw and xerial framings), lz4 (`lz4-napi`,
 * LZ4 frames) and zstd (`zstd-napi`); the choice was measured, see
 * bench/codec-choice.bench.ts and bench/RESULTS.md. Each codec's wire framing
 * is described in its file under codecs/.
 *
 * Decompression is bounded: a section that would inflate past `maxBytes`
 * (DECOMPRESSED_BYTES_MAX unless the caller passes the broker's configured
 * limit) is refused with CORRUPT_MESSAGE before it is inflated (snappy, lz4
 * and zstd, whose framing bounds the output) or as soon as it passes the
 * limit (gzip). That is what keeps a zip bomb from taking the memory.
 *
 * The produce check runs them on the batch checker thread, the HTTP reads
 * (JSON and Arrow) in the offload pool; the WebSocket JSON mode still
 * decodes on the acceptor (docs/reliability.md says so). Clients and tools
 * run them where they are.
 * Importing this module registers `decompressRecords` with the batch reader.
 */

/** Default largest decompressed records section: bounds the memory a hostile batch can claim. */
export const DECOMPRESSED_BYTES_MAX = 128 * 1024 * 1024;

/** Decompresses a records section compressed with `codec`, refusing one that inflates past `maxBytes`. */
export function decompressRecords(
  codec: number,
  compressed: Uint8Array,
  maxBytes: number = DECOMPRESSED_BYTES_MAX,
): Uint8Array {
  switch (codec) {
    case CompressionCodec.NONE:
      return compressed;
    case CompressionCodec.GZIP:
      try {
        return gunzipSync(compressed, { maxOutputLength: maxBytes });
      } catch (error) {
        const tooLarge = (error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
        throw new InvalidBatchError(
          KafkaErrorCode.CORRUPT_MESSAGE,
          tooLarge
            ? `gzip records section inflates past the limit of ${maxBytes} bytes`
            : `gzip records section does not inflate: ${(error as Error).message}`,
        );
      }
    case CompressionCodec.SNAPPY:
      return snappyDecompress(compressed, maxBytes);
    case CompressionCodec.LZ4:
      return lz4Decompress(compressed, maxBytes);
    case CompressionCodec.ZSTD:
      return zstdDecompress(compressed, maxBytes);
    default:
      throw new UnsupportedCompressionError(compressionCodecName(codec));
  }
}

/** Compresses a plain records section with `codec`, as a producer would. */
export function compressRecords(codec: number, plain: Uint8Array): Uint8Array {
  switch (codec) {
    case CompressionCodec.NONE:
      return plain;
    case CompressionCodec.GZIP:
      return gzipSync(plain, { level: constants.Z_DEFAULT_COMPRESSION });
    case CompressionCodec.SNAPPY:
      return snappyCompress(plain);
    case CompressionCodec.LZ4:
      return lz4Compress(plain);
    case CompressionCodec.ZSTD:
      return zstdCompress(plain);
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
