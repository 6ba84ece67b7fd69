import { InvalidBatchError, UnsupportedCompressionError } from '../common/errors.js';
import { KafkaErrorCode } from '../common/kafka-error-code.js';
import { readInt64 } from '../common/offset.js';
import { BatchAttributes, BatchHeader, CompressionCodec, compressionCodecName } from './batch-header.js';
import { nextBatchBytes } from './batch-walk.js';
import type { ConsumedRecord, RecordHeader } from './record.js';
import { type Cursor, readVarint } from './varint.js';

/**
 * Decodes the records of RecordBatch v2 batches. This is for consumers, tools
 * and the JSON front door: the broker's produce and fetch paths move whole
 * batches and never decode records.
 */

const textDecoder = new TextDecoder('utf-8', { fatal: false });

/** Turns a compressed records section into plain bytes; registered by compression.ts. */
export type Decompressor = (codec: number, compressed: Uint8Array) => Uint8Array;

let decompressor: Decompressor | null = null;

export function setDecompressor(fn: Decompressor): void {
  decompressor = fn;
}

function readBytesField(bytes: Uint8Array, cursor: Cursor, limit: number): Uint8Array | null {
  const length = readVarint(bytes, cursor, limit, 5);
  if (length < 0) return null;
  const start = cursor.position;
  if (start + length > limit) throw new RangeError('record field runs past the end of its record');
  cursor.position = start + length;
  return bytes.subarray(start, start + length);
}

/** The plain records section of one batch, decompressing when its attributes say so. */
export function recordsSection(batch: Uint8Array): Uint8Array {
  if (batch.length < BatchHeader.SIZE_BYTES) {
    throw new InvalidBatchError(
      KafkaErrorCode.CORRUPT_MESSAGE,
      `batch of ${batch.length} bytes is shorter than its header`,
    );
  }
  const view = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
  const codec = view.getInt16(BatchHeader.ATTRIBUTES) & BatchAttributes.COMPRESSION_MASK;
  const section = batch.subarray(BatchHeader.SIZE_BYTES);
  if (codec === CompressionCodec.NONE) return section;
  if (decompressor === null) throw new UnsupportedCompressionError(compressionCodecName(codec));
  return decompressor(codec, section);
}

/**
 * Decodes every record of the single batch `batch` (exactly one batch's bytes).
 * Throws `InvalidBatchError` (INVALID_RECORD) on a malformed record, and
 * `UnsupportedCompressionError` for a codec this build cannot open.
 */
export function decodeBatchRecords(batch: Uint8Array): ConsumedRecord[] {
  if (batch.length < BatchHeader.SIZE_BYTES) {
    throw new InvalidBatchError(
      KafkaErrorCode.CORRUPT_MESSAGE,
      `batch of ${batch.length} bytes is shorter than its header`,
    );
  }
  const view = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
  const baseOffset = readInt64(view, BatchHeader.BASE_OFFSET);
  const baseTimestampMs = readInt64(view, BatchHeader.BASE_TIMESTAMP);
  const logAppendTime =
    (view.getInt16(BatchHeader.ATTRIBUTES) & BatchAttributes.TIMESTAMP_TYPE_LOG_APPEND) !== 0;
  const maxTimestampMs = readInt64(view, BatchHeader.MAX_TIMESTAMP);
  const recordCount = view.getInt32(BatchHeader.RECORD_COUNT);
  const section = recordsSection(batch);
  const records: ConsumedRecord[] = [];
  const cursor: Cursor = { position: 0 };
  try {
    for (let i = 0; i < recordCount; i++) {
      const bodyBytes = readVarint(section, cursor, section.length, 5);
      const end = cursor.position + bodyBytes;
      if (bodyBytes < 0 || end > section.length) throw new RangeError('record length runs past the batch');
      cursor.position++; // attributes
      const timestampDelta = readVarint(section, cursor, end);
      const offsetDelta = readVarint(section, cursor, end, 5);
      const key = readBytesField(section, cursor, end);
      const value = readBytesField(section, cursor, end);
      const headerCount = readVarint(section, cursor, end, 5);
      if (headerCount < 0) throw new RangeError('negative header count');
      const headers: RecordHeader[] = [];
      for (let h = 0; h < headerCount; h++) {
        const headerKey = readBytesField(section, cursor, end);
        if (headerKey === null) throw new RangeError('null header key');
        headers.push({ key: textDecoder.decode(headerKey), value: readBytesField(section, cursor, end) });
      }
      if (cursor.position !== end) throw new RangeError('record length disagrees with its fields');
      records.push({
        offset: baseOffset + offsetDelta,
        timestampMs: logAppendTime ? maxTimestampMs : baseTimestampMs + timestampDelta,
        key,
        value,
        headers,
      });
    }
  } catch (error) {
    if (error instanceof RangeError) {
      throw new InvalidBatchError(KafkaErrorCode.INVALID_RECORD, `malformed record: ${error.message}`);
    }
    throw error;
  }
  return records;
}

/**
 * Decodes all records of concatenated batches (a fetch response's records), skipping a partial last
 * batch and control batches (transaction markers: no consumer sees them as records, as in Kafka).
 */
export function decodeRecordSet(records: Uint8Array): ConsumedRecord[] {
  const out: ConsumedRecord[] = [];
  const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
  let position = 0;
  while (records.length - position >= BatchHeader.SIZE_BYTES) {
    const sizeBytes = nextBatchBytes(view, position, records.length);
    if (sizeBytes < 0) break;
    if ((view.getInt16(position + BatchHeader.ATTRIBUTES) & BatchAttributes.CONTROL) === 0) {
      for (const record of decodeBatchRecords(records.subarray(position, position + sizeBytes)))
        out.push(record);
    }
    position += sizeBytes;
  }
  return out;
}
