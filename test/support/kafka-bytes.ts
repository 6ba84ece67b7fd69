import { expect } from 'vitest';
import type { KafkaApi } from '../../src/protocol/kafka/api.js';
import { concatChunks, KafkaReader, KafkaWriter } from '../../src/protocol/kafka/primitives.js';

/**
 * Byte-vector helpers for the Kafka codec tests: they spell out protocol
 * primitives by hand (big-endian integers, INT16-length strings, INT32-length
 * bytes) and share no code with the codecs under test.
 */
export const i8 = (v: number): number[] => [v & 0xff];
export const i16 = (v: number): number[] => [(v >> 8) & 0xff, v & 0xff];
export const i32 = (v: number): number[] => [
  (v >>> 24) & 0xff,
  (v >>> 16) & 0xff,
  (v >>> 8) & 0xff,
  v & 0xff,
];
export const i64 = (v: number): number[] => {
  const high = Math.floor(v / 2 ** 32);
  return [...i32(high | 0), ...i32(v >>> 0)];
};
export const str = (s: string): number[] => [...i16(s.length), ...[...s].map((c) => c.charCodeAt(0))];
export const nullStr = (): number[] => i16(-1);
export const bytes = (b: number[]): number[] => [...i32(b.length), ...b];

/** Flexible versions: unsigned LEB128 varints, lengths and counts stored plus one (0 = null). */
export const uv = (v: number): number[] => {
  const out: number[] = [];
  let rest = v >>> 0;
  while (rest >= 0x80) {
    out.push((rest & 0x7f) | 0x80);
    rest >>>= 7;
  }
  out.push(rest);
  return out;
};
export const cstr = (s: string): number[] => [...uv(s.length + 1), ...[...s].map((c) => c.charCodeAt(0))];
export const cnullStr = (): number[] => [0];
export const cbytes = (b: number[]): number[] => [...uv(b.length + 1), ...b];
/** A compact array's count. */
export const carr = (count: number): number[] => uv(count + 1);
/** An empty tagged-field section. */
export const noTags = (): number[] => [0];

/** Decodes a request body, checking that it used every byte. */
export function decode<Q, R>(api: KafkaApi<Q, R>, version: number, body: number[]): Q {
  const reader = new KafkaReader(Uint8Array.from(body));
  const request = api.decode(reader, version);
  expect(reader.remaining(), 'bytes left after decoding').toBe(0);
  return request;
}

/** Encodes a response body to plain numbers for comparison. */
export function encode<Q, R>(api: KafkaApi<Q, R>, version: number, response: R): number[] {
  const writer = new KafkaWriter(8);
  api.encode(writer, response, version);
  return [...concatChunks(writer.finish())];
}
