import { BatchAttributes, BatchHeader } from '../record/batch-header.js';
import { recordsSection } from '../record/batch-reader.js';
import { type Cursor, readVarint } from '../record/varint.js';

/**
 * Walks the records of concatenated RecordBatch v2 batches (as a fetch
 * returns them) and hands each one in the offset range to a sink as numbers
 * and byte ranges: no object, string or array per record. Compressed batches
 * are opened with whatever codec this build has (record/compression.ts must
 * be imported by the caller). Control batches (transaction markers) are not
 * records and are skipped.
 */
export interface RowSink {
  /**
   * One record. `bytes` holds the key, value and header bytes at the given
   * positions; a length of -1 means null. `headerCount` headers start at
   * `headersAt` in `bytes`, in the wire layout (varint lengths).
   */
  row(
    offset: number,
    timestampMs: number,
    bytes: Uint8Array,
    keyAt: number,
    keyLength: number,
    valueAt: number,
    valueLength: number,
    headersAt: number,
    headerCount: number,
  ): void;
  /** The rows of one batch have all been given (`bytes` of the next row may be another array). */
  endBatch(): void;
}

const cursor: Cursor = { position: 0 };

function readInt64(view: DataView, position: number): number {
  return view.getInt32(position) * 4294967296 + view.getUint32(position + 4);
}

/**
 * Sends every record with fromOffset <= offset < toOffset to `sink`; answers
 * the offset after the last record seen (whatever its range), or `fromOffset`
 * when there was none. A partial batch at the end is left for the next read.
 */
export function walkRecords(
  records: Uint8Array,
  fromOffset: number,
  toOffset: number,
  sink: RowSink,
): number {
  const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
  let position = 0;
  let nextOffset = fromOffset;
  while (records.length - position >= BatchHeader.SIZE_BYTES) {
    const sizeBytes = view.getInt32(position + BatchHeader.BATCH_LENGTH) + BatchHeader.LOG_OVERHEAD_BYTES;
    if (sizeBytes < BatchHeader.SIZE_BYTES || position + sizeBytes > records.length) break;
    const baseOffset = readInt64(view, position + BatchHeader.BASE_OFFSET);
    const lastOffset = baseOffset + view.getInt32(position + BatchHeader.LAST_OFFSET_DELTA);
    const attributes = view.getInt16(position + BatchHeader.ATTRIBUTES);
    const batchEnd = position + sizeBytes;
    if (lastOffset + 1 > nextOffset) nextOffset = lastOffset + 1;
    if ((attributes & BatchAttributes.CONTROL) !== 0 || lastOffset < fromOffset || baseOffset >= toOffset) {
      position = batchEnd;
      continue;
    }
    const logAppendTime = (attributes & BatchAttributes.TIMESTAMP_TYPE_LOG_APPEND) !== 0;
    const baseTimestampMs = readInt64(view, position + BatchHeader.BASE_TIMESTAMP);
    const maxTimestampMs = readInt64(view, position + BatchHeader.MAX_TIMESTAMP);
    const recordCount = view.getInt32(position + BatchHeader.RECORD_COUNT);
    const section = recordsSection(records.subarray(position, batchEnd));
    cursor.position = 0;
    for (let i = 0; i < recordCount; i++) {
      const bodyBytes = readVarint(section, cursor, section.length, 5);
      const end = cursor.position + bodyBytes;
      if (bodyBytes < 0 || end > section.length) throw new RangeError('record length runs past the batch');
      cursor.position++; // attributes
      const timestampDelta = readVarint(section, cursor, end);
      const offset = baseOffset + readVarint(section, cursor, end, 5);
      const keyLength = readVarint(section, cursor, end, 5);
      const keyAt = cursor.position;
      if (keyLength > 0) cursor.position += keyLength;
      const valueLength = readVarint(section, cursor, end, 5);
      const valueAt = cursor.position;
      if (valueLength > 0) cursor.position += valueLength;
      const headerCount = readVarint(section, cursor, end, 5);
      const headersAt = cursor.position;
      if (cursor.position > end || headerCount < 0) throw new RangeError('record fields run past the record');
      cursor.position = end;
      if (offset < fromOffset || offset >= toOffset) continue;
      const timestampMs = logAppendTime ? maxTimestampMs : baseTimestampMs + timestampDelta;
      sink.row(offset, timestampMs, section, keyAt, keyLength, valueAt, valueLength, headersAt, headerCount);
    }
    sink.endBatch();
    position = batchEnd;
  }
  return nextOffset;
}

/** The headers of a record as a JSON object text (`{"name":"value",…}`), null values as null. */
export function headersJson(
  bytes: Uint8Array,
  headersAt: number,
  headerCount: number,
  decoder: { decode(bytes: Uint8Array): string },
): string {
  const at: Cursor = { position: headersAt };
  const fields: Record<string, string | null> = {};
  for (let h = 0; h < headerCount; h++) {
    const keyLength = readVarint(bytes, at, bytes.length, 5);
    const key = decoder.decode(bytes.subarray(at.position, at.position + Math.max(0, keyLength)));
    at.position += Math.max(0, keyLength);
    const valueLength = readVarint(bytes, at, bytes.length, 5);
    fields[key] =
      valueLength < 0 ? null : decoder.decode(bytes.subarray(at.position, at.position + valueLength));
    at.position += Math.max(0, valueLength);
  }
  return JSON.stringify(fields);
}

/** The offset after the last whole batch in `records` (batch headers only); `fallback` when there is none. */
export function offsetAfterBatches(records: Uint8Array, fallback: number): number {
  const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
  let position = 0;
  let next = fallback;
  while (records.length - position >= BatchHeader.SIZE_BYTES) {
    const sizeBytes = view.getInt32(position + BatchHeader.BATCH_LENGTH) + BatchHeader.LOG_OVERHEAD_BYTES;
    if (sizeBytes < BatchHeader.SIZE_BYTES || position + sizeBytes > records.length) break;
    const last =
      readInt64(view, position + BatchHeader.BASE_OFFSET) +
      view.getInt32(position + BatchHeader.LAST_OFFSET_DELTA);
    if (last + 1 > next) next = last + 1;
    position += sizeBytes;
  }
  return next;
}
