import { readInt64 } from '../../src/common/offset.js';
import { BatchHeader } from '../../src/record/batch-header.js';
import { decodeBatchRecords } from '../../src/record/batch-reader.js';
import { nextBatchBytes } from '../../src/record/batch-walk.js';
import type { PartitionLog } from '../../src/storage/partition-log.js';

/** A record as a compaction model keeps it: what was produced at an offset. */
export interface ModelRecord {
  offset: number;
  key: string | null;
  value: string | null;
  timestampMs: number;
}

const decoder = new TextDecoder();

/** The records of every batch in `chunk` at or past `fromOffset`, and the offset after its last batch. */
export function recordsOf(
  chunk: Uint8Array,
  fromOffset: number,
): { records: ModelRecord[]; nextOffset: number } {
  const copy = chunk.slice();
  const view = new DataView(copy.buffer);
  const records: ModelRecord[] = [];
  let nextOffset = fromOffset;
  let position = 0;
  for (;;) {
    const sizeBytes = nextBatchBytes(view, position, copy.length);
    if (sizeBytes < 0) break;
    for (const record of decodeBatchRecords(copy.subarray(position, position + sizeBytes))) {
      if (record.offset < fromOffset) continue;
      records.push({
        offset: record.offset,
        key: record.key === null ? null : decoder.decode(record.key),
        value: record.value === null ? null : decoder.decode(record.value),
        timestampMs: record.timestampMs,
      });
    }
    nextOffset =
      readInt64(view, position + BatchHeader.BASE_OFFSET) +
      view.getInt32(position + BatchHeader.LAST_OFFSET_DELTA) +
      1;
    position += sizeBytes;
  }
  return { records, nextOffset };
}

/** Every record the log serves, reading through gaps batch by batch as a consumer does. */
export function readAllRecords(log: PartitionLog): ModelRecord[] {
  const records: ModelRecord[] = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const chunk = log.read(offset, 64 * 1024);
    if (chunk.length === 0) break;
    const read = recordsOf(chunk, offset);
    records.push(...read.records);
    offset = read.nextOffset;
  }
  return records;
}

/** What compaction must leave: below `cleanableEnd`, the last record per key, tombstones gone once old. */
export function expectedAfterClean(
  history: readonly ModelRecord[],
  cleanableEnd: number,
  nowMs: number,
  deleteRetentionMs: number,
): ModelRecord[] {
  const latest = new Map<string, number>();
  for (const record of history) {
    if (record.offset < cleanableEnd && record.key !== null) latest.set(record.key, record.offset);
  }
  return history.filter((record) => {
    if (record.offset >= cleanableEnd || record.key === null) return true;
    if (latest.get(record.key) !== record.offset) return false;
    return !(record.value === null && record.timestampMs + deleteRetentionMs <= nowMs);
  });
}
