import { readInt64 } from '../common/offset.js';
import { BatchAttributes, BatchHeader, CompressionCodec } from '../record/batch-header.js';
import { decodeBatchRecords } from '../record/batch-reader.js';
import { nextBatchBytes } from '../record/batch-walk.js';

/**
 * Searches inside bytes read from a segment: the batch holding an offset,
 * and the first record at or after a timestamp. Reads by offset use the
 * first on every fetch, so it allocates nothing.
 */
export interface BatchSearch {
  /** Where the batch holding the offset starts in the bytes searched; -1 when not there. */
  position: number;
  /** When not found: bytes of whole batches passed over (the next read starts there). */
  scannedBytes: number;
}

const search: BatchSearch = { position: -1, scannedBytes: 0 };

/** Finds, among the batches in view[0, length), the first whose last offset is at or past `offset`. */
export function findBatchContaining(view: DataView, length: number, offset: number): BatchSearch {
  let position = 0;
  while (position + BatchHeader.RECORD_COUNT <= length) {
    const baseOffset = readInt64(view, position + BatchHeader.BASE_OFFSET);
    const lastOffset = baseOffset + view.getInt32(position + BatchHeader.LAST_OFFSET_DELTA);
    if (lastOffset >= offset) {
      search.position = position;
      search.scannedBytes = position;
      return search;
    }
    // A batch running past the window is still stepped over whole (the next read starts after it):
    // only its header (within the window) has to be sane.
    const sizeBytes = nextBatchBytes(view, position, Number.MAX_SAFE_INTEGER);
    if (sizeBytes < 0) break;
    position += sizeBytes;
  }
  search.position = -1;
  search.scannedBytes = position;
  return search;
}

/**
 * Reads batches from `startOffset` (through `read`) until one holds a
 * record at or after `timestampMs`, and returns that record's offset and
 * timestamp. Compressed batches are not opened: their base offset and max
 * timestamp stand for them.
 */
export function timestampLookup(
  read: (offset: number) => Uint8Array,
  startOffset: number,
  endOffset: number,
  timestampMs: number,
): { offset: number; timestampMs: number } | null {
  let offset = startOffset;
  while (offset < endOffset) {
    const chunk = read(offset);
    if (chunk.length === 0) return null;
    const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let position = 0;
    while (position + BatchHeader.SIZE_BYTES <= chunk.length) {
      const sizeBytes = nextBatchBytes(view, position, chunk.length);
      if (sizeBytes < 0) return null;
      const baseOffset = readInt64(view, position + BatchHeader.BASE_OFFSET);
      const maxTimestampMs = readInt64(view, position + BatchHeader.MAX_TIMESTAMP);
      if (maxTimestampMs >= timestampMs) {
        const attributes = view.getInt16(position + BatchHeader.ATTRIBUTES);
        const plain = (attributes & BatchAttributes.COMPRESSION_MASK) === CompressionCodec.NONE;
        if (plain && (attributes & BatchAttributes.TIMESTAMP_TYPE_LOG_APPEND) === 0) {
          for (const record of decodeBatchRecords(chunk.subarray(position, position + sizeBytes))) {
            if (record.timestampMs >= timestampMs)
              return { offset: record.offset, timestampMs: record.timestampMs };
          }
        }
        return { offset: baseOffset, timestampMs: maxTimestampMs };
      }
      offset = baseOffset + view.getInt32(position + BatchHeader.LAST_OFFSET_DELTA) + 1;
      position += sizeBytes;
    }
  }
  return null;
}
