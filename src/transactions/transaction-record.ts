/**
 * A transactional id's state as stored in the internal topic
 * `__transaction_state` (one record per change; the latest record for a key
 * wins on recovery, and the topic is compacted so only that one is kept).
 * Layout version 1, big-endian:
 *
 *   key:    0 u16 version (1)
 *           2 u16 idBytes, transactional id (UTF-8)
 *   value:  0 u16 version (1)
 *           2 f64 producerId        (exact for safe integers)
 *          10 f64 lastProducerId    (-1: none)
 *          18 i16 producerEpoch
 *          20 i16 lastProducerEpoch (-1: none)
 *          22 i32 timeoutMs
 *          26 u8  state             (index into TXN_STATES: Empty, Ongoing, PrepareCommit, …)
 *          27 f64 startMs           (-1: no transaction)
 *          35 f64 updatedMs
 *          43 u32 partitionCount, then per partition:
 *                 u16 topicBytes, topic (UTF-8), i32 partition
 *
 * A record with the key and no value (a tombstone) forgets the id. A key or
 * value of another version is skipped by this build, so a later layout can be
 * added next to this one.
 */
import { assert } from '../common/errors.js';
import { type TransactionMetadata, TXN_STATES, type TxnPartition } from './transaction-state.js';

export const TXN_RECORD_VERSION = 1;

/** Most UTF-8 bytes of a transactional id or a topic name in a record (their lengths are u16). */
export const TXN_RECORD_STRING_BYTES_MAX = 0xffff;

const VALUE_FIXED_BYTES = 47;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function utf8Bytes(text: string): number {
  return encoder.encode(text).length;
}

export function encodeTxnKey(transactionalId: string): Uint8Array {
  const id = encoder.encode(transactionalId);
  assert(id.length <= TXN_RECORD_STRING_BYTES_MAX, 'transactional id fits a u16 length');
  const bytes = new Uint8Array(4 + id.length);
  const view = new DataView(bytes.buffer);
  view.setUint16(0, TXN_RECORD_VERSION);
  view.setUint16(2, id.length);
  bytes.set(id, 4);
  return bytes;
}

export function encodeTxnValue(metadata: TransactionMetadata): Uint8Array {
  const topics = metadata.partitions.map((p) => encoder.encode(p.topic));
  let size = VALUE_FIXED_BYTES;
  for (const topic of topics) {
    assert(topic.length <= TXN_RECORD_STRING_BYTES_MAX, 'topic name fits a u16 length');
    size += 2 + topic.length + 4;
  }
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  view.setUint16(0, TXN_RECORD_VERSION);
  view.setFloat64(2, metadata.producerId);
  view.setFloat64(10, metadata.lastProducerId);
  view.setInt16(18, metadata.producerEpoch);
  view.setInt16(20, metadata.lastProducerEpoch);
  view.setInt32(22, metadata.timeoutMs);
  view.setUint8(26, TXN_STATES.indexOf(metadata.state));
  view.setFloat64(27, metadata.startMs);
  view.setFloat64(35, metadata.updatedMs);
  view.setUint32(43, topics.length);
  let at = VALUE_FIXED_BYTES;
  for (let i = 0; i < topics.length; i++) {
    const topic = topics[i]!;
    view.setUint16(at, topic.length);
    bytes.set(topic, at + 2);
    at += 2 + topic.length;
    view.setInt32(at, metadata.partitions[i]!.partition);
    at += 4;
  }
  return bytes;
}

/** Decodes a key; null when the bytes are not a version-1 transaction key. */
export function decodeTxnKey(bytes: Uint8Array): string | null {
  if (bytes.length < 4) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint16(0) !== TXN_RECORD_VERSION) return null;
  const idBytes = view.getUint16(2);
  if (4 + idBytes !== bytes.length) return null;
  return decoder.decode(bytes.subarray(4));
}

/** Decodes a value; null when the bytes are not a well-formed version-1 transaction value. */
export function decodeTxnValue(transactionalId: string, bytes: Uint8Array): TransactionMetadata | null {
  if (bytes.length < VALUE_FIXED_BYTES) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint16(0) !== TXN_RECORD_VERSION) return null;
  const state = TXN_STATES[view.getUint8(26)];
  if (state === undefined) return null;
  const count = view.getUint32(43);
  const partitions: TxnPartition[] = [];
  let at = VALUE_FIXED_BYTES;
  for (let i = 0; i < count; i++) {
    if (at + 2 > bytes.length) return null;
    const topicBytes = view.getUint16(at);
    if (at + 2 + topicBytes + 4 > bytes.length) return null;
    const topic = decoder.decode(bytes.subarray(at + 2, at + 2 + topicBytes));
    at += 2 + topicBytes;
    partitions.push({ topic, partition: view.getInt32(at) });
    at += 4;
  }
  if (at !== bytes.length) return null;
  const producerId = view.getFloat64(2);
  if (!Number.isSafeInteger(producerId) || producerId < 0) return null;
  return {
    transactionalId,
    producerId,
    lastProducerId: view.getFloat64(10),
    producerEpoch: view.getInt16(18),
    lastProducerEpoch: view.getInt16(20),
    timeoutMs: view.getInt32(22),
    state,
    partitions,
    startMs: view.getFloat64(27),
    updatedMs: view.getFloat64(35),
  };
}
