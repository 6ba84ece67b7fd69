import { InvalidBatchError } from '../common/errors.js';
import { KafkaErrorCode } from '../common/kafka-error-code.js';
import { readInt64 } from '../common/offset.js';
import { batchCheckFailureName, checkBatch } from './batch-check.js';
import { BatchAttributes, BatchHeader, CompressionCodec, compressionCodecName } from './batch-header.js';
import { BufferViews } from './buffer-views.js';
import { type Cursor, readVarint } from './varint.js';

/**
 * Validation of a batch a client produced, before it is appended. A batch
 * that fails is rejected with the Kafka error code a client expects and is
 * never stored:
 *
 *   too large for the topic's max.message.bytes ........ MESSAGE_TOO_LARGE
 *   shorter than a header, or trailing bytes after it ... CORRUPT_MESSAGE
 *   CRC32C mismatch ..................................... CORRUPT_MESSAGE
 *   magic other than 2 .................................. INVALID_RECORD
 *   recordCount < 1, lastOffsetDelta != recordCount - 1 . INVALID_RECORD
 *   control batch (only the broker writes those) ........ INVALID_RECORD
 *   transactional batch without a producer id ........... INVALID_RECORD
 *   unknown compression codec ........................... UNSUPPORTED_COMPRESSION_TYPE
 *   uncompressed records that do not parse exactly, or
 *   whose offsetDeltas are not 0, 1, 2, … ............... INVALID_RECORD
 *   a record without a key, on a compacted topic ........ INVALID_RECORD
 *
 * Compressed records are stored untouched (the broker never re-encodes) and
 * are not walked here: decompressing on the shard would stall its other
 * partitions. The engine has them inflated and walked on the batch checker
 * threads before they reach the shard (compressed-check.ts).
 *
 * Runs on the shard thread for every produce: it walks records with one
 * reused cursor and a DataView per batch, and allocates nothing per record.
 */
const cursor: Cursor = { position: 0 };
const views = new BufferViews();

function reject(code: KafkaErrorCode, message: string): never {
  throw new InvalidBatchError(code, message);
}

/**
 * Throws `InvalidBatchError` unless `batch` is exactly one valid RecordBatch v2 a client may produce.
 * Uncompressed records whose CreateTime lies outside [earliestMs, latestMs] are refused with
 * INVALID_TIMESTAMP (a record without a timestamp, -1, is not checked, as in Kafka); the shard
 * derives the window from the topic's message.timestamp.before/after.max.ms (`timestampWindow`).
 */
export function validateProducedBatch(
  batch: Uint8Array,
  maxMessageBytes: number,
  earliestMs = Number.NEGATIVE_INFINITY,
  latestMs = Number.POSITIVE_INFINITY,
  requireKeys = false,
): void {
  if (batch.length > maxMessageBytes) {
    reject(
      KafkaErrorCode.MESSAGE_TOO_LARGE,
      `batch of ${batch.length} bytes exceeds max.message.bytes ${maxMessageBytes}`,
    );
  }
  if (batch.length < BatchHeader.SIZE_BYTES) {
    reject(
      KafkaErrorCode.CORRUPT_MESSAGE,
      `batch of ${batch.length} bytes is shorter than a RecordBatch header`,
    );
  }
  // Fields are read through views over the whole buffer (the shard's ring), so nothing is allocated per batch.
  const { view, bytes } = views.of(batch);
  const at = batch.byteOffset;
  const magic = view.getInt8(at + BatchHeader.MAGIC);
  if (magic !== BatchHeader.MAGIC_V2)
    reject(KafkaErrorCode.INVALID_RECORD, `batch magic is ${magic}, only 2 is accepted`);
  const sizeBytes = checkBatch(bytes, view, at, at + batch.length);
  if (sizeBytes < 0) {
    // A torn length, bad length or bad CRC all mean the bytes were damaged on their way here.
    reject(KafkaErrorCode.CORRUPT_MESSAGE, `invalid batch: ${batchCheckFailureName(sizeBytes)}`);
  }
  if (sizeBytes !== batch.length) {
    reject(
      KafkaErrorCode.CORRUPT_MESSAGE,
      `expected exactly one batch of ${sizeBytes} bytes, got ${batch.length} bytes`,
    );
  }
  const attributes = view.getInt16(at + BatchHeader.ATTRIBUTES);
  if ((attributes & BatchAttributes.CONTROL) !== 0)
    reject(KafkaErrorCode.INVALID_RECORD, 'clients may not produce control batches');
  if (
    (attributes & BatchAttributes.TRANSACTIONAL) !== 0 &&
    readInt64(view, at + BatchHeader.PRODUCER_ID) < 0
  ) {
    reject(KafkaErrorCode.INVALID_RECORD, 'a transactional batch must carry its producer id');
  }
  const codec = attributes & BatchAttributes.COMPRESSION_MASK;
  if (codec > CompressionCodec.ZSTD) {
    reject(
      KafkaErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
      `unknown compression codec ${compressionCodecName(codec)}`,
    );
  }
  const recordCount = view.getInt32(at + BatchHeader.RECORD_COUNT);
  if (recordCount < 1)
    reject(KafkaErrorCode.INVALID_RECORD, `recordCount is ${recordCount}, must be at least 1`);
  const lastOffsetDelta = view.getInt32(at + BatchHeader.LAST_OFFSET_DELTA);
  if (lastOffsetDelta !== recordCount - 1) {
    reject(
      KafkaErrorCode.INVALID_RECORD,
      `lastOffsetDelta ${lastOffsetDelta} disagrees with recordCount ${recordCount}`,
    );
  }
  if (codec === CompressionCodec.NONE) {
    const baseTimestampMs = readInt64(view, at + BatchHeader.BASE_TIMESTAMP);
    checkRecordsSection(
      batch,
      BatchHeader.SIZE_BYTES,
      recordCount,
      baseTimestampMs,
      earliestMs,
      latestMs,
      requireKeys,
    );
  }
}

