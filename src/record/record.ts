/**
 * One record inside a RecordBatch v2, in the layout Kafka defines:
 *
 *   length: varint            bytes after this field
 *   attributes: int8          unused, 0
 *   timestampDelta: varlong   from the batch's baseTimestamp
 *   offsetDelta: varint       from the batch's baseOffset
 *   keyLength: varint         -1 for a null key
 *   key: byte[keyLength]
 *   valueLength: varint       -1 for a null value
 *   value: byte[valueLength]
 *   headerCount: varint
 *   headers: [headerKeyLength: varint, headerKey: utf8,
 *             headerValueLength: varint (-1 = null), headerValue: bytes]
 */
export interface RecordHeader {
  key: string;
  value: Uint8Array | null;
}

/** A record as a producer hands it to the batch builder. */
export interface ProducedRecord {
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers?: readonly RecordHeader[];
  /** Create time; the batch's first timestamp when omitted. */
  timestampMs?: number;
}

/** A record as read out of a stored batch. Key, value and header values are views into the batch bytes. */
export interface ConsumedRecord {
  offset: number;
  timestampMs: number;
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: RecordHeader[];
}
