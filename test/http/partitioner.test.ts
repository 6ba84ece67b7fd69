import { describe, expect, it } from 'vitest';
import { murmur2, Partitioner } from '../../src/server/partitioner.js';

/** The partitioner the HTTP API uses for records that name no partition. */
describe('Partitioner', () => {
  it("murmur2 gives the values of Kafka's own Utils.murmur2 test cases", () => {
    const cases: [string, number][] = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
      ['1', -1993445489],
      ['12', 126087238],
      ['123', -267702483],
      ['1234', -1614185708],
    ];
    for (const [key, hash] of cases)
      expect([key, murmur2(new TextEncoder().encode(key))]).toEqual([key, hash]);
  });

  it('a keyed record goes to toPositive(murmur2(key)) % partitions, the same every time', () => {
    const partitioner = new Partitioner();
    const key = new TextEncoder().encode('foobar');
    expect(partitioner.partitionFor(key, 7)).toBe((-790332482 & 0x7fffffff) % 7);
    expect(partitioner.partitionFor(key, 7)).toBe(partitioner.partitionFor(key, 7));
  });

  it('records without a key go round robin', () => {
    const partitioner = new Partitioner();
    expect(Array.from({ length: 7 }, () => partitioner.partitionFor(null, 3))).toEqual([0, 1, 2, 0, 1, 2, 0]);
  });
});
