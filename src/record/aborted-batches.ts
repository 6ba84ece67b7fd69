import { readInt64 } from '../common/offset.js';
import { BatchAttributes, BatchHeader } from './batch-header.js';
import { nextBatchBytes } from './batch-walk.js';
import {
  ControlRecordType,
  controlRecordType,
  isControlBatch,
  isTransactionalBatch,
} from './control-batch.js';
import { crc32c } from './crc32c.js';

/**
 * read_committed for readers that decode records themselves (the HTTP and
 * WebSocket front doors, Arrow, SQL): given a fetch's batches and its aborted
 * transactions, marks the data batches of aborted transactions so that they
 * are stepped over like transaction markers, the way a Kafka consumer skips
 * them (KIP-98): walking in offset order, a producer enters the aborted set
 * at its aborted transaction's first offset and leaves it at its ABORT
 * marker; its transactional batches in between are aborted.
 *
 * Marked, not removed: each such batch gets the control attribute (and a
 * CRC computed again) in a copy, so every reader that already skips control
 * batches skips it too while still moving its next offset past it; a window
 * of nothing but aborted data then never makes a reader ask for it again.
 * The input is returned as it is when there is nothing to mark.
 */
export interface AbortedTransactionRef {
  producerId: number;
  firstOffset: number;
}

export function maskAbortedBatches(
  records: Uint8Array,
  aborted: readonly AbortedTransactionRef[],
): Uint8Array {
  if (aborted.length === 0 || records.length < BatchHeader.SIZE_BYTES) return records;
  const byFirstOffset = [...aborted].sort((a, b) => a.firstOffset - b.firstOffset);
  let next = 0;
  const abortedProducers = new Set<number>();
  let view = new DataView(records.buffer, records.byteOffset, records.byteLength);
  let bytes = records;
  let copied = false;
  let position = 0;
  while (records.length - position >= BatchHeader.SIZE_BYTES) {
    const sizeBytes = nextBatchBytes(view, position, records.length);
    if (sizeBytes < 0) break;
    const lastOffset =
      readInt64(view, position + BatchHeader.BASE_OFFSET) +
      view.getInt32(position + BatchHeader.LAST_OFFSET_DELTA);
    while (next < byFirstOffset.length && byFirstOffset[next]!.firstOffset <= lastOffset) {
      abortedProducers.add(byFirstOffset[next]!.producerId);
      next++;
    }
    if (isTransactionalBatch(view, position)) {
      const producerId = readInt64(view, position + BatchHeader.PRODUCER_ID);
      if (isControlBatch(view, position)) {
        if (controlRecordType(bytes, view, position, sizeBytes) === ControlRecordType.ABORT) {
          abortedProducers.delete(producerId);
        }
      } else if (abortedProducers.has(producerId)) {
        if (!copied) {
          bytes = records.slice();
          view = new DataView(bytes.buffer);
          copied = true;
        }
        view.setInt16(
          position + BatchHeader.ATTRIBUTES,
          view.getInt16(position + BatchHeader.ATTRIBUTES) | BatchAttributes.CONTROL,
        );
        view.setUint32(
          position + BatchHeader.CRC,
          crc32c(bytes, position + BatchHeader.CRC_START, position + sizeBytes),
        );
      }
    }
    position += sizeBytes;
  }
  return bytes;
}
