import { BatchHeader } from '../record/batch-header.js';
import type { ProducedRecord } from '../record/record.js';

/**
 * Splits the records a JSON produce sends to one partition into runs that
 * each fit one RecordBatch of at most `batchBytesMax` (the topic's
 * max.message.bytes), so a large JSON body is not refused only because it
 * was sent in one request. A record that alone exceeds the limit gets a run
 * of its own, which the engine then refuses as too large.
 *
 * The size of a record is bounded from above without encoding it: every
 * varint field at its widest (5 bytes, 10 for the timestamp delta) plus the
 * bytes of its key, value and headers.
 */
const RECORD_FIXED_BYTES_MAX = 5 + 1 + 10 + 5 + 5 + 5 + 5;
const HEADER_FIXED_BYTES_MAX = 5 + 5;

export function recordSizeBytesMax(record: ProducedRecord): number {
  let size = RECORD_FIXED_BYTES_MAX + (record.key?.length ?? 0) + (record.value?.length ?? 0);
  for (const header of record.headers ?? []) {
    size += HEADER_FIXED_BYTES_MAX + Buffer.byteLength(header.key) + (header.value?.length ?? 0);
  }
  return size;
}

/** Run boundaries as `[start, end)` index pairs over `records`, in order. */
export function batchRuns(records: readonly ProducedRecord[], batchBytesMax: number): [number, number][] {
  const runs: [number, number][] = [];
  let start = 0;
  let sizeBytes = BatchHeader.SIZE_BYTES;
  for (let i = 0; i < records.length; i++) {
    const recordBytes = recordSizeBytesMax(records[i]!);
    if (i > start && sizeBytes + recordBytes > batchBytesMax) {
      runs.push([start, i]);
      start = i;
      sizeBytes = BatchHeader.SIZE_BYTES;
    }
    sizeBytes += recordBytes;
  }
  if (start < records.length) runs.push([start, records.length]);
  return runs;
}
