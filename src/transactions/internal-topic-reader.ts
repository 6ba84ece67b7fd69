import { PyralogError } from '../common/errors.js';
import { KafkaErrorCode } from '../common/kafka-error-code.js';
import { type Offset, readInt64 } from '../common/offset.js';
import type { Engine } from '../engine/engine-api.js';
import { BatchAttributes, BatchHeader } from '../record/batch-header.js';
import { decodeBatchRecords } from '../record/batch-reader.js';
import { nextBatchBytes } from '../record/batch-walk.js';
import type { ConsumedRecord } from '../record/record.js';

/** Bytes asked for per fetch while loading; a larger batch still comes whole (KIP-74). */
const LOAD_FETCH_BYTES = 1024 * 1024;

/**
 * Reads one partition of an internal topic from its log start to its end,
 * handing each record of each data batch to `onRecord` in log order. Control
 * batches (transaction markers) are stepped over. A batch that does not decode
 * is reported to `onDamagedBatch` and skipped: what the broker wrote must never
 * stop it starting. Throws a PyralogError when the partition cannot be read.
 */
export async function readInternalPartition(
  engine: Engine,
  topic: string,
  partition: number,
  onRecord: (record: ConsumedRecord) => void,
  onDamagedBatch: (baseOffset: number, error: unknown) => void,
): Promise<void> {
  const end = await engine.listOffsets(topic, partition, -1);
  const start = await engine.listOffsets(topic, partition, -2);
  if (end.errorCode !== KafkaErrorCode.NONE || start.errorCode !== KafkaErrorCode.NONE) {
    const code = end.errorCode !== KafkaErrorCode.NONE ? end.errorCode : start.errorCode;
    throw new PyralogError(code, `cannot find the offsets of ${topic}-${partition}`);
  }
  let offset = start.offset as number;
  while (offset < end.offset) {
    const fetched = await engine.fetch({
      partitions: [{ topic, partition, offset: offset as Offset, maxBytes: LOAD_FETCH_BYTES }],
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: LOAD_FETCH_BYTES,
    });
    const result = fetched.partitions[0];
    if (result === undefined || result.errorCode !== KafkaErrorCode.NONE) {
      const code = result?.errorCode ?? KafkaErrorCode.UNKNOWN_SERVER_ERROR;
      throw new PyralogError(code, `cannot read ${topic}-${partition} at offset ${offset}`);
    }
    const next = walkBatches(offset, result.records, onRecord, onDamagedBatch);
    // Nothing past the offset asked for: stop rather than ask again for the same bytes.
    if (next <= offset) break;
    offset = next;
  }
}

function walkBatches(
  offset: number,
  records: Uint8Array,
  onRecord: (record: ConsumedRecord) => void,
  onDamagedBatch: (baseOffset: number, error: unknown) => void,
): number {
  const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
  let position = 0;
  let next = offset;
  while (records.length - position >= BatchHeader.SIZE_BYTES) {
    const sizeBytes = nextBatchBytes(view, position, records.length);
    if (sizeBytes < 0) break;
    const at = position;
    position += sizeBytes;
    const baseOffset = readInt64(view, at + BatchHeader.BASE_OFFSET);
    next = Math.max(next, baseOffset + view.getInt32(at + BatchHeader.LAST_OFFSET_DELTA) + 1);
    if ((view.getInt16(at + BatchHeader.ATTRIBUTES) & BatchAttributes.CONTROL) !== 0) continue;
    let decoded: ConsumedRecord[];
    try {
      decoded = decodeBatchRecords(records.subarray(at, at + sizeBytes));
    } catch (error) {
      onDamagedBatch(baseOffset, error);
      continue;
    }
    for (const record of decoded) {
      // A fetch may start with a whole batch that begins below the offset asked for.
      if (record.offset >= offset) onRecord(record);
    }
  }
  return next;
}
