import type { SeededRandom } from './seeded-random.js';

/**
 * Copysets, after Cidon et al., "Copysets: Reducing the Frequency of Data Loss
 * in Cloud Storage" (USENIX ATC 2013).
 *
 * A copyset is a set of `size` nodes that together hold every replica of some
 * data. Data is lost when every node of at least one copyset fails at once, so
 * the fewer distinct copysets a cluster uses, the less likely a correlated
 * failure (a power outage taking out 1% of the nodes) loses anything. Random
 * placement uses nearly every possible triple once there are many partitions;
 * copyset placement uses only those made here.
 *
 * Each node must still share data with enough others (its scatter width) that
 * a lost node is re-replicated from many peers in parallel. The permutation
 * phase gives that: each random permutation of the nodes, cut into consecutive
 * runs of `size`, adds up to `size - 1` new peers to every node, so
 * ceil(scatterWidth / (size - 1)) permutations reach the asked scatter width.
 * When the node count is not a multiple of `size`, the last run of a
 * permutation is completed with nodes from that permutation's start (distinct
 * from the run's own, since there are at least `size` nodes); those few nodes
 * then sit in two copysets of that permutation.
 *
 * Node numbers here are indices 0 .. nodeCount-1; placement maps them to broker ids.
 */
export interface Copysets {
  readonly nodeCount: number;
  /** Nodes per copyset: the replication factor. */
  readonly size: number;
  /** Number of distinct copysets. */
  readonly count: number;
  /** Copyset c's members are members[c * size .. (c + 1) * size), in permutation order. */
  readonly members: Int32Array;
  /** The copysets that contain node n are byNode[byNodeStart[n] .. byNodeStart[n + 1]), in creation order. */
  readonly byNodeStart: Int32Array;
  readonly byNode: Int32Array;
}

/** How many permutations give each node at least `scatterWidth` peers (never more than the other nodes). */
export function permutationCount(nodeCount: number, size: number, scatterWidth: number): number {
  if (size <= 1) return 1;
  const reachable = Math.min(scatterWidth, nodeCount - 1);
  return Math.max(1, Math.ceil(reachable / (size - 1)));
}

/** The most distinct copysets `buildCopysets` can make for these parameters. */
export function copysetCountBound(nodeCount: number, size: number, scatterWidth: number): number {
  return permutationCount(nodeCount, size, scatterWidth) * Math.ceil(nodeCount / size);
}

/**
 * Builds the copysets for `nodeCount` nodes. Deterministic for the state of
 * `random`. A copyset produced twice (likely in small clusters) is kept once.
 */
export function buildCopysets(
  nodeCount: number,
  size: number,
  scatterWidth: number,
  random: SeededRandom,
): Copysets {
  if (!Number.isInteger(nodeCount) || nodeCount < 1)
    throw new RangeError(`node count must be >= 1, got ${nodeCount}`);
  if (!Number.isInteger(size) || size < 1 || size > nodeCount) {
    throw new RangeError(`copyset size must be in [1, ${nodeCount}], got ${size}`);
  }
  if (!Number.isInteger(scatterWidth) || scatterWidth < 1) {
    throw new RangeError(`scatter width must be an integer >= 1, got ${scatterWidth}`);
  }
  const permutations = permutationCount(nodeCount, size, scatterWidth);
  const runsPerPermutation = Math.ceil(nodeCount / size);
  const candidates = new Int32Array(permutations * runsPerPermutation * size);
  const permutation = new Int32Array(nodeCount);
  const seen = new Set<string>();
  const sorted = new Int32Array(size);
  let count = 0;
  for (let p = 0; p < permutations; p++) {
    for (let n = 0; n < nodeCount; n++) permutation[n] = n;
    random.shuffle(permutation);
    for (let run = 0; run < runsPerPermutation; run++) {
      const base = count * size;
      for (let j = 0; j < size; j++) {
        const position = run * size + j;
        const node = permutation[position < nodeCount ? position : position - nodeCount];
        candidates[base + j] = node;
        sorted[j] = node;
      }
      sorted.sort();
      const key = sorted.join(',');
      if (seen.has(key)) continue;
      seen.add(key);
      count++;
    }
  }
  const members = candidates.slice(0, count * size);
  return { nodeCount, size, count, members, ...indexByNode(nodeCount, size, count, members) };
}

function indexByNode(
  nodeCount: number,
  size: number,
  count: number,
  members: Int32Array,
): { byNodeStart: Int32Array; byNode: Int32Array } {
  const byNodeStart = new Int32Array(nodeCount + 1);
  for (let i = 0; i < count * size; i++) byNodeStart[members[i] + 1]++;
  for (let n = 0; n < nodeCount; n++) byNodeStart[n + 1] += byNodeStart[n];
  const fill = byNodeStart.slice(0, nodeCount);
  const byNode = new Int32Array(count * size);
  for (let c = 0; c < count; c++) {
    for (let j = 0; j < size; j++) byNode[fill[members[c * size + j]]++] = c;
  }
  return { byNodeStart, byNode };
}
