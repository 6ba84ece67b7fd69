/**
 * Messages between the acceptor and a shard, carried as ring records
 * (src/ring). The ring record header already holds the payload length, the
 * message type, flags and a correlation id; this file defines the payloads.
 * Layout version 1. All integers big-endian; offsets and times are float64
 * (exact safe integers), which keeps the code free of bigint.
 *
 * Every request payload starts with the same 8 bytes:
 *   0  f64  sentAtMs     wall-clock ms (performance.timeOrigin + now()) when the
 *                        acceptor published it, so the shard can measure ring wait
 *
 * PRODUCE (1)                         reply PRODUCE_REPLY (0x8001)
 *   8  u32  topicId                     0  i16  errorCode
 *  12  u32  partition                   2  u16  messageBytes
 *  16  i8   acks (0, 1, -1)             4  u32  reserved
 *  17  u8   batchSkew (0..7)            8  f64  baseOffset
 *  18  u8   recordsChecked (0, 1)      16  f64  logAppendTimeMs (-1: CreateTime)
 *  19  u8[5] reserved
 *  24  u8[batchSkew] padding           24  f64  logStartOffset
 *  24 + batchSkew … one RecordBatch v2 32  …    message (utf8)
 *
 *   batchSkew makes the batch sit at the same address modulo 8 in the ring
 *   as in the socket buffer it comes from: V8 copies into shared memory word
 *   by word only when source and target agree modulo 8, else byte by byte
 *   (8x slower for a 16 KiB batch on the bench machine).
 *   recordsChecked is 1 when the batch checker (compressed-batch-checker.ts)
 *   inflated and counted its records; the shard refuses a compressed batch
 *   without it, so the checker is the only way a compressed batch gets in.
 *
 * FETCH (2): one shard's part of a fetch; held up to maxWaitMs until minBytes
 *   8  u32  maxWaitMs                 reply FETCH_REPLY (0x8002)
 *  12  u32  minBytes                    0  u32  partitionCount
 *  16  u32  maxBytes (this shard)       4  u32  reserved
 *  20  u32  partitionCount              8  …    per partition, in request order:
 *  24  i32  replicaId (-1: a consumer;       0 i16 errorCode, 2 u16 reserved,
 *           ≥0: a follower, which reads      4 u32 recordsBytes,
 *           up to the log end)               8 f64 highWatermark,
 *  28  u32  reserved                        16 f64 logStartOffset,
 *  32  …    per partition (24 bytes):       24 f64 logEndOffset (-1 on error),
 *           0 u32 topicId, 4 u32 partition, 32 f64 lastStableOffset,
 *           8 f64 offset, 16 u32 maxBytes,  40 u32 abortedCount, 44 u32 reserved,
 *           20 i32 currentLeaderEpoch       48 …   abortedCount × (f64 producerId,
 *              (-1: not checked)                   f64 firstOffset), then
 *                                                  recordsBytes of whole batches
 *   Ring header flag READ_COMMITTED (1): isolation level 1, read below the last
 *   stable offset and list the aborted transactions in range (none at level 0).
 *
 * WAKE_FETCH (9): answer the held FETCH whose correlation id is in the record
 *   header now, with what is there. No reply of its own.
 *
 * LIST_OFFSETS (3)                    reply (0x8003)
 *   8  u32 topicId, 12 u32 partition,   0 i16 errorCode, 2 u16/4 u32 reserved,
 *  16  f64 timestampMs (-1 latest,      8 f64 offset, 16 f64 timestampMs
 *      -2 earliest), 24 i32 currentLeaderEpoch (-1: not checked), 28 u32 reserved
 *   Ring header flag READ_COMMITTED (1): latest is the last stable offset, and
 *   a timestamp lookup finds nothing at or past it.
 *
 * DELETE_RECORDS (8)                  reply (0x8008), the LIST_OFFSETS layouts:
 *   8  u32 topicId, 12 u32 partition,   0 i16 errorCode, 8 f64 lowWatermark (the
 *  16  f64 offset (-1: the high           log start offset after the call)
 *      watermark)
 *
 * CREATE_PARTITIONS (4)               reply (0x8004): 0 i16 errorCode
 *   8  u32 topicId, 12 u32 firstPartition, 16 u32 partitionCount,
 *  20  …  utf8 JSON {"topic": name, "config": TopicConfig, "partitions": [n, …]}
 *
 * DELETE_PARTITIONS (5)               reply (0x8005): 0 i16 errorCode
 *   8  u32 topicId, 12 u32 firstPartition, 16 u32 partitionCount,
 *  20  …  utf8 JSON {"partitions": [n, …]}
 *
 *   The two admin messages carry their partition list and topic config as
 *   JSON after the fixed fields: they are rare control traffic, and a
 *   TopicConfig grows fields over time. Produce and fetch never use JSON.
 *
 * DESCRIBE_PARTITIONS (6)             reply (0x8006)
 *   8  u32 topicId, 12 u32 count,       0 u32 count, 4 u32 reserved, then per
 *  16  u32 partition × count                partition (32 bytes): 0 i16 errorCode,
 *                                           8 f64 logStart, 16 f64 logEnd, 24 f64 hw
 *
 * FLUSH (7): sync every partition     reply (0x8007): 0 i16 errorCode
 *
 * Replication (src/replication drives these; a single node sends none, and a
 * partition that never got ROLE_CHANGE costs produce and fetch one null check):
 *
 * ROLE_CHANGE (10)                    reply (0x800a): 0 i16 errorCode
 *   8  u32 topicId, 12 u32 partition,
 *  16  u8  role (0 none: single node, 1 leader, 2 follower), 17 u8[3] reserved,
 *  20  i32 leaderEpoch, 24 u32 isrCount, 28 u32 minInsyncReplicas,
 *  32  f64 highWatermarkBound (a leader: the lowest offset the in-sync followers
 *      hold; a follower: its leader's high watermark)
 *
 * HW_ADVANCE (11): no reply           8 u32 topicId, 12 u32 partition,
 *   16 f64 highWatermarkBound (as in ROLE_CHANGE); held acks=all produces and
 *   fetches it lets through are answered. 24 f64 leaderLogStartOffset (a
 *   follower: its leader's log start, which its own follows up to its high
 *   watermark; -1: none).
 *
 * REPLICA_APPEND (12): a follower      reply (0x800c)
 *   appends what its leader sent        0 i16 errorCode, 2 u16 messageBytes,
 *   8  u32 topicId, 12 u32 partition    4 u32 reserved,
 *  16  f64 leaderHighWatermark          8 f64 logEndOffset (durable per the
 *  24  u8  batchSkew, 25 u8[7] reserved    fsync policy when answered),
 *  32 + batchSkew … whole batches      16 f64 highWatermark, 24 … message (utf8)
 *
 * TRUNCATE (13): 8 u32 topicId, 12 u32 partition, 16 f64 offset, 24 u32[2] reserved;
 *   reply (0x800d) in the LIST_OFFSETS layout: errorCode, offset = the new log end.
 *
 * RESET_LOG_START (17): the TRUNCATE layouts; a follower whose log ends below its
 *   leader's log start empties its log and starts it again, empty, at `offset`
 *   (PartitionLog.resetLogStart); reply offset = the new log end (= offset).
 *
 * OFFSET_FOR_EPOCH (14)               reply (0x800e)
 *   8  u32 topicId, 12 u32 partition,   0 i16 errorCode, 2 u16 reserved,
 *  16  i32 currentLeaderEpoch (-1: not  4 i32 leaderEpoch, 8 f64 endOffset
 *      checked; -2: this broker asks about its own log, any role)
 *  20  i32 leaderEpoch (-2 with a local question: the latest, answered with the log end)
 *
 * TXN_MARKER (15): append a transaction marker    reply PRODUCE_REPLY (0x8001
 *   8  u32 topicId, 12 u32 partition,             layout and type: its
 *  16  f64 producerId, 24 i16 producerEpoch,      baseOffset is the marker's)
 *  26  u8  commit (1) / abort (0), 27 u8 reserved,
 *  28  i32 coordinatorEpoch
 *
 * SEGMENT_EXTENTS (16): where offsets [from, end) of a partition lie in its
 *   segment files, for a reader outside the shard (storage/segment-extents.ts)
 *   8  u32 topicId, 12 u32 partition,   reply (0x8010): 0 i16 errorCode,
 *  16  f64 fromOffset, 24 f64 endOffset    2 u16 available (0: the storage cannot
 *                                           name its files), 4 u32 count, then per
 *                                           segment (72 bytes), all f64: 0 baseOffset,
 *                                           8 nextOffset, 16 startPosition,
 *                                           24 endPosition, 32 verifiedBytes,
 *                                           40 appendedFrom, 48 device, 56 inode,
 *                                           64 leaderEpochMax
 *
 * A reply carries the correlation id of its request in the ring header.
 */
