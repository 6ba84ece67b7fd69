import { describe, expect, it } from 'vitest';
import { copysetCountBound, placeReplicaIndices } from '../../src/cluster/placement/index.js';
import {
  binomial,
  disjointSetsLossProbability,
  exactLossByEnumeration,
  independentSetsEstimate,
  monteCarloLoss,
  wilsonInterval,
} from '../../tools/copysets/loss-probability.js';
import { indexReplicaSets } from '../../tools/copysets/replica-set-index.js';
import { formatPercent, QUICK_RUN, simulateRow } from '../../tools/copysets/simulation.js';

function indexOf(
  nodes: number,
  partitions: number,
  scatterWidth: number,
  strategy: 'copyset' | 'random' = 'copyset',
) {
  return indexReplicaSets(
    placeReplicaIndices(nodes, partitions, 3, { scatterWidth, seed: 3, strategy }),
    3,
    nodes,
  );
}

describe('replica set index', () => {
  it('given partitions sharing sets, should keep each distinct set once, under its smallest member', () => {
    const flat = Int32Array.from([2, 0, 1, 1, 2, 0, 3, 1, 2, 0, 1, 2]);
    const index = indexReplicaSets(flat, 3, 4);
    expect(index.count).toBe(2);
    expect(Array.from(index.byMinStart)).toEqual([0, 1, 2, 2, 2]);
    expect(Array.from(index.others)).toEqual([1, 2, 2, 3]);
  });
});

describe('loss probability, known answers', () => {
  it('given 6 nodes in 2 disjoint copysets and 3 failures, should be exactly 2 in C(6,3) = 0.1', () => {
    const index = indexOf(6, 60, 2);
    expect(index.count).toBe(2);
    expect(exactLossByEnumeration(index, 3)).toBeCloseTo(0.1, 12);
    expect(disjointSetsLossProbability(2, 6, 3, 3)).toBeCloseTo(0.1, 12);
  });

  it('given 9 nodes in 3 disjoint copysets and 6 failures, should be (3·C(6,3) - 3) / C(9,6) = 57/84', () => {
    const index = indexOf(9, 90, 2);
    expect(index.count).toBe(3);
    expect(exactLossByEnumeration(index, 6)).toBeCloseTo(57 / 84, 12);
    expect(disjointSetsLossProbability(3, 9, 3, 6)).toBeCloseTo(57 / 84, 12);
  });

  it('given random placement of many partitions on 6 nodes, every triple is a replica set and any 3 failures lose data', () => {
    const index = indexOf(6, 600, 2, 'random');
    expect(index.count).toBe(binomial(6, 3));
    expect(exactLossByEnumeration(index, 3)).toBe(1);
  });

  it('given overlapping copysets, Monte Carlo should agree with the exact enumeration', () => {
    const index = indexOf(12, 240, 4);
    const exact = exactLossByEnumeration(index, 5);
    const { trials, losses } = monteCarloLoss(index, 5, 40_000, 40_000, 9);
    const { low, high } = wilsonInterval(losses, trials, 4);
    expect(exact).toBeGreaterThan(0);
    expect(exact).toBeGreaterThanOrEqual(low);
    expect(exact).toBeLessThanOrEqual(high);
  });

  it('given fewer failures than replicas, should run no trial and lose nothing', () => {
    expect(monteCarloLoss(indexOf(100, 1_000, 2), 2, 1_000, 10, 1)).toEqual({ trials: 0, losses: 0 });
    expect(independentSetsEstimate(1_000, 100, 3, 2)).toBe(0);
  });

  it("given 5,000 brokers and the broker's own copysets, should reproduce the paper's 0.15% (S=2) and 0.78% (S=10)", () => {
    // Every copyset is used once each leader has had as many turns as it has copysets, so 12 partitions
    // per broker are enough to place on all of them; the paper computes its copyset figures this way.
    for (const [scatterWidth, paperPercent] of [
      [2, 0.15],
      [10, 0.78],
    ] as const) {
      const index = indexOf(5_000, 60_000, scatterWidth);
      expect(index.count).toBeLessThanOrEqual(copysetCountBound(5_000, 3, scatterWidth));
      expect(index.count).toBeGreaterThan(0.99 * copysetCountBound(5_000, 3, scatterWidth));
      const percent = independentSetsEstimate(index.count, 5_000, 3, 50) * 100;
      expect(Math.abs(percent - paperPercent) / paperPercent).toBeLessThan(0.06);
    }
  });
});

describe('simulation, CI size', () => {
  it('given 600 nodes, copysets lose data far less often than random placement', () => {
    const random = simulateRow(QUICK_RUN, 600, 'random', null);
    const copyset = simulateRow(QUICK_RUN, 600, 'copyset', 2);
    expect(random.failedCount).toBe(6);
    // 60,000 partitions use about 60,000 of the C(600, 3) = 35.8 million triples: 1 - (1 - 20/35.8M)^60,000 ≈ 3.3%.
    expect(random.replicaSets).toBeGreaterThan(59_000);
    const { low, high } = wilsonInterval(random.losses, random.trials, 4);
    expect(random.estimate).toBeGreaterThanOrEqual(low);
    expect(random.estimate).toBeLessThanOrEqual(high);
    expect(random.lossProbability).toBeGreaterThan(0.02);
    // One permutation of 600 nodes: 200 disjoint copysets, exactly about 200 × 20/35.8M ≈ 0.011%.
    expect(copyset.replicaSets).toBe(200);
    expect(copyset.exact).toBeCloseTo(200 * (20 / binomial(600, 3)), 6);
    expect(copyset.exact!).toBeLessThan(random.lossProbability / 100);
    expect(copyset.lossProbability).toBeLessThan(0.002);
  });
});

describe('formatPercent', () => {
  it('given probabilities near 0 and 1, should keep the digits that matter and never show 100 % for less', () => {
    expect(formatPercent(0)).toBe('0 %');
    expect(formatPercent(0.001567)).toBe('0.157 %');
    expect(formatPercent(0.0000812)).toBe('0.0081 %');
    expect(formatPercent(0.999949)).toBe('99.9949 %');
    expect(formatPercent(0.99999999)).toBe('> 99.9999 %');
    expect(formatPercent(1)).toBe('100 %');
  });
});
