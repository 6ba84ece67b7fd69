import { describe, expect, it } from 'vitest';
import { jumpConsistentHash, shardForPartition } from '../../src/engine/placement.js';

describe('partition placement', () => {
  it('places the same partition on the same shard every time', () => {
    for (let partition = 0; partition < 100; partition++) {
      expect(shardForPartition(7, partition, 4)).toBe(shardForPartition(7, partition, 4));
    }
  });

  it('uses every shard and stays within range', () => {
    const counts = [0, 0, 0, 0];
    for (let partition = 0; partition < 4000; partition++) counts[shardForPartition(3, partition, 4)]!++;
    for (const count of counts) expect(count).toBeGreaterThan(800);
    expect(counts.reduce((a, b) => a + b)).toBe(4000);
  });

  it('moves only about 1/(n+1) of partitions when a shard is added', () => {
    let moved = 0;
    for (let partition = 0; partition < 5000; partition++) {
      if (shardForPartition(11, partition, 4) !== shardForPartition(11, partition, 5)) moved++;
    }
    expect(moved / 5000).toBeGreaterThan(0.12);
    expect(moved / 5000).toBeLessThan(0.28);
  });

  it('with one bucket always answers 0 and rejects zero buckets', () => {
    expect(jumpConsistentHash(123456789n, 1)).toBe(0);
    expect(() => jumpConsistentHash(1n, 0)).toThrow(RangeError);
  });
});