export const SHARD_MESSAGE_LAYOUT_VERSION = 1;

export const MessageType = {
  PRODUCE: 1,
  FETCH: 2,
  LIST_OFFSETS: 3,
  CREATE_PARTITIONS: 4,
  DELETE_PARTITIONS: 5,
  DESCRIBE_PARTITIONS: 6,
  FLUSH: 7,
  DELETE_RECORDS: 8,
  WAKE_FETCH: 9,
  ROLE_CHANGE: 10,
  HW_ADVANCE: 11,
  REPLICA_APPEND: 12,
  TRUNCATE: 13,
  OFFSET_FOR_EPOCH: 14,
  TXN_MARKER: 15,
  SEGMENT_EXTENTS: 16,
  RESET_LOG_START: 17,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/** A reply's type is its request's type with the high bit set. */
export const REPLY_FLAG = 0x8000;

export const RequestField = { SENT_AT_MS: 0, BODY: 8 } as const;

/** Ring header flags of FETCH and LIST_OFFSETS requests. */
export const RequestFlag = { READ_COMMITTED: 1 } as const;

export const TxnMarkerField = {
  TOPIC_ID: 8,
  PARTITION: 12,
  PRODUCER_ID: 16,
  PRODUCER_EPOCH: 24,
  COMMIT: 26,
  COORDINATOR_EPOCH: 28,
  SIZE_BYTES: 32,
} as const;

export const ProduceRequest = {
  TOPIC_ID: 8,
  PARTITION: 12,
  ACKS: 16,
  BATCH_SKEW: 17,
  RECORDS_CHECKED: 18,
  BATCH: 24,
} as const;

/** Padding before a produced batch so that it keeps its source's alignment modulo 8 (see PRODUCE above). */
export function batchSkewOf(batch: Uint8Array): number {
  return batch.byteOffset & 7;
}

/** Payload bytes of a PRODUCE request carrying `batch`. */
export function produceRequestBytes(batch: Uint8Array): number {
  return ProduceRequest.BATCH + batchSkewOf(batch) + batch.length;
}

/** Writes a PRODUCE request payload at `p` (claimed with produceRequestBytes(batch)); stamps sentAtMs now. */
export function fillProduceRequest(
  bytes: Uint8Array,
  view: DataView,
  p: number,
  topicId: number,
  partition: number,
  acks: number,
  batch: Uint8Array,
  /** The batch checker counted its records (required of a compressed batch). */
  recordsChecked = false,
): void {
  view.setFloat64(p + RequestField.SENT_AT_MS, wallClockMs());
  view.setUint32(p + ProduceRequest.TOPIC_ID, topicId);
  view.setUint32(p + ProduceRequest.PARTITION, partition);
  view.setInt8(p + ProduceRequest.ACKS, acks);
  const skew = batchSkewOf(batch);
  view.setUint8(p + ProduceRequest.BATCH_SKEW, skew);
  view.setUint8(p + ProduceRequest.RECORDS_CHECKED, recordsChecked ? 1 : 0);
  view.setUint8(p + ProduceRequest.RECORDS_CHECKED + 1, 0);
  view.setUint32(p + ProduceRequest.BATCH_SKEW + 3, 0);
  bytes.set(batch, p + ProduceRequest.BATCH + skew);
}
export const ProduceReply = {
  ERROR_CODE: 0,
  MESSAGE_BYTES: 2,
  BASE_OFFSET: 8,
  LOG_APPEND_TIME_MS: 16,
  LOG_START_OFFSET: 24,
  MESSAGE: 32,
} as const;

export const FetchRequestField = {
  MAX_WAIT_MS: 8,
  MIN_BYTES: 12,
  MAX_BYTES: 16,
  PARTITION_COUNT: 20,
  REPLICA_ID: 24,
  PARTITIONS: 32,
  ENTRY_BYTES: 24,
  ENTRY_TOPIC_ID: 0,
  ENTRY_PARTITION: 4,
  ENTRY_OFFSET: 8,
  ENTRY_MAX_BYTES: 16,
  ENTRY_CURRENT_LEADER_EPOCH: 20,
} as const;

export const FetchReplyField = {
  PARTITION_COUNT: 0,
  PARTITIONS: 8,
  ENTRY_HEADER_BYTES: 48,
  ENTRY_ERROR_CODE: 0,
  ENTRY_RECORDS_BYTES: 4,
  ENTRY_HIGH_WATERMARK: 8,
  ENTRY_LOG_START_OFFSET: 16,
  ENTRY_LOG_END_OFFSET: 24,
  ENTRY_LAST_STABLE_OFFSET: 32,
  ENTRY_ABORTED_COUNT: 40,
  ABORTED_ENTRY_BYTES: 16,
} as const;

export const ListOffsetsField = {
  TOPIC_ID: 8,
  PARTITION: 12,
  TIMESTAMP_MS: 16,
  CURRENT_LEADER_EPOCH: 24,
  SIZE_BYTES: 32,
} as const;
export const ListOffsetsReply = { ERROR_CODE: 0, OFFSET: 8, TIMESTAMP_MS: 16, SIZE_BYTES: 24 } as const;

export const PartitionRangeField = {
  TOPIC_ID: 8,
  FIRST_PARTITION: 12,
  PARTITION_COUNT: 16,
  BODY: 20,
} as const;

export const DescribeField = { TOPIC_ID: 8, COUNT: 12, PARTITIONS: 16 } as const;
export const DescribeReply = {
  COUNT: 0,
  ENTRIES: 8,
  ENTRY_BYTES: 32,
  ENTRY_ERROR_CODE: 0,
  ENTRY_LOG_START: 8,
  ENTRY_LOG_END: 16,
  ENTRY_HIGH_WATERMARK: 24,
} as const;

export const SegmentExtentsField = {
  TOPIC_ID: 8,
  PARTITION: 12,
  FROM_OFFSET: 16,
  END_OFFSET: 24,
  SIZE_BYTES: 32,
} as const;
export const SegmentExtentsReply = {
  ERROR_CODE: 0,
  AVAILABLE: 2,
  COUNT: 4,
  ENTRIES: 8,
  ENTRY_BYTES: 72,
  ENTRY_BASE_OFFSET: 0,
  ENTRY_NEXT_OFFSET: 8,
  ENTRY_START_POSITION: 16,
  ENTRY_END_POSITION: 24,
  ENTRY_VERIFIED_BYTES: 32,
  ENTRY_APPENDED_FROM: 40,
  ENTRY_DEVICE: 48,
  ENTRY_INODE: 56,
  ENTRY_LEADER_EPOCH_MAX: 64,
} as const;
/** Most segments one SEGMENT_EXTENTS reply names; the caller asks again for the rest. */
export const SEGMENT_EXTENTS_MAX = 256;

export const StatusReply = { ERROR_CODE: 0, SIZE_BYTES: 8 } as const;

/** ROLE_CHANGE's role byte. */
export const ReplicaRoleCode = { NONE: 0, LEADER: 1, FOLLOWER: 2 } as const;
export type ReplicaRoleCode = (typeof ReplicaRoleCode)[keyof typeof ReplicaRoleCode];

export const RoleChangeField = {
  TOPIC_ID: 8,
  PARTITION: 12,
  ROLE: 16,
  LEADER_EPOCH: 20,
  ISR_COUNT: 24,
  MIN_INSYNC_REPLICAS: 28,
  HIGH_WATERMARK_BOUND: 32,
  SIZE_BYTES: 40,
} as const;

export const HwAdvanceField = {
  TOPIC_ID: 8,
  PARTITION: 12,
  HIGH_WATERMARK_BOUND: 16,
  LEADER_LOG_START_OFFSET: 24,
  SIZE_BYTES: 32,
} as const;

export const ReplicaAppendField = {
  TOPIC_ID: 8,
  PARTITION: 12,
  LEADER_HIGH_WATERMARK: 16,
  BATCH_SKEW: 24,
  BATCHES: 32,
} as const;
export const ReplicaAppendReply = {
  ERROR_CODE: 0,
  MESSAGE_BYTES: 2,
  LOG_END_OFFSET: 8,
  HIGH_WATERMARK: 16,
  MESSAGE: 24,
} as const;

export const TruncateField = { TOPIC_ID: 8, PARTITION: 12, OFFSET: 16, SIZE_BYTES: 32 } as const;

export const OffsetForEpochField = {
  TOPIC_ID: 8,
  PARTITION: 12,
  CURRENT_LEADER_EPOCH: 16,
  LEADER_EPOCH: 20,
  SIZE_BYTES: 24,
} as const;
export const OffsetForEpochReply = { ERROR_CODE: 0, LEADER_EPOCH: 4, END_OFFSET: 8, SIZE_BYTES: 16 } as const;

/**
 * Key of a partition inside a shard's table: topic id and partition packed into
 * one safe integer, so lookups on the produce path allocate no strings.
 */
export const PARTITIONS_PER_TOPIC_MAX = 1 << 20;

export function partitionKey(topicId: number, partition: number): number {
  return topicId * PARTITIONS_PER_TOPIC_MAX + partition;
}

/** Wall-clock milliseconds with sub-ms precision, comparable across threads. */
export function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}
