/**
 * Chooses a partition for a record that names none, the way Kafka's default
 * partitioner does, so records with a key land where a Kafka producer would
 * put them: murmur2 of the key (seed 0x9747b28c), made positive, modulo the
 * partition count. Records without a key go round robin.
 */
const SEED = 0x9747b28c;
const M = 0x5bd1e995;

export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = SEED ^ length;
  const blocks = length >>> 2;
  for (let i = 0; i < blocks; i++) {
    const at = i * 4;
    let k = data[at]! | (data[at + 1]! << 8) | (data[at + 2]! << 16) | (data[at + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M);
    h ^= k;
  }
  const tail = length & ~3;
  const rest = length & 3;
  if (rest === 3) h ^= data[tail + 2]! << 16;
  if (rest >= 2) h ^= data[tail + 1]! << 8;
  if (rest >= 1) {
    h ^= data[tail]!;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

export class Partitioner {
  private next = 0;

  partitionFor(key: Uint8Array | null, partitionCount: number): number {
    if (key === null) {
      const partition = this.next % partitionCount;
      this.next = (this.next + 1) % 0x7fff_ffff;
      return partition;
    }
    return (murmur2(key) & 0x7fff_ffff) % partitionCount;
  }
}
