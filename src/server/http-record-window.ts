import { readInt64 } from '../common/offset.js';
import { BatchAttributes, BatchHeader } from '../record/batch-header.js';
import { decodeBatchRecords } from '../record/batch-reader.js';
import type { ConsumedRecord } from '../record/record.js';

/**
 * The records a reader of the HTTP API asked for, out of the whole batches a
 * fetch returns (RecordBatch v2, concatenated; layout in batch-header.ts):
 * records before `fromOffset` (the first batch may start earlier) are
 * skipped, at most `limit` are kept, control batches (transaction markers)
 * are stepped over, and a partial last batch is ignored. Shared by the JSON
 * read and the Arrow export so both return the same records.
 *
 * `nextOffset` is where the next read should start: one past the last record
 * kept when the limit cut the window short, else one past the last batch read
 * (so a window of only control batches still moves the reader on).
 */
export interface RecordWindow {
  records: ConsumedRecord[];
  nextOffset: number;
}

export function recordWindow(records: Uint8Array, fromOffset: number, limit: number): RecordWindow {
  const out: ConsumedRecord[] = [];
  let nextOffset = fromOffset;
  if (limit < 1) return { records: out, nextOffset };
  const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
  let position = 0;
  while (records.length - position >= BatchHeader.SIZE_BYTES) {
    const sizeBytes = view.getInt32(position + BatchHeader.BATCH_LENGTH) + BatchHeader.LOG_OVERHEAD_BYTES;
    if (sizeBytes < BatchHeader.SIZE_BYTES || position + sizeBytes > records.length) break;
    const lastOffset =
      readInt64(view, position + BatchHeader.BASE_OFFSET) +
      view.getInt32(position + BatchHeader.LAST_OFFSET_DELTA);
    const control = (view.getInt16(position + BatchHeader.ATTRIBUTES) & BatchAttributes.CONTROL) !== 0;
    if (!control && lastOffset >= fromOffset) {
      for (const record of decodeBatchRecords(records.subarray(position, position + sizeBytes))) {
        if (record.offset < fromOffset) continue;
        if (out.length >= limit) return { records: out, nextOffset: out[out.length - 1]!.offset + 1 };
        out.push(record);
      }
    }
    nextOffset = Math.max(nextOffset, lastOffset + 1);
    position += sizeBytes;
  }
  return { records: out, nextOffset };
}
