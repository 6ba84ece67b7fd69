import { describe, expect, it } from 'vitest';
import { PyralogError } from '../../src/common/errors.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { decodeBatchRecords, decodeRecordSet } from '../../src/record/batch-reader.js';
import { buildCompressedBatch } from '../../src/record/compression.js';
import { validateProducedBatch } from '../../src/record/validate.js';
import { xorshift } from '../support/xorshift.js';

/**
 * Mutation fuzzing of the record reader and the produce validator: damaged
 * batches must end in a typed PyralogError (or decode), never in a
 * TypeError, a RangeError from a DataView, an endless loop or a huge
 * allocation. A seeded generator keeps failures reproducible.
 */

const text = new TextEncoder();
const seeds = [
  buildRecordBatch(
    Array.from({ length: 6 }, (_, i) => ({
      key: text.encode(`key-${i}`),
      value: text.encode(`value-${i}`.repeat(i + 1)),
      headers: [{ key: 'h', value: text.encode(`${i}`) }],
    })),
  ),
  buildCompressedBatch([{ key: null, value: text.encode('compressed value '.repeat(30)) }], 1),
];

function mutate(seed: Uint8Array, random: () => number): Uint8Array {
  const roll = random();
  if (roll < 0.15) return seed.subarray(0, Math.floor(random() * seed.length));
  const bytes = seed.slice();
  const flips = 1 + Math.floor(random() * 4);
  for (let i = 0; i < flips; i++) bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
  return bytes;
}

function expectTyped(action: () => unknown): void {
  try {
    action();
  } catch (error) {
    if (!(error instanceof PyralogError)) throw error;
  }
}

describe('record reader under mutation', () => {
  it('answers 100,000 damaged batches with a decode or a typed error', () => {
    const random = xorshift(0x5eed);
    for (let i = 0; i < 100_000; i++) {
      const damaged = mutate(seeds[i % seeds.length]!, random);
      expectTyped(() => validateProducedBatch(damaged, 1 << 20));
      expectTyped(() => decodeBatchRecords(damaged));
      expectTyped(() => decodeRecordSet(damaged));
    }
    expect(decodeBatchRecords(seeds[0]!)).toHaveLength(6);
  });
});
