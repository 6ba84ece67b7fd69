import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Cursor,
  readVarint,
  VarintError,
  varintSizeBytes,
  writeVarint,
} from '../../src/record/varint.js';

/**
 * Kafka's record fields use zig-zag varints as protobuf defines them (the
 * Kafka protocol guide, "Record", points to the protobuf encoding doc). The
 * vectors below are the zig-zag mapping table and varint examples from that
 * doc: 0→0, -1→1, 1→2, -2→3, 2147483647→4294967294, -2147483648→4294967295,
 * and 150 (zig-zag 300) encodes as ac 02.
 */
const vectors: [number, number[]][] = [
  [0, [0x00]],
  [-1, [0x01]],
  [1, [0x02]],
  [-2, [0x03]],
  [150, [0xac, 0x02]],
  [2147483647, [0xfe, 0xff, 0xff, 0xff, 0x0f]],
  [-2147483648, [0xff, 0xff, 0xff, 0xff, 0x0f]],
];

function encode(value: number): number[] {
  const bytes = new Uint8Array(10);
  const end = writeVarint(bytes, 0, value);
  return [...bytes.subarray(0, end)];
}

describe('zig-zag varints', () => {
  it.each(vectors)('encodes %d as the protobuf bytes', (value, bytes) => {
    expect(encode(value)).toEqual(bytes);
    expect(varintSizeBytes(value)).toBe(bytes.length);
    const cursor: Cursor = { position: 0 };
    expect(readVarint(Uint8Array.from(bytes), cursor, bytes.length)).toBe(value);
    expect(cursor.position).toBe(bytes.length);
  });

  it('round-trips every value whose zig-zag form is a safe integer (-2^52 to 2^52 - 1)', () => {
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 52), max: 2 ** 52 - 1 }), (value) => {
        const bytes = new Uint8Array(10);
        const end = writeVarint(bytes, 0, value);
        expect(end).toBe(varintSizeBytes(value));
        const cursor: Cursor = { position: 0 };
        expect(readVarint(bytes, cursor, end)).toBe(value);
      }),
    );
  });

  it('refuses a varint whose value is past the safe-integer range', () => {
    const bytes = new Uint8Array(10);
    const end = writeVarint(bytes, 0, 2 ** 52); // zig-zag 2^53: one past Number.MAX_SAFE_INTEGER
    expect(() => readVarint(bytes, { position: 0 }, end)).toThrow(VarintError);
  });

  it('given a varint cut short, when read, then it throws VarintError', () => {
    expect(() => readVarint(Uint8Array.from([0xac]), { position: 0 }, 1)).toThrow(VarintError);
  });

  it('given a varint longer than its field allows, when read, then it throws VarintError', () => {
    const sixBytes = Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    expect(() => readVarint(sixBytes, { position: 0 }, 6, 5)).toThrow(VarintError);
  });
});
