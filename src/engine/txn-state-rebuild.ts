import { PyralogError } from '../common/errors.js';
import { readInt64 } from '../common/offset.js';
import { BatchHeader } from '../record/batch-header.js';
import { nextBatchBytes } from '../record/batch-walk.js';
import {
  ControlRecordType,
  controlRecordType,
  isControlBatch,
  isTransactionalBatch,
} from '../record/control-batch.js';
import type { PartitionLog } from '../storage/partition-log.js';
import { storageIo } from '../storage/storage-io.js';
import {
  type OpenTransaction,
  readTxnIndex,
  txnIndexPath,
  writeTxnIndex,
} from '../storage/txn-index-file.js';
import type { PartitionTxns } from './partition-txns.js';

/**
 * Rebuilds a partition's transaction state (partition-txns.ts) when its
 * shard opens it: open transactions, the aborted-transaction index, and the
 * transactions open where the active segment starts.
 *
 * Each segment's `.txnindex` (txn-index-file.ts) is written when it rolls,
 * before the next segment exists, and only when it has something to say
 * (a transaction open at its start or end, or an abort inside it); the
 * active segment's at a clean close. So:
 *   - a closed segment without the file had no transaction state;
 *   - one whose file is damaged, or ends elsewhere than the segment (recovery
 *     cut its log), is rescanned from there, as is everything after it;
 *   - the active segment is trusted after a clean stop (its file, or none
 *     meaning nothing open), and rescanned after an unclean one, starting
 *     from the transactions open at its start.
 * A rescan reads batch headers through the log's reads (CRC-checked) and
 * rewrites the files of the closed segments it covered.
 */
const READ_CHUNK_BYTES = 1024 * 1024;

export function rebuildTxnState(txns: PartitionTxns, log: PartitionLog): void {
  if (!log.hasFiles()) return;
  const ranges = log.segmentRanges();
  const last = ranges.length - 1;
  let carried: OpenTransaction[] = [];
  for (let i = 0; i < ranges.length; i++) {
    const range = ranges[i]!;
    const read = readTxnIndex(log.dir, range.baseOffset);
    const file = typeof read === 'string' ? null : read;
    const trusted = file !== null && file.endOffset === range.nextOffset;
    // A closed segment: its file says it all, or it had nothing to say (no file, and nothing open where
    // it starts). The active one: the same, after a clean stop only.
    if ((i < last || log.openedClean) && (trusted || (read === 'missing' && carried.length === 0))) {
      if (file !== null) {
        for (const entry of file.aborted)
          txns.addAborted(entry.producerId, entry.firstOffset, entry.lastOffset);
      }
      if (i === last) {
        setOpen(txns, file?.openAtEnd ?? carried);
        txns.openAtActiveStart = file?.openAtStart ?? carried;
        return;
      }
      carried = file?.openAtEnd ?? [];
      continue;
    }
    // From here on, rescan: start from what the file says was open at its start, else what came before.
    rescan(txns, log, ranges, i, file?.openAtStart ?? carried);
    return;
  }
}

function setOpen(txns: PartitionTxns, open: readonly OpenTransaction[]): void {
  txns.open.clear();
  for (const transaction of open) txns.open.set(transaction.producerId, transaction.firstOffset);
}

