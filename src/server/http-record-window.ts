import { UnsupportedCompressionError } from '../common/errors.js';
import { readInt64 } from '../common/offset.js';
import { BatchAttributes, BatchHeader, compressionCodecName } from '../record/batch-header.js';
import { decodeBatchRecords } from '../record/batch-reader.js';
import { nextBatchBytes } from '../record/batch-walk.js';
import { decompressRecords } from '../record/compression.js';
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
    const sizeBytes = nextBatchBytes(view, position, records.length);
    if (sizeBytes < 0) break;
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

/** Whether any whole batch of `records` is compressed (reading it means inflating it). */
export function anyCompressedBatch(records: Uint8Array): boolean {
  const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
  let position = 0;
  while (records.length - position >= BatchHeader.SIZE_BYTES) {
    const sizeBytes = view.getInt32(position + BatchHeader.BATCH_LENGTH) + BatchHeader.LOG_OVERHEAD_BYTES;
    if (sizeBytes < BatchHeader.SIZE_BYTES || position + sizeBytes > records.length) return false;
    if ((view.getInt16(position + BatchHeader.ATTRIBUTES) & BatchAttributes.COMPRESSION_MASK) !== 0)
      return true;
    position += sizeBytes;
  }
  return false;
}

/** Whether this build can open a records section compressed with `codec` (asked once per codec). */
const decodableCodecs = new Map<number, boolean>();
function codecDecodable(codec: number): boolean {
  let known = decodableCodecs.get(codec);
  if (known === undefined) {
    try {
      decompressRecords(codec, new Uint8Array(0));
      known = true;
    } catch (error) {
      // An empty input is corrupt for a codec that is supported; only a missing codec says so by name.
      known = !(error instanceof UnsupportedCompressionError);
    }
    decodableCodecs.set(codec, known);
  }
  return known;
}

/**
 * The leading batches of a fetch that this build can decode, and the first
 * one it cannot (a codec such as snappy that Kafka clients may use but this
 * broker only stores). Reads return records up to that batch; when it is
 * the first one wanted, the read is refused with a message saying why,
 * rather than failing deep inside the offload pool.
 */
export interface DecodablePrefix {
  bytes: Uint8Array;
  /** One past the last offset of the decodable batches (the first wanted offset when there are none). */
  endOffset: number;
  blocked: { baseOffset: number; codecName: string } | null;
}

export function decodablePrefix(records: Uint8Array, fromOffset: number): DecodablePrefix {
  const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
  let position = 0;
  let endOffset = fromOffset;
  while (records.length - position >= BatchHeader.SIZE_BYTES) {
    const sizeBytes = nextBatchBytes(view, position, records.length);
    if (sizeBytes < 0) break;
    const baseOffset = readInt64(view, position + BatchHeader.BASE_OFFSET);
    const codec = view.getInt16(position + BatchHeader.ATTRIBUTES) & BatchAttributes.COMPRESSION_MASK;
    if (!codecDecodable(codec)) {
      return {
        bytes: records.subarray(0, position),
        endOffset,
        blocked: { baseOffset, codecName: compressionCodecName(codec) },
      };
    }
    endOffset = Math.max(endOffset, baseOffset + view.getInt32(position + BatchHeader.LAST_OFFSET_DELTA) + 1);
    position += sizeBytes;
  }
  return { bytes: records, endOffset, blocked: null };
}