/**
 * The CreateTime window a topic accepts at `nowMs`: Kafka's
 * message.timestamp.before.max.ms and message.timestamp.after.max.ms. A
 * LogAppendTime topic overwrites timestamps, so it accepts any.
 */
export function timestampWindow(
  config: { timestampType: string; timestampBeforeMaxMs: number; timestampAfterMaxMs: number },
  nowMs: number,
  into: { earliestMs: number; latestMs: number },
): void {
  if (config.timestampType === 'LogAppendTime') {
    into.earliestMs = Number.NEGATIVE_INFINITY;
    into.latestMs = Number.POSITIVE_INFINITY;
    return;
  }
  into.earliestMs = nowMs - config.timestampBeforeMaxMs;
  into.latestMs = nowMs + config.timestampAfterMaxMs;
}

/**
 * Walks plain records from `start` to the end of `section`: there must be
 * exactly `recordCount` of them, each parsing exactly within its length, with
 * offsetDelta = its index, and nothing after the last. Kafka's validator
 * checks the same of compressed batches once inflated (compressed-check.ts).
 */
export function checkRecordsSection(
  section: Uint8Array,
  start: number,
  recordCount: number,
  baseTimestampMs = 0,
  earliestMs = Number.NEGATIVE_INFINITY,
  latestMs = Number.POSITIVE_INFINITY,
  requireKeys = false,
): void {
  const batch = section;
  const limit = batch.length;
  cursor.position = start;
  try {
    for (let i = 0; i < recordCount; i++) {
      const bodyBytes = readVarint(batch, cursor, limit, 5);
      const end = cursor.position + bodyBytes;
      if (bodyBytes < 1 || end > limit)
        reject(KafkaErrorCode.INVALID_RECORD, `record ${i} length runs past the batch`);
      cursor.position++; // attributes (unused)
      const timestampMs = baseTimestampMs + readVarint(batch, cursor, end);
      if ((timestampMs < earliestMs || timestampMs > latestMs) && timestampMs !== -1) {
        reject(
          KafkaErrorCode.INVALID_TIMESTAMP,
          `record ${i} has timestamp ${timestampMs}, outside the topic's window ${earliestMs}..${latestMs} ` +
            '(message.timestamp.before.max.ms / after.max.ms)',
        );
      }
      const offsetDelta = readVarint(batch, cursor, end, 5);
      if (offsetDelta !== i)
        reject(KafkaErrorCode.INVALID_RECORD, `record ${i} has offsetDelta ${offsetDelta}`);
      if (skipBytesField(batch, end, i) < 0 && requireKeys) {
        reject(
          KafkaErrorCode.INVALID_RECORD,
          `record ${i} has no key: a compacted topic (cleanup.policy compact) accepts only records with a key`,
        );
      }
      skipBytesField(batch, end, i);
      const headerCount = readVarint(batch, cursor, end, 5);
      if (headerCount < 0) reject(KafkaErrorCode.INVALID_RECORD, `record ${i} has a negative header count`);
      for (let h = 0; h < headerCount; h++) {
        if (skipBytesField(batch, end, i) < 0)
          reject(KafkaErrorCode.INVALID_RECORD, `record ${i} has a null header key`);
        skipBytesField(batch, end, i);
      }
      if (cursor.position !== end)
        reject(KafkaErrorCode.INVALID_RECORD, `record ${i} length disagrees with its fields`);
    }
  } catch (error) {
    if (error instanceof RangeError)
      reject(KafkaErrorCode.INVALID_RECORD, `malformed record: ${error.message}`);
    throw error;
  }
  if (cursor.position !== limit) {
    reject(
      KafkaErrorCode.INVALID_RECORD,
      `${limit - cursor.position} bytes follow the last of ${recordCount} records`,
    );
  }
}

/** Skips a varint-length-prefixed field; returns its length (-1 for null). */
function skipBytesField(batch: Uint8Array, end: number, recordIndex: number): number {
  const length = readVarint(batch, cursor, end, 5);
  if (length < -1)
    reject(KafkaErrorCode.INVALID_RECORD, `record ${recordIndex} has a field length of ${length}`);
  if (length > 0) {
    if (cursor.position + length > end)
      reject(KafkaErrorCode.INVALID_RECORD, `record ${recordIndex} field runs past the record`);
    cursor.position += length;
  }
  return length;
}
