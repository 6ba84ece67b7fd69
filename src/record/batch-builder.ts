import { writeInt64 } from '../common/offset.js';
import { BatchAttributes, BatchHeader, type CompressionCodec } from './batch-header.js';
import { crc32c } from './crc32c.js';
import type { ProducedRecord } from './record.js';
import { varintSizeBytes, writeVarint } from './varint.js';

/**
 * Encodes records into one uncompressed RecordBatch v2, the way a producer
 * would. Compressed batches are built by `compressBatch` (compression.ts).
 */
export interface BatchOptions {
  baseOffset?: number;
  /** Create time of the batch; defaults to the first record's timestamp or now. */
  baseTimestampMs?: number;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  partitionLeaderEpoch?: number;
  transactional?: boolean;
  /** Sets only the attribute bits; the records are encoded uncompressed. */
  compression?: CompressionCodec;
}

const textEncoder = new TextEncoder();

function recordBodySizeBytes(record: ProducedRecord, timestampDelta: number, offsetDelta: number): number {
  let size = 1 + varintSizeBytes(timestampDelta) + varintSizeBytes(offsetDelta);
  size += record.key === null ? 1 : varintSizeBytes(record.key.length) + record.key.length;
  size += record.value === null ? 1 : varintSizeBytes(record.value.length) + record.value.length;
  const headers = record.headers ?? [];
  size += varintSizeBytes(headers.length);
  for (const header of headers) {
    const keyBytes = textEncoder.encode(header.key).length;
    size += varintSizeBytes(keyBytes) + keyBytes;
    size += header.value === null ? 1 : varintSizeBytes(header.value.length) + header.value.length;
  }
  return size;
}

function writeBytesField(bytes: Uint8Array, position: number, field: Uint8Array | null): number {
  if (field === null) return writeVarint(bytes, position, -1);
  position = writeVarint(bytes, position, field.length);
  bytes.set(field, position);
  return position + field.length;
}

/** The records section of a batch (everything after the 61-byte header), uncompressed. */
export function encodeRecords(records: readonly ProducedRecord[], baseTimestampMs: number): Uint8Array {
  let totalBytes = 0;
  const bodySizes = new Array<number>(records.length);
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    const body = recordBodySizeBytes(record, (record.timestampMs ?? baseTimestampMs) - baseTimestampMs, i);
    bodySizes[i] = body;
    totalBytes += varintSizeBytes(body) + body;
  }
  const bytes = new Uint8Array(totalBytes);
  let position = 0;
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    position = writeVarint(bytes, position, bodySizes[i]!);
    bytes[position++] = 0;
    position = writeVarint(bytes, position, (record.timestampMs ?? baseTimestampMs) - baseTimestampMs);
    position = writeVarint(bytes, position, i);
    position = writeBytesField(bytes, position, record.key);
    position = writeBytesField(bytes, position, record.value);
    const headers = record.headers ?? [];
    position = writeVarint(bytes, position, headers.length);
    for (const header of headers) {
      position = writeBytesField(bytes, position, textEncoder.encode(header.key));
      position = writeBytesField(bytes, position, header.value);
    }
  }
  return bytes;
}

/**
 * Wraps an already encoded (and possibly compressed) records section in a
 * batch header and computes the CRC.
 */
export function assembleBatch(
  recordsSection: Uint8Array,
  recordCount: number,
  baseTimestampMs: number,
  maxTimestampMs: number,
  attributes: number,
  options: BatchOptions,
): Uint8Array {
  const bytes = new Uint8Array(BatchHeader.SIZE_BYTES + recordsSection.length);
  bytes.set(recordsSection, BatchHeader.SIZE_BYTES);
  sealBatchHeader(bytes, recordCount, baseTimestampMs, maxTimestampMs, attributes, options);
  return bytes;
}

/**
 * Fills in the header of a batch whose records already follow byte 61 of
 * `batch` (the whole batch, nothing after it), then its CRC.
 */
export function sealBatchHeader(
  batch: Uint8Array,
  recordCount: number,
  baseTimestampMs: number,
  maxTimestampMs: number,
  attributes = 0,
  options: BatchOptions = {},
): void {
  const view = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
  writeInt64(view, BatchHeader.BASE_OFFSET, options.baseOffset ?? 0);
  view.setInt32(BatchHeader.BATCH_LENGTH, batch.length - BatchHeader.LOG_OVERHEAD_BYTES);
  view.setInt32(BatchHeader.PARTITION_LEADER_EPOCH, options.partitionLeaderEpoch ?? -1);
  view.setInt8(BatchHeader.MAGIC, BatchHeader.MAGIC_V2);
  view.setInt16(BatchHeader.ATTRIBUTES, attributes);
  view.setInt32(BatchHeader.LAST_OFFSET_DELTA, recordCount - 1);
  writeInt64(view, BatchHeader.BASE_TIMESTAMP, baseTimestampMs);
  writeInt64(view, BatchHeader.MAX_TIMESTAMP, maxTimestampMs);
  writeInt64(view, BatchHeader.PRODUCER_ID, options.producerId ?? -1);
  view.setInt16(BatchHeader.PRODUCER_EPOCH, options.producerEpoch ?? -1);
  view.setInt32(BatchHeader.BASE_SEQUENCE, options.baseSequence ?? -1);
  view.setInt32(BatchHeader.RECORD_COUNT, recordCount);
  view.setUint32(BatchHeader.CRC, crc32c(batch, BatchHeader.CRC_START));
}

export function batchTimestamps(
  records: readonly ProducedRecord[],
  options: BatchOptions,
): { baseTimestampMs: number; maxTimestampMs: number } {
  const baseTimestampMs = options.baseTimestampMs ?? records[0]?.timestampMs ?? Date.now();
  let maxTimestampMs = baseTimestampMs;
  for (const record of records) {
    const timestampMs = record.timestampMs ?? baseTimestampMs;
    if (timestampMs > maxTimestampMs) maxTimestampMs = timestampMs;
  }
  return { baseTimestampMs, maxTimestampMs };
}

/** Builds an uncompressed RecordBatch v2 holding `records` (at least one). */
export function buildRecordBatch(records: readonly ProducedRecord[], options: BatchOptions = {}): Uint8Array {
  if (records.length === 0) throw new RangeError('a record batch holds at least one record');
  const { baseTimestampMs, maxTimestampMs } = batchTimestamps(records, options);
  let attributes = options.compression ?? 0;
  if (options.transactional) attributes |= BatchAttributes.TRANSACTIONAL;
  return assembleBatch(
    encodeRecords(records, baseTimestampMs),
    records.length,
    baseTimestampMs,
    maxTimestampMs,
    attributes,
    options,
  );
}
