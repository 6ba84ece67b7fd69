/**
 * Deterministic partition placement: jump consistent hash (Lamping and
 * Veach, 2014) of (topicId, partition) over the shard count. The same inputs
 * always give the same shard, and growing the shard count from n to n+1 moves
 * only about 1/(n+1) of the partitions. Placement runs when topics are created
 * and at start-up, never per request, so BigInt arithmetic is fine here.
 */
const MASK_64 = (1n << 64n) - 1n;

/** splitmix64's finaliser: spreads (topicId, partition) over all 64 bits. */
function mix64(value: bigint): bigint {
  let z = (value + 0x9e3779b97f4a7c15n) & MASK_64;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK_64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK_64;
  return z ^ (z >> 31n);
}

export function jumpConsistentHash(key: bigint, bucketCount: number): number {
  if (!Number.isInteger(bucketCount) || bucketCount < 1) throw new RangeError('bucket count must be >= 1');
  let bucket = -1n;
  let next = 0n;
  let state = key & MASK_64;
  const buckets = BigInt(bucketCount);
  while (next < buckets) {
    bucket = next;
    state = (state * 2862933555777941757n + 1n) & MASK_64;
    next = ((bucket + 1n) * (1n << 31n)) / ((state >> 33n) + 1n);
  }
  return Number(bucket);
}

export function shardForPartition(topicId: number, partition: number, shardCount: number): number {
  return jumpConsistentHash(mix64((BigInt(topicId) << 32n) | BigInt(partition)), shardCount);
}
