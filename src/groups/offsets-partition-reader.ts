import { errorMessage, PyralogError } from '../common/errors.js';
import { KafkaErrorCode } from '../common/kafka-error-code.js';
import { type Offset, readInt64 } from '../common/offset.js';
import type { Engine } from '../engine/engine-api.js';
import { BatchHeader } from '../record/batch-header.js';
import { decodeBatchRecords } from '../record/batch-reader.js';
import { nextBatchBytes } from '../record/batch-walk.js';
import type { ConsumedRecord } from '../record/record.js';
import { OFFSETS_TOPIC } from './offsets-topic.js';

/**
 * Reads one partition of `__consumer_offsets` back, record by record, for the
 * offset store to apply: from the log start to the high watermark on a single
 * node, or, in a cluster, to the log end as this broker's own replica reads it
 * (a new leader's log holds every acknowledged commit, while its high
 * watermark may still be catching up with its followers).
 */

export interface OffsetStoreLog {
  warn(details: object, message: string): void;
  info?(details: object, message: string): void;
}

/** Bytes asked for per fetch while loading; a larger batch still comes whole (KIP-74). */
const LOAD_FETCH_BYTES = 1024 * 1024;

export interface OffsetsPartitionRead {
  engine: Engine;
  partition: number;
  /** Cluster mode: this broker's id, read as a replica to the log end; null: a single node, to the high watermark. */
  readerBrokerId: number | null;
  log: OffsetStoreLog;
  /** False once the records are no longer wanted (the partition moved on); checked after every wait. */
  stillWanted(): boolean;
  /** Applies one record; false when it is not a well-formed offset record. */
  applyRecord(record: ConsumedRecord): boolean;
}

/** Reads the partition from its start to its end; throws a PyralogError when it cannot be read. */
export async function readOffsetsPartition(read: OffsetsPartitionRead): Promise<void> {
  const { engine, partition, readerBrokerId } = read;
  const { startOffset, endOffset } = await loadBounds(engine, partition, readerBrokerId !== null);
  let offset = startOffset;
  while (offset < endOffset && read.stillWanted()) {
    const fetched = await engine.fetch({
      partitions: [{ topic: OFFSETS_TOPIC, partition, offset: offset as Offset, maxBytes: LOAD_FETCH_BYTES }],
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: LOAD_FETCH_BYTES,
      // As a follower reads: past the high watermark, to the log end.
      ...(readerBrokerId === null ? {} : { replicaId: readerBrokerId }),
    });
    const result = fetched.partitions[0];
    if (result === undefined || result.errorCode !== KafkaErrorCode.NONE) {
      const code = result?.errorCode ?? KafkaErrorCode.UNKNOWN_SERVER_ERROR;
      throw new PyralogError(code, `cannot read ${OFFSETS_TOPIC}-${partition} at offset ${offset}`);
    }
    // The partition moved on while this read waited: its records are not this read's to apply.
    if (!read.stillWanted()) return;
    const next = applyBatches(read, offset, result.records);
    // Nothing past the offset asked for: stop rather than ask again for the same bytes.
    if (next <= offset) break;
    offset = next;
  }
}

/** Where a read starts and ends: the high watermark on a single node, the log end in a cluster. */
async function loadBounds(
  engine: Engine,
  partition: number,
  toLogEnd: boolean,
): Promise<{ startOffset: number; endOffset: number }> {
  if (toLogEnd) {
    const described = (await engine.describePartitions(OFFSETS_TOPIC))?.[partition];
    const code = described === undefined ? KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION : described.errorCode;
    if (described === undefined || (code !== undefined && code !== KafkaErrorCode.NONE)) {
      throw new PyralogError(
        code ?? KafkaErrorCode.UNKNOWN_SERVER_ERROR,
        `cannot find the offsets of ${OFFSETS_TOPIC}-${partition}`,
      );
    }
    return { startOffset: described.logStartOffset, endOffset: described.logEndOffset };
  }
  const end = await engine.listOffsets(OFFSETS_TOPIC, partition, -1);
  const start = await engine.listOffsets(OFFSETS_TOPIC, partition, -2);
  if (end.errorCode !== KafkaErrorCode.NONE || start.errorCode !== KafkaErrorCode.NONE) {
    const code = end.errorCode !== KafkaErrorCode.NONE ? end.errorCode : start.errorCode;
    throw new PyralogError(code, `cannot find the offsets of ${OFFSETS_TOPIC}-${partition}`);
  }
  return { startOffset: start.offset, endOffset: end.offset };
}

/**
 * Applies the records of the fetched batches at or after `offset`; returns
 * the offset after the last batch. A batch that does not decode, or a
 * record that is not a well-formed offset key and value, is skipped with a
 * log line: what clients committed must never stop the broker starting.
 */
function applyBatches(read: OffsetsPartitionRead, offset: number, records: Uint8Array): number {
  const { partition, log } = read;
  const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
  let position = 0;
  let next = offset;
  let skippedRecords = 0;
  while (records.length - position >= BatchHeader.SIZE_BYTES) {
    const sizeBytes = nextBatchBytes(view, position, records.length);
    if (sizeBytes < 0) break;
    const batch = records.subarray(position, position + sizeBytes);
    position += sizeBytes;
    const baseOffset = readInt64(view, position - sizeBytes + BatchHeader.BASE_OFFSET);
    const lastOffset = baseOffset + view.getInt32(position - sizeBytes + BatchHeader.LAST_OFFSET_DELTA);
    next = Math.max(next, lastOffset + 1);
    let decoded: ConsumedRecord[];
    try {
      decoded = decodeBatchRecords(batch);
    } catch (error) {
      log.warn(
        { topic: OFFSETS_TOPIC, partition, baseOffset, error: errorMessage(error) },
        'skipping a damaged batch of committed offsets',
      );
      continue;
    }
    for (const record of decoded) {
      // A fetch may start with a whole batch that begins below the offset asked for.
      if (record.offset < offset) continue;
      if (!read.applyRecord(record)) skippedRecords++;
    }
  }
  if (skippedRecords > 0) {
    log.warn(
      { topic: OFFSETS_TOPIC, partition, skippedRecords },
      'skipped committed-offset records that are not well formed',
    );
  }
  return next;
}
