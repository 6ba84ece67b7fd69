/**
 * Kafka RecordBatch v2 (magic 2) header layout, as on the wire and on disk.
 * All integers are big-endian.
 *
 *   offset  size  field
 *   ------  ----  -----------------------------------------------
 *        0     8  baseOffset            (rewritten by the broker)
 *        8     4  batchLength           (bytes after this field)
 *       12     4  partitionLeaderEpoch  (rewritten by the broker)
 *       16     1  magic                 (always 2)
 *       17     4  crc                   (CRC32C of bytes 21..end)
 *       21     2  attributes
 *       23     4  lastOffsetDelta
 *       27     8  baseTimestamp
 *       35     8  maxTimestamp          (rewritten for LogAppendTime)
 *       43     8  producerId
 *       51     2  producerEpoch
 *       53     4  baseSequence
 *       57     4  recordCount
 *       61     …  records
 *
 * attributes: bits 0-2 compression (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd),
 * bit 3 timestamp type (1 = LogAppendTime), bit 4 transactional, bit 5 control
 * batch, bit 6 has delete horizon. Because the CRC starts at `attributes`, the
 * broker can rewrite baseOffset and partitionLeaderEpoch without recomputing it.
 */
export const BatchHeader = {
  BASE_OFFSET: 0,
  BATCH_LENGTH: 8,
  PARTITION_LEADER_EPOCH: 12,
  MAGIC: 16,
  CRC: 17,
  ATTRIBUTES: 21,
  LAST_OFFSET_DELTA: 23,
  BASE_TIMESTAMP: 27,
  MAX_TIMESTAMP: 35,
  PRODUCER_ID: 43,
  PRODUCER_EPOCH: 51,
  BASE_SEQUENCE: 53,
  RECORD_COUNT: 57,
  /** Bytes of the fixed header; records start here. */
  SIZE_BYTES: 61,
  /** Bytes before batchLength's count starts (baseOffset + batchLength). */
  LOG_OVERHEAD_BYTES: 12,
  /** First byte the CRC covers. */
  CRC_START: 21,
  MAGIC_V2: 2,
} as const;

export const BatchAttributes = {
  COMPRESSION_MASK: 0x07,
  TIMESTAMP_TYPE_LOG_APPEND: 0x08,
  TRANSACTIONAL: 0x10,
  CONTROL: 0x20,
  DELETE_HORIZON: 0x40,
} as const;

export const CompressionCodec = {
  NONE: 0,
  GZIP: 1,
  SNAPPY: 2,
  LZ4: 3,
  ZSTD: 4,
} as const;
export type CompressionCodec = (typeof CompressionCodec)[keyof typeof CompressionCodec];

const codecNames = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;

export function compressionCodecName(codec: number): string {
  return codecNames[codec] ?? `unknown(${codec})`;
}

/** The compression codec of the batch at the start of `bytes` (NONE when shorter than a header). */
export function batchCodec(bytes: Uint8Array, position = 0): number {
  if (bytes.length - position < BatchHeader.SIZE_BYTES) return CompressionCodec.NONE;
  // attributes is big-endian: its low byte, which holds the codec bits, is the second.
  return bytes[position + BatchHeader.ATTRIBUTES + 1]! & BatchAttributes.COMPRESSION_MASK;
}

/** Whether any whole batch of the concatenated `records` is compressed with `codec`. */
export function anyBatchInCodec(records: Uint8Array, codec: number): boolean {
  const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
  let position = 0;
  while (records.length - position >= BatchHeader.SIZE_BYTES) {
    if (batchCodec(records, position) === codec) return true;
    const sizeBytes = batchSizeBytes(view, position);
    if (sizeBytes < BatchHeader.SIZE_BYTES) return false;
    position += sizeBytes;
  }
  return false;
}

/** Total bytes of the batch that starts at `position` in `view` (batchLength + 12). */
export function batchSizeBytes(view: DataView, position: number): number {
  return view.getInt32(position + BatchHeader.BATCH_LENGTH) + BatchHeader.LOG_OVERHEAD_BYTES;
}
