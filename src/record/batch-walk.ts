import { BatchHeader } from './batch-header.js';

/**
 * The one way to step over record batches laid end to end (a segment, a
 * fetch response, a read window): every loop over batches asks this for the
 * size of the next one instead of reading `batchLength` itself. A length read
 * from a damaged file or a hostile peer can be negative, tiny or huge; summed
 * into a position unchecked it makes a loop go backwards forever or read past
 * its buffer. This refuses all of those, so a walk always moves forward and
 * stays inside `limit`.
 *
 * It checks structure only (header whole, length in range, magic 2), never
 * the CRC: checkBatch (batch-check.ts) does that on top of it where bytes are
 * not yet trusted.
 */
export const BatchWalkFailure = {
  /** Fewer bytes remain than the header or the declared length needs (a torn write, a cut window). */
  TRUNCATED: -1,
  /** batchLength is smaller than a header or larger than allowed. */
  BAD_LENGTH: -2,
  BAD_MAGIC: -3,
} as const;

/**
 * Size in bytes (> 0) of the batch starting at `position`, which must end at
 * or before `limit`; a negative BatchWalkFailure when there is no whole,
 * sane batch there. `maxBatchBytes` bounds the declared size.
 */
export function nextBatchBytes(
  view: DataView,
  position: number,
  limit: number,
  maxBatchBytes = 0x7fff_ffff,
): number {
  if (limit - position < BatchHeader.SIZE_BYTES) return BatchWalkFailure.TRUNCATED;
  const sizeBytes = view.getInt32(position + BatchHeader.BATCH_LENGTH) + BatchHeader.LOG_OVERHEAD_BYTES;
  if (sizeBytes < BatchHeader.SIZE_BYTES || sizeBytes > maxBatchBytes) return BatchWalkFailure.BAD_LENGTH;
  if (view.getInt8(position + BatchHeader.MAGIC) !== BatchHeader.MAGIC_V2) return BatchWalkFailure.BAD_MAGIC;
  if (limit - position < sizeBytes) return BatchWalkFailure.TRUNCATED;
  return sizeBytes;
}
