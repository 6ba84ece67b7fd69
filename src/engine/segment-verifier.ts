import { readFileSync } from 'node:fs';
import { batchCheckFailureName, checkBatch } from '../record/batch-check.js';
import type { SegmentVerification } from './offload-task.js';

/**
 * Full verification of one segment file: every batch's length, magic and
 * CRC32C, front to back. It reads the file without opening it as a log, so
 * it can run in the offload pool while the owning shard serves (it only
 * reads, and a segment's bytes never change once written).
 */
export function verifySegment(path: string): SegmentVerification {
  const bytes = readFileSync(path);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let position = 0;
  let batches = 0;
  while (position < bytes.length) {
    const result = checkBatch(bytes, view, position, bytes.length);
    if (result < 0) {
      return {
        path,
        batches,
        validBytes: position,
        fileBytes: bytes.length,
        problem: `${batchCheckFailureName(result)} at byte ${position}`,
      };
    }
    position += result;
    batches++;
  }
  return { path, batches, validBytes: position, fileBytes: bytes.length, problem: '' };
}
