import { PyralogError } from '../common/errors.js';
import { readInt64 } from '../common/offset.js';
import { BatchAttributes, BatchHeader } from '../record/batch-header.js';
import { nextBatchBytes } from '../record/batch-walk.js';
import type { PartitionLog } from '../storage/partition-log.js';
import type { ProducerStateTable } from './producer-state.js';

/**
 * Rebuilds idempotent-producer state from the tail of a partition's log when
 * its shard opens it, so duplicate detection survives restarts and crashes
 * without a snapshot file: the batches themselves carry producer id, epoch
 * and sequence. Only the tail matters because a producer retries only its
 * last five in-flight batches; producers idle for longer are accepted afresh
 * at any sequence, as Kafka does since KIP-360.
 */
export const PRODUCER_STATE_TAIL_OFFSETS = 50_000;
const READ_CHUNK_BYTES = 1024 * 1024;

export function rebuildProducerState(
  table: ProducerStateTable,
  log: PartitionLog,
  nowMs: number = Date.now(),
): void {
  let offset = Math.max(log.logStartOffset, log.logEndOffset - PRODUCER_STATE_TAIL_OFFSETS);
  while (offset < log.logEndOffset) {
    let chunk: Uint8Array;
    try {
      chunk = log.read(offset, READ_CHUNK_BYTES);
    } catch (error) {
      // A damaged batch (it fails its CRC, and reads refuse it) holds no trustworthy producer state:
      // step past it. The partition still opens and serves everything else.
      if (!(error instanceof PyralogError)) throw error;
      offset++;
      continue;
    }
    if (chunk.length < BatchHeader.SIZE_BYTES) return;
    const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const walked = recordProducerBatches(table, view, 0, chunk.length, nowMs);
    if (walked.position === 0) return;
    offset = walked.nextOffset;
  }
}

const walked = { position: 0, nextOffset: 0 };

/**
 * Records the producer fields of the whole batches in view[from, to) (a
 * follower does this for what its leader sent, so it can take over duplicate
 * detection). Returns where the walk stopped and the offset after the last
 * batch (a reused object).
 */
export function recordProducerBatches(
  table: ProducerStateTable,
  view: DataView,
  from: number,
  to: number,
  nowMs: number,
): { position: number; nextOffset: number } {
  let position = from;
  walked.nextOffset = -1;
  while (to - position >= BatchHeader.SIZE_BYTES) {
    const sizeBytes = nextBatchBytes(view, position, to);
    if (sizeBytes < 0) break;
    const baseOffset = readInt64(view, position + BatchHeader.BASE_OFFSET);
    // A compacted batch keeps its lastOffsetDelta but may have lost records (or all of them, kept as an
    // empty batch for exactly this): the producer's sequence range follows the offsets, not the count.
    const recordCount = view.getInt32(position + BatchHeader.LAST_OFFSET_DELTA) + 1;
    const producerId = readInt64(view, position + BatchHeader.PRODUCER_ID);
    if (
      producerId >= 0 &&
      (view.getInt16(position + BatchHeader.ATTRIBUTES) & BatchAttributes.CONTROL) !== 0
    ) {
      // A transaction marker carries no sequence (its base sequence is -1): it only fences older epochs.
      table.acceptMarkerEpoch(producerId, view.getInt16(position + BatchHeader.PRODUCER_EPOCH));
    } else if (producerId >= 0) {
      table.recordAppend(
        producerId,
        view.getInt16(position + BatchHeader.PRODUCER_EPOCH),
        view.getInt32(position + BatchHeader.BASE_SEQUENCE),
        recordCount,
        baseOffset,
        // When the producer last appended, as far as the log tells: its batch's max timestamp.
        Math.min(nowMs, readInt64(view, position + BatchHeader.MAX_TIMESTAMP)),
      );
    }
    walked.nextOffset = baseOffset + recordCount;
    position += sizeBytes;
  }
  walked.position = position - from;
  return walked;
}
