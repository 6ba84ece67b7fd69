import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { countBelow } from '../../src/storage/sorted-search.js';

describe('countBelow', () => {
  it('counts the entries below a limit (or at it) as a linear scan of an ascending array does', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 40 }),
        fc.integer({ min: -1, max: 52 }),
        fc.boolean(),
        (values, limit, inclusive) => {
          const sorted = Float64Array.from(values.sort((a, b) => a - b));
          const count = Math.floor(sorted.length / 2) + (sorted.length % 2);
          let expected = 0;
          while (
            expected < count &&
            (sorted[expected]! < limit || (inclusive && sorted[expected] === limit))
          ) {
            expected++;
          }
          expect(countBelow(sorted, count, limit, inclusive)).toBe(expected);
        },
      ),
    );
  });
});