function rescan(
  txns: PartitionTxns,
  log: PartitionLog,
  ranges: readonly { baseOffset: number; nextOffset: number }[],
  first: number,
  openAtStart: OpenTransaction[],
): void {
  setOpen(txns, openAtStart);
  txns.openAtActiveStart = openAtStart;
  let segment = first;
  // A closed segment scanned to its end gets its file written again, as its roll would have (a damaged
  // or stale one is removed first, in case the segment turns out to have nothing to say).
  const finishSegment = (): void => {
    const range = ranges[segment]!;
    try {
      storageIo().removeFile(txnIndexPath(log.dir, range.baseOffset));
    } catch {
      // Left in place: the next open rescans this segment again. Slower, never wrong.
    }
    persistSegmentTxns(txns, log.dir, range.baseOffset, range.nextOffset);
    segment++;
  };
  let offset = Math.max(ranges[first]!.baseOffset, log.logStartOffset);
  while (offset < log.logEndOffset) {
    let chunk: Uint8Array;
    try {
      chunk = log.read(offset, READ_CHUNK_BYTES);
    } catch (error) {
      // A damaged batch holds no trustworthy transaction state: step past it (reads refuse it too).
      if (!(error instanceof PyralogError)) throw error;
      offset++;
      continue;
    }
    if (chunk.length < BatchHeader.SIZE_BYTES) break;
    const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let position = 0;
    while (chunk.length - position >= BatchHeader.SIZE_BYTES) {
      const sizeBytes = nextBatchBytes(view, position, chunk.length);
      if (sizeBytes < 0) break;
      const baseOffset = readInt64(view, position + BatchHeader.BASE_OFFSET);
      while (segment < ranges.length - 1 && baseOffset >= ranges[segment + 1]!.baseOffset) finishSegment();
      applyBatch(txns, chunk, view, position, sizeBytes, baseOffset);
      offset = baseOffset + view.getInt32(position + BatchHeader.LAST_OFFSET_DELTA) + 1;
      position += sizeBytes;
    }
    if (position === 0) break;
  }
  while (segment < ranges.length - 1) finishSegment();
}

/**
 * Writes the transaction index of a segment that is closing (a roll, or at a
 * clean close the active one): what was open at its start and is open now,
 * and the aborts inside it; then what is open now becomes what is open at the
 * next segment's start. Nothing is written for a segment with nothing to
 * say, so partitions without transactions never get the file. Returns false
 * when the write failed (the next open then rescans; slower, never wrong).
 */
export function persistSegmentTxns(
  txns: PartitionTxns,
  dir: string,
  baseOffset: number,
  endOffset: number,
): boolean {
  const openAtEnd = txns.openTransactions();
  const aborted = txns.abortedInRange(baseOffset, endOffset);
  const openAtStart = txns.openAtActiveStart;
  txns.openAtActiveStart = openAtEnd;
  if (openAtStart.length === 0 && openAtEnd.length === 0 && aborted.length === 0) return true;
  try {
    writeTxnIndex(dir, { baseOffset, endOffset, openAtStart, openAtEnd, aborted });
    return true;
  } catch {
    return false;
  }
}

/**
 * What whole batches laid end to end in `view` from `position` to `end` (a
 * follower's append, as its leader wrote them) do to the transaction state.
 * `bytes` and `view` cover the same memory from the same origin.
 */
export function recordTxnBatches(
  txns: PartitionTxns,
  bytes: Uint8Array,
  view: DataView,
  position: number,
  end: number,
): void {
  while (end - position >= BatchHeader.SIZE_BYTES) {
    const sizeBytes = nextBatchBytes(view, position, end);
    if (sizeBytes < 0) return;
    applyBatch(txns, bytes, view, position, sizeBytes, readInt64(view, position + BatchHeader.BASE_OFFSET));
    position += sizeBytes;
  }
}

/** What one stored batch does to the transaction state (also used by the model test). */
export function applyBatch(
  txns: PartitionTxns,
  bytes: Uint8Array,
  view: DataView,
  position: number,
  sizeBytes: number,
  baseOffset: number,
): void {
  if (!isTransactionalBatch(view, position)) return;
  const producerId = readInt64(view, position + BatchHeader.PRODUCER_ID);
  if (producerId < 0) return;
  if (!isControlBatch(view, position)) {
    txns.onTransactionalAppend(producerId, baseOffset);
    return;
  }
  const type = controlRecordType(bytes, view, position, sizeBytes);
  if (type < 0) return;
  txns.onMarker(
    producerId,
    view.getInt16(position + BatchHeader.PRODUCER_EPOCH),
    type === ControlRecordType.COMMIT,
    baseOffset,
  );
}
