import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  concatChunks,
  KafkaReader,
  KafkaWriter,
  MalformedRequestError,
} from '../../src/protocol/kafka/primitives.js';

/**
 * A request that arrives in several socket reads is read over its pieces
 * (KafkaReader.overPieces) instead of being joined first. Model: whatever the
 * cut points, reading over the pieces gives what reading the whole buffer
 * gives, errors included.
 */
type Field =
  | { kind: 'int8'; value: number }
  | { kind: 'int16'; value: number }
  | { kind: 'int32'; value: number }
  | { kind: 'int64'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'nullableString'; value: string | null }
  | { kind: 'bytes'; value: Uint8Array }
  | { kind: 'nullableBytes'; value: Uint8Array | null };

const field: fc.Arbitrary<Field> = fc.oneof(
  fc.integer({ min: -128, max: 127 }).map((value) => ({ kind: 'int8' as const, value })),
  fc.integer({ min: -32768, max: 32767 }).map((value) => ({ kind: 'int16' as const, value })),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }).map((value) => ({ kind: 'int32' as const, value })),
  fc.maxSafeInteger().map((value) => ({ kind: 'int64' as const, value })),
  fc.string({ maxLength: 20 }).map((value) => ({ kind: 'string' as const, value })),
  fc.option(fc.string({ maxLength: 20 })).map((value) => ({ kind: 'nullableString' as const, value })),
  fc.uint8Array({ maxLength: 300 }).map((value) => ({ kind: 'bytes' as const, value })),
  fc.option(fc.uint8Array({ maxLength: 300 })).map((value) => ({ kind: 'nullableBytes' as const, value })),
);

function write(fields: readonly Field[]): Uint8Array {
  const writer = new KafkaWriter(16);
  for (const f of fields) {
    if (f.kind === 'int8') writer.int8(f.value);
    else if (f.kind === 'int16') writer.int16(f.value);
    else if (f.kind === 'int32') writer.int32(f.value);
    else if (f.kind === 'int64') writer.int64(f.value);
    else if (f.kind === 'string') writer.string(f.value);
    else if (f.kind === 'nullableString') writer.nullableString(f.value);
    else if (f.kind === 'bytes') writer.bytesField(f.value);
    else writer.nullableBytes(f.value);
  }
  return concatChunks(writer.finish());
}

function readField(reader: KafkaReader, f: Field): unknown {
  if (f.kind === 'int8') return reader.int8();
  if (f.kind === 'int16') return reader.int16();
  if (f.kind === 'int32') return reader.int32();
  if (f.kind === 'int64') return reader.int64();
  if (f.kind === 'string') return reader.string();
  if (f.kind === 'nullableString') return reader.nullableString();
  const value = f.kind === 'bytes' ? reader.bytesField() : reader.nullableBytes();
  return value === null ? null : [...value];
}

function read(reader: KafkaReader, fields: readonly Field[]): unknown[] {
  return fields.map((f) => readField(reader, f));
}

/** Outcome of reading `fields`: the values and what is left, or the error's class. */
function outcome(reader: KafkaReader, fields: readonly Field[]): unknown {
  try {
    return { values: read(reader, fields), remaining: reader.remaining() };
  } catch (error) {
    return { threw: error instanceof MalformedRequestError ? 'MalformedRequestError' : String(error) };
  }
}

/** `bytes` cut at `cuts` (positions, any order, duplicates make empty pieces), each piece its own buffer. */
function cut(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [0, ...cuts.map((c) => Math.min(c, bytes.length)).sort((a, b) => a - b), bytes.length];
  const pieces: Uint8Array[] = [];
  for (let i = 1; i < points.length; i++) pieces.push(bytes.slice(points[i - 1], points[i]));
  return pieces;
}

describe('KafkaReader over pieces', () => {
  it('reads what one buffer reads, wherever the request is cut', () => {
    fc.assert(
      fc.property(
        fc.array(field, { maxLength: 12 }),
        fc.array(fc.nat(4000), { maxLength: 8 }),
        (fields, cuts) => {
          const whole = write(fields);
          const overPieces = KafkaReader.overPieces(cut(whole, cuts));
          expect(outcome(overPieces, fields)).toEqual(outcome(new KafkaReader(whole), fields));
          expect(outcome(KafkaReader.overPieces(cut(whole, cuts)), fields)).toEqual({
            values: fields.map((f) => (f.value instanceof Uint8Array ? [...f.value] : f.value)),
            remaining: 0,
          });
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('fails the same way on a truncated request, wherever it is cut', () => {
    fc.assert(
      fc.property(
        fc.array(field, { minLength: 1, maxLength: 8 }),
        fc.nat(),
        fc.array(fc.nat(2000), { maxLength: 6 }),
        (fields, dropSeed, cuts) => {
          const whole = write(fields);
          const truncated = whole.subarray(0, whole.length - 1 - (dropSeed % whole.length));
          expect(outcome(KafkaReader.overPieces(cut(truncated, cuts)), fields)).toEqual(
            outcome(new KafkaReader(truncated), fields),
          );
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('hands out a byte field inside one piece as a view, and one across pieces as a copy', () => {
    const first = Uint8Array.from([0, 0, 0, 3, 1, 2, 3, 0, 0, 0, 4, 9]);
    const second = Uint8Array.from([8, 7, 6]);
    const reader = KafkaReader.overPieces([first, second]);
    const inside = reader.bytesField();
    expect([...inside]).toEqual([1, 2, 3]);
    expect(inside.buffer).toBe(first.buffer);
    const across = reader.bytesField();
    expect([...across]).toEqual([9, 8, 7, 6]);
    expect(across.buffer).not.toBe(first.buffer);
    expect(across.buffer).not.toBe(second.buffer);
    expect(reader.remaining()).toBe(0);
  });

  it('reads an integer whose bytes straddle three pieces, then goes on in the last one', () => {
    const reader = KafkaReader.overPieces([
      Uint8Array.from([0x12]),
      Uint8Array.from([0x34, 0x56]),
      Uint8Array.from([0x78, 0x00, 0x07]),
    ]);
    expect(reader.int32()).toBe(0x12345678);
    expect(reader.remaining()).toBe(2);
    expect(reader.int16()).toBe(7);
    expect(() => reader.int8()).toThrow(MalformedRequestError);
  });
});
