import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeOffsetKey,
  decodeOffsetValue,
  encodeOffsetKey,
  encodeOffsetValue,
} from '../../src/groups/offset-record.js';

/** The committed-offset record layout of `__consumer_offsets`, byte for byte. */
describe('offset record codec', () => {
  it('encodes a key as version, group, topic and partition, big-endian', () => {
    const key = encodeOffsetKey({ groupId: 'ab', topic: 'x', partition: 258 });
    expect([...key]).toEqual([0, 1, 0, 2, 0x61, 0x62, 0, 1, 0x78, 0, 0, 1, 2]);
  });

  it('encodes a value as version, offset, commit time and metadata; -1 length for null metadata', () => {
    const value = encodeOffsetValue({ offset: 1, commitTimeMs: 2, metadata: null });
    expect([...value]).toEqual([
      0, 1, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 0x40, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff,
    ]);
    const withMetadata = encodeOffsetValue({ offset: 1, commitTimeMs: 2, metadata: 'é' });
    expect([...withMetadata.subarray(18)]).toEqual([0, 0, 0, 2, 0xc3, 0xa9]);
  });

  it('round-trips any key and value', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 40, unit: 'grapheme' }),
        fc.string({ maxLength: 40 }),
        fc.integer({ min: -1, max: 2 ** 31 - 1 }),
        fc.integer({ min: -1, max: Number.MAX_SAFE_INTEGER }),
        fc.integer({ min: 0, max: 2 ** 45 }),
        fc.option(fc.string({ maxLength: 100, unit: 'grapheme' }), { nil: null }),
        (groupId, topic, partition, offset, commitTimeMs, metadata) => {
          expect(decodeOffsetKey(encodeOffsetKey({ groupId, topic, partition }))).toEqual({
            groupId,
            topic,
            partition,
          });
          expect(decodeOffsetValue(encodeOffsetValue({ offset, commitTimeMs, metadata }))).toEqual({
            offset,
            commitTimeMs,
            metadata,
          });
        },
      ),
    );
  });

  it('decodes a key or value inside a larger buffer, at an offset', () => {
    const key = encodeOffsetKey({ groupId: 'g', topic: 't', partition: 7 });
    const framed = new Uint8Array(key.length + 5);
    framed.set(key, 3);
    expect(decodeOffsetKey(framed.subarray(3, 3 + key.length))).toEqual({
      groupId: 'g',
      topic: 't',
      partition: 7,
    });
  });

  it('answers null, never throws, for truncated, extended, foreign-version or random bytes', () => {
    const key = encodeOffsetKey({ groupId: 'group', topic: 'topic', partition: 1 });
    const value = encodeOffsetValue({ offset: 5, commitTimeMs: 6, metadata: 'meta' });
    for (let cut = 0; cut < key.length; cut++) expect(decodeOffsetKey(key.subarray(0, cut))).toBeNull();
    for (let cut = 0; cut < value.length; cut++) expect(decodeOffsetValue(value.subarray(0, cut))).toBeNull();
    expect(decodeOffsetKey(Uint8Array.of(...key, 0))).toBeNull();
    expect(decodeOffsetValue(Uint8Array.of(...value, 0))).toBeNull();
    expect(decodeOffsetKey(Uint8Array.of(0, 2, ...key.subarray(2)))).toBeNull();
    expect(decodeOffsetValue(Uint8Array.of(0, 2, ...value.subarray(2)))).toBeNull();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (random) => {
        expect(() => decodeOffsetKey(random)).not.toThrow();
        expect(() => decodeOffsetValue(random)).not.toThrow();
      }),
    );
  });
});
