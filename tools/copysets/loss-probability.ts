import { SeededRandom } from '../../src/cluster/placement/index.js';
import type { ReplicaSetIndex } from './replica-set-index.js';

/**
 * The probability that a correlated failure of `failedCount` nodes, chosen
 * uniformly at random among all nodes, takes out every replica of at least one
 * replica set: measured by Monte Carlo over a placement's distinct sets,
 * computed exactly where the sets allow it, and estimated as the Copysets
 * paper does.
 */

/** Whether the failed nodes (failed[n] === 1) cover some replica set; looks at sets by their smallest member. */
export function losesData(
  index: ReplicaSetIndex,
  failed: Uint8Array,
  failedNodes: Int32Array,
  failedCount: number,
): boolean {
  const { byMinStart, others } = index;
  const width = index.size - 1;
  for (let i = 0; i < failedCount; i++) {
    const node = failedNodes[i];
    for (let row = byMinStart[node]; row < byMinStart[node + 1]; row++) {
      let all = true;
      for (let j = 0; j < width; j++) {
        if (failed[others[row * width + j]] === 0) {
          all = false;
          break;
        }
      }
      if (all) return true;
    }
  }
  return false;
}

export interface MonteCarloResult {
  trials: number;
  losses: number;
}

/**
 * Draws failures of `failedCount` distinct nodes (a partial Fisher–Yates
 * shuffle) and counts those that lose data. Stops after `maxTrials`, or
 * earlier once `enoughLosses` have been seen, which bounds the relative error
 * when losses are common. Runs no trial at all when fewer nodes fail than a
 * set holds: nothing can be lost then.
 */
export function monteCarloLoss(
  index: ReplicaSetIndex,
  failedCount: number,
  maxTrials: number,
  enoughLosses: number,
  seed: number,
): MonteCarloResult {
  const { nodeCount } = index;
  if (failedCount < index.size) return { trials: 0, losses: 0 };
  const random = new SeededRandom(seed);
  const pool = new Int32Array(nodeCount);
  for (let n = 0; n < nodeCount; n++) pool[n] = n;
  const failed = new Uint8Array(nodeCount);
  let losses = 0;
  let trials = 0;
  while (trials < maxTrials && losses < enoughLosses) {
    for (let i = 0; i < failedCount; i++) {
      const j = i + random.nextBelow(nodeCount - i);
      const node = pool[j];
      pool[j] = pool[i];
      pool[i] = node;
      failed[node] = 1;
    }
    if (losesData(index, failed, pool, failedCount)) losses++;
    for (let i = 0; i < failedCount; i++) failed[pool[i]] = 0;
    trials++;
  }
  return { trials, losses };
}

/**
 * The exact probability by visiting every failure set of `failedCount` nodes:
 * C(nodeCount, failedCount) of them, so only for small clusters (tests).
 */
export function exactLossByEnumeration(index: ReplicaSetIndex, failedCount: number): number {
  const { nodeCount } = index;
  const total = binomial(nodeCount, failedCount);
  if (total > 5_000_000) throw new RangeError(`${total} failure sets are too many to enumerate`);
  const chosen = new Int32Array(failedCount);
  const failed = new Uint8Array(nodeCount);
  let losing = 0;
  const visit = (from: number, depth: number): void => {
    if (depth === failedCount) {
      if (losesData(index, failed, chosen, failedCount)) losing++;
      return;
    }
    for (let n = from; n <= nodeCount - (failedCount - depth); n++) {
      chosen[depth] = n;
      failed[n] = 1;
      visit(n + 1, depth + 1);
      failed[n] = 0;
    }
  };
  visit(0, 0);
  return losing / total;
}

/**
 * The exact probability for `setCount` pairwise disjoint sets of `size` nodes
 * (copyset placement with a single permutation when size divides the node
 * count), by inclusion–exclusion over how many sets fail together:
 *   P = Σ_{k≥1} (-1)^(k+1) C(setCount, k) · C(N - k·size, f - k·size) / C(N, f),
 * where the last ratio is Π_{i<k·size} (f - i) / (N - i).
 */
export function disjointSetsLossProbability(
  setCount: number,
  nodeCount: number,
  size: number,
  failedCount: number,
): number {
  let sum = 0;
  let ratio = 1;
  let choose = 1;
  for (let k = 1; k <= setCount && k * size <= failedCount; k++) {
    for (let i = (k - 1) * size; i < k * size; i++) ratio *= (failedCount - i) / (nodeCount - i);
    choose = (choose * (setCount - k + 1)) / k;
    sum += (k % 2 === 1 ? 1 : -1) * choose * ratio;
  }
  return sum;
}

/**
 * The paper's way of computing it: treat the distinct sets as independent,
 * each lost with probability C(f, R) / C(N, R). Slightly high when sets
 * overlap heavily, exact in the limit of few sparse sets.
 */
export function independentSetsEstimate(
  setCount: number,
  nodeCount: number,
  size: number,
  failedCount: number,
): number {
  if (failedCount < size) return 0;
  const perSet = binomial(failedCount, size) / binomial(nodeCount, size);
  return -Math.expm1(setCount * Math.log1p(-perSet));
}

/** The 95% Wilson score interval of a proportion: sound at 0 and 1, unlike the normal one. */
export function wilsonInterval(successes: number, trials: number, z = 1.96): { low: number; high: number } {
  if (trials === 0) return { low: 0, high: 1 };
  const p = successes / trials;
  const z2 = z * z;
  const centre = (p + z2 / (2 * trials)) / (1 + z2 / trials);
  const half = (z * Math.sqrt((p * (1 - p)) / trials + z2 / (4 * trials * trials))) / (1 + z2 / trials);
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

/** C(n, k) as a double (exact while it stays below 2^53). */
export function binomial(n: number, k: number): number {
  if (k < 0 || k > n) return 0;
  const m = Math.min(k, n - k);
  let result = 1;
  for (let i = 1; i <= m; i++) result = (result * (n - m + i)) / i;
  return result < 2 ** 53 ? Math.round(result) : result;
}
