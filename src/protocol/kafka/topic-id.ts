import type { Engine, TopicDescription } from '../../engine/engine-api.js';

/**
 * Kafka topic ids (UUIDs) for this broker's topics: the topic's id from the
 * broker's sequencer (never reused, so a topic deleted and created again gets
 * a new one) in the low 8 bytes, big-endian, after a fixed 8-byte prefix
 * that keeps every id away from Kafka's reserved zero and metadata-topic ids.
 */
const PREFIX = [0x70, 0x79, 0x72, 0x61, 0x6c, 0x6f, 0x67, 0x01]; // "pyralog", 1

export function topicUuid(topicId: number): Uint8Array {
  const uuid = new Uint8Array(16);
  uuid.set(PREFIX, 0);
  new DataView(uuid.buffer).setBigUint64(8, BigInt(topicId));
  return uuid;
}

/** The sequencer id inside a topic UUID made by topicUuid, or -1 when it is not one. */
export function topicIdOf(uuid: Uint8Array): number {
  if (uuid.length !== 16) return -1;
  for (let i = 0; i < PREFIX.length; i++) if (uuid[i] !== PREFIX[i]) return -1;
  const id = new DataView(uuid.buffer, uuid.byteOffset, 16).getBigUint64(8);
  return id > BigInt(Number.MAX_SAFE_INTEGER) ? -1 : Number(id);
}

export function isZeroUuid(uuid: Uint8Array): boolean {
  for (const byte of uuid) if (byte !== 0) return false;
  return true;
}

/** The topic a UUID names, if any (a scan of the topic list: admin requests only). */
export function topicByUuid(engine: Engine, uuid: Uint8Array): TopicDescription | undefined {
  const id = topicIdOf(uuid);
  if (id < 0) return undefined;
  return engine.listTopics().find((topic) => topic.topicId === id);
}
