/**
 * A committed offset as stored in the internal topic `__consumer_offsets`
 * (one record per commit; the latest record for a key wins on recovery).
 * Layout version 1, big-endian:
 *
 *   key:    0 u16 version (1)
 *           2 u16 groupBytes,  group id (UTF-8)
 *           … u16 topicBytes,  topic name (UTF-8)
 *           … i32 partition
 *   value:  0 u16 version (1)
 *           2 f64 offset        (exact for safe integers)
 *          10 f64 commitTimeMs
 *          18 i32 metadataBytes (-1: null), metadata (UTF-8)
 *
 * Records are keyed so the latest value per (group, topic, partition) can be
 * rebuilt by reading the log in order; a record whose key or value has
 * another version is skipped by this build, so a later layout can be added
 * next to this one. Offsets and times are f64 because JavaScript numbers are;
 * every offset a log can reach is a safe integer.
 */
import { assert } from '../common/errors.js';

export const OFFSET_RECORD_VERSION = 1;

/** Most UTF-8 bytes of a group id or topic name in a key (their lengths are u16). */
export const OFFSET_KEY_STRING_BYTES_MAX = 0xffff;

export interface OffsetKey {
  groupId: string;
  topic: string;
  partition: number;
}

export interface OffsetValue {
  offset: number;
  commitTimeMs: number;
  metadata: string | null;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeOffsetKey(key: OffsetKey): Uint8Array {
  const group = encoder.encode(key.groupId);
  const topic = encoder.encode(key.topic);
  // Callers check lengths first (the coordinator answers INVALID_GROUP_ID / INVALID_TOPIC_EXCEPTION);
  // a longer string here would wrap its u16 length and corrupt the key.
  assert(
    group.length <= OFFSET_KEY_STRING_BYTES_MAX && topic.length <= OFFSET_KEY_STRING_BYTES_MAX,
    'offset key strings fit a u16 length',
  );
  const bytes = new Uint8Array(2 + 2 + group.length + 2 + topic.length + 4);
  const view = new DataView(bytes.buffer);
  view.setUint16(0, OFFSET_RECORD_VERSION);
  view.setUint16(2, group.length);
  bytes.set(group, 4);
  let at = 4 + group.length;
  view.setUint16(at, topic.length);
  bytes.set(topic, at + 2);
  at += 2 + topic.length;
  view.setInt32(at, key.partition);
  return bytes;
}

export function encodeOffsetValue(value: OffsetValue): Uint8Array {
  const metadata = value.metadata === null ? null : encoder.encode(value.metadata);
  const bytes = new Uint8Array(22 + (metadata?.length ?? 0));
  const view = new DataView(bytes.buffer);
  view.setUint16(0, OFFSET_RECORD_VERSION);
  view.setFloat64(2, value.offset);
  view.setFloat64(10, value.commitTimeMs);
  view.setInt32(18, metadata === null ? -1 : metadata.length);
  if (metadata !== null) bytes.set(metadata, 22);
  return bytes;
}

/** Decodes a key; null when the bytes are not a version-1 offset key. */
export function decodeOffsetKey(bytes: Uint8Array): OffsetKey | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 10 || view.getUint16(0) !== OFFSET_RECORD_VERSION) return null;
  const groupBytes = view.getUint16(2);
  if (4 + groupBytes + 2 > bytes.length) return null;
  const groupId = decoder.decode(bytes.subarray(4, 4 + groupBytes));
  let at = 4 + groupBytes;
  const topicBytes = view.getUint16(at);
  at += 2;
  if (at + topicBytes + 4 !== bytes.length) return null;
  const topic = decoder.decode(bytes.subarray(at, at + topicBytes));
  return { groupId, topic, partition: view.getInt32(at + topicBytes) };
}

/** Decodes a value; null when the bytes are not a version-1 offset value. */
export function decodeOffsetValue(bytes: Uint8Array): OffsetValue | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 22 || view.getUint16(0) !== OFFSET_RECORD_VERSION) return null;
  const metadataBytes = view.getInt32(18);
  if (metadataBytes < -1 || 22 + Math.max(0, metadataBytes) !== bytes.length) return null;
  return {
    offset: view.getFloat64(2),
    commitTimeMs: view.getFloat64(10),
    metadata: metadataBytes === -1 ? null : decoder.decode(bytes.subarray(22)),
  };
}

/**
 * An offset a transaction committed (TxnOffsetCommit), pending until the
 * transaction's outcome: stored under its own key, so neither compaction nor a
 * reload lets it pass for a committed offset. Key layout version 2, big-endian:
 *
 *   key:    0 u16 version (2)
 *           2 f64 producerId    (exact for safe integers)
 *          10 u16 groupBytes,  group id (UTF-8)
 *           … u16 topicBytes,  topic name (UTF-8)
 *           … i32 partition
 *   value:  the version-1 offset value above.
 *
 * On commit the group side writes, in one batch, the version-1 record of each
 * offset (now committed) and a tombstone for each pending key; on abort only
 * the tombstones. A pending key without its tombstone on reload is still
 * pending: the transaction coordinator completes it.
 */
export const PENDING_OFFSET_RECORD_VERSION = 2;

export interface PendingOffsetKey extends OffsetKey {
  producerId: number;
}

export function encodePendingOffsetKey(key: PendingOffsetKey): Uint8Array {
  const group = encoder.encode(key.groupId);
  const topic = encoder.encode(key.topic);
  assert(
    group.length <= OFFSET_KEY_STRING_BYTES_MAX && topic.length <= OFFSET_KEY_STRING_BYTES_MAX,
    'offset key strings fit a u16 length',
  );
  const bytes = new Uint8Array(2 + 8 + 2 + group.length + 2 + topic.length + 4);
  const view = new DataView(bytes.buffer);
  view.setUint16(0, PENDING_OFFSET_RECORD_VERSION);
  view.setFloat64(2, key.producerId);
  view.setUint16(10, group.length);
  bytes.set(group, 12);
  let at = 12 + group.length;
  view.setUint16(at, topic.length);
  bytes.set(topic, at + 2);
  at += 2 + topic.length;
  view.setInt32(at, key.partition);
  return bytes;
}

/** Decodes a pending key; null when the bytes are not a version-2 pending offset key. */
export function decodePendingOffsetKey(bytes: Uint8Array): PendingOffsetKey | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 18 || view.getUint16(0) !== PENDING_OFFSET_RECORD_VERSION) return null;
  const producerId = view.getFloat64(2);
  if (!Number.isSafeInteger(producerId) || producerId < 0) return null;
  const groupBytes = view.getUint16(10);
  if (12 + groupBytes + 2 > bytes.length) return null;
  const groupId = decoder.decode(bytes.subarray(12, 12 + groupBytes));
  let at = 12 + groupBytes;
  const topicBytes = view.getUint16(at);
  at += 2;
  if (at + topicBytes + 4 !== bytes.length) return null;
  const topic = decoder.decode(bytes.subarray(at, at + topicBytes));
  return { producerId, groupId, topic, partition: view.getInt32(at + topicBytes) };
}
