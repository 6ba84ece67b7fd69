import { BatchHeader } from './batch-header.js';
import { nextBatchBytes } from './batch-walk.js';
import { crc32c } from './crc32c.js';

/**
 * Structural check of a stored or received batch: the cheap test recovery
 * runs batch by batch over an active segment, and the first step of produce
 * validation. It reads only the header and checksums the body; it never
 * decodes records.
 */
export const BatchCheckFailure = {
  /** Fewer bytes remain than the header or the declared length needs (a torn write). */
  TRUNCATED: -1,
  /** batchLength is smaller than a header or larger than allowed. */
  BAD_LENGTH: -2,
  BAD_MAGIC: -3,
  BAD_CRC: -4,
} as const;
export type BatchCheckFailure = (typeof BatchCheckFailure)[keyof typeof BatchCheckFailure];

const failureNames: Record<number, string> = {
  [-1]: 'truncated batch',
  [-2]: 'batch length out of range',
  [-3]: 'magic byte is not 2',
  [-4]: 'CRC32C mismatch',
};

export function batchCheckFailureName(failure: number): string {
  return failureNames[failure] ?? `unknown failure ${failure}`;
}

/**
 * Checks the batch starting at `position` and ending at or before `limit`.
 * `view` must be a DataView over the same memory as `bytes` (callers keep one
 * for reuse). With `verifyCrc` false only the structure is checked (a header
 * walk over data whose CRCs were checked before). Returns the batch's total size in bytes (> 0), or a negative
 * `BatchCheckFailure`.
 */
export function checkBatch(
  bytes: Uint8Array,
  view: DataView,
  position: number,
  limit: number,
  maxBatchBytes = 0x7fff_ffff,
  verifyCrc = true,
): number {
  // The walker's failure codes are the first three of BatchCheckFailure.
  const sizeBytes = nextBatchBytes(view, position, limit, maxBatchBytes);
  if (sizeBytes < 0 || !verifyCrc) return sizeBytes;
  const storedCrc = view.getUint32(position + BatchHeader.CRC);
  if (crc32c(bytes, position + BatchHeader.CRC_START, position + sizeBytes) !== storedCrc) {
    return BatchCheckFailure.BAD_CRC;
  }
  return sizeBytes;
}
