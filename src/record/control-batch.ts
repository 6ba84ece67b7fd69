import { readInt64 } from '../common/offset.js';
import { assembleBatch } from './batch-builder.js';
import { BatchAttributes, BatchHeader } from './batch-header.js';
import { type Cursor, readVarint, varintSizeBytes, writeVarint } from './varint.js';

/**
 * Kafka's transaction marker: a control batch the broker writes to a
 * partition to end a producer's transaction there (KIP-98). Only the broker
 * writes these; clients may not produce them (validate.ts).
 *
 * The batch: attributes = transactional (0x10) | control (0x20), no
 * compression, CreateTime; producerId and producerEpoch of the transaction;
 * baseSequence -1; exactly one record, whose
 *
 *   key   (4 bytes):  i16 version (0), i16 type (0 ABORT, 1 COMMIT)
 *   value (6 bytes):  i16 version (0), i32 coordinatorEpoch
 *
 * big-endian, as Kafka's ControlRecordType and EndTransactionMarker encode
 * them. The record has no headers, timestampDelta 0 and offsetDelta 0.
 */
export const ControlRecordType = { ABORT: 0, COMMIT: 1 } as const;

const KEY_BYTES = 4;
const VALUE_BYTES = 6;
/** attributes byte, timestampDelta (0), offsetDelta (0), key length + key, value length + value, header count. */
const RECORD_BODY_BYTES = 1 + 1 + 1 + 1 + KEY_BYTES + 1 + VALUE_BYTES + 1;

export interface ControlMarker {
  producerId: number;
  producerEpoch: number;
  commit: boolean;
  coordinatorEpoch: number;
}

/** Builds the marker batch (baseOffset 0: the log assigns it on append). */
export function buildControlBatch(marker: ControlMarker, timestampMs: number): Uint8Array {
  const section = new Uint8Array(varintSizeBytes(RECORD_BODY_BYTES) + RECORD_BODY_BYTES);
  const view = new DataView(section.buffer);
  let p = writeVarint(section, 0, RECORD_BODY_BYTES);
  section[p++] = 0; // record attributes
  p = writeVarint(section, p, 0); // timestampDelta
  p = writeVarint(section, p, 0); // offsetDelta
  p = writeVarint(section, p, KEY_BYTES);
  view.setInt16(p, 0);
  view.setInt16(p + 2, marker.commit ? ControlRecordType.COMMIT : ControlRecordType.ABORT);
  p += KEY_BYTES;
  p = writeVarint(section, p, VALUE_BYTES);
  view.setInt16(p, 0);
  view.setInt32(p + 2, marker.coordinatorEpoch);
  p += VALUE_BYTES;
  p = writeVarint(section, p, 0); // headers
  return assembleBatch(
    section,
    1,
    timestampMs,
    timestampMs,
    BatchAttributes.TRANSACTIONAL | BatchAttributes.CONTROL,
    { producerId: marker.producerId, producerEpoch: marker.producerEpoch, baseSequence: -1 },
  );
}

/** Whether the batch at `at` in `view` is a control batch. */
export function isControlBatch(view: DataView, at: number): boolean {
  return (view.getInt16(at + BatchHeader.ATTRIBUTES) & BatchAttributes.CONTROL) !== 0;
}

/** Whether the batch at `at` in `view` belongs to a transaction (its data, or its marker). */
export function isTransactionalBatch(view: DataView, at: number): boolean {
  return (view.getInt16(at + BatchHeader.ATTRIBUTES) & BatchAttributes.TRANSACTIONAL) !== 0;
}

const cursor: Cursor = { position: 0 };

/**
 * The control record type (ABORT 0, COMMIT 1) of the uncompressed control
 * batch at `at` (of `sizeBytes`) in `bytes`; -1 when its first record does
 * not hold a control key Pyralog understands (an unknown version or type is
 * not a transaction marker and ends nothing).
 */
export function controlRecordType(bytes: Uint8Array, view: DataView, at: number, sizeBytes: number): number {
  if (view.getInt32(at + BatchHeader.RECORD_COUNT) < 1) return -1;
  const end = at + sizeBytes;
  cursor.position = at + BatchHeader.SIZE_BYTES;
  try {
    const bodyBytes = readVarint(bytes, cursor, end, 5);
    const recordEnd = cursor.position + bodyBytes;
    if (bodyBytes < 1 || recordEnd > end) return -1;
    cursor.position++; // attributes
    readVarint(bytes, cursor, recordEnd); // timestampDelta
    readVarint(bytes, cursor, recordEnd, 5); // offsetDelta
    const keyBytes = readVarint(bytes, cursor, recordEnd, 5);
    if (keyBytes < KEY_BYTES || cursor.position + keyBytes > recordEnd) return -1;
    if (view.getInt16(cursor.position) !== 0) return -1;
    const type = view.getInt16(cursor.position + 2);
    return type === ControlRecordType.ABORT || type === ControlRecordType.COMMIT ? type : -1;
  } catch {
    return -1;
  }
}

/** The producer id of the batch at `at` (-1: none). */
export function batchProducerId(view: DataView, at: number): number {
  return readInt64(view, at + BatchHeader.PRODUCER_ID);
}
