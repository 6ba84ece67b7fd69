/**
 * The distinct replica sets of a placement, indexed for the failure check.
 *
 * Data is lost when every node of some replica set fails, so only the distinct
 * sets matter, not how many partitions share each. Each set is sorted and
 * encoded as one number (members in base nodeCount, smallest first), the codes
 * are sorted and de-duplicated, and because the smallest member is the most
 * significant digit the sorted codes come grouped by smallest member: the
 * index keeps, per node, the other members of the sets it is the smallest of.
 * A failure loses data iff some failed node is the smallest member of a set
 * whose other members all failed too, so each set is looked at from one node only.
 */
export interface ReplicaSetIndex {
  readonly nodeCount: number;
  /** Members per set: the replication factor. */
  readonly size: number;
  /** Number of distinct replica sets. */
  readonly count: number;
  /** The sets whose smallest member is node n are rows byMinStart[n] .. byMinStart[n + 1] of `others`. */
  readonly byMinStart: Int32Array;
  /** Row i holds the size - 1 other members of set i, ascending: others[i * (size - 1) ..]. */
  readonly others: Int32Array;
}

/**
 * Indexes the replica sets of a flat placement (partition p's replicas at
 * [p * size, (p + 1) * size), node numbers below nodeCount).
 */
export function indexReplicaSets(flat: Int32Array, size: number, nodeCount: number): ReplicaSetIndex {
  if (size < 1 || flat.length % size !== 0)
    throw new RangeError('placement length is not a multiple of the set size');
  if (nodeCount ** size > Number.MAX_SAFE_INTEGER) {
    throw new RangeError(`${nodeCount} nodes with sets of ${size} do not fit one exact number per set`);
  }
  const partitionCount = flat.length / size;
  const codes = new Float64Array(partitionCount);
  const sorted = new Int32Array(size);
  for (let p = 0; p < partitionCount; p++) {
    for (let j = 0; j < size; j++) sorted[j] = flat[p * size + j];
    sorted.sort();
    let code = 0;
    for (let j = 0; j < size; j++) code = code * nodeCount + sorted[j];
    codes[p] = code;
  }
  codes.sort();
  let count = 0;
  for (let i = 0; i < partitionCount; i++)
    if (i === 0 || codes[i] !== codes[i - 1]) codes[count++] = codes[i];

  const width = size - 1;
  const others = new Int32Array(count * width);
  const byMinStart = new Int32Array(nodeCount + 1);
  const leading = nodeCount ** width;
  for (let i = 0; i < count; i++) {
    let code = codes[i];
    // Peel the digits off from the least significant (the largest member) up.
    for (let j = width - 1; j >= 0; j--) {
      others[i * width + j] = code % nodeCount;
      code = Math.floor(code / nodeCount);
    }
    byMinStart[Math.floor(codes[i] / leading) + 1]++;
  }
  for (let n = 0; n < nodeCount; n++) byMinStart[n + 1] += byMinStart[n];
  return { nodeCount, size, count, byMinStart, others };
}
