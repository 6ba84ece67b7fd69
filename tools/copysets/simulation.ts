import {
  type PlacementStrategy,
  permutationCount,
  placeReplicaIndices,
} from '../../src/cluster/placement/index.js';
import {
  disjointSetsLossProbability,
  independentSetsEstimate,
  monteCarloLoss,
  wilsonInterval,
} from './loss-probability.js';
import { indexReplicaSets } from './replica-set-index.js';

/**
 * The copyset simulator: for each cluster size, place partitions with the
 * broker's own placement code (random, and copysets at each scatter width),
 * fail `failedPercent` of the nodes at once, and measure how often some
 * partition loses all of its replicas.
 */
export interface SimulationOptions {
  nodeCounts: readonly number[];
  replicationFactor: number;
  /** Share of the nodes that fail at once, in percent (the paper's power outage: 1). */
  failedPercent: number;
  /** Partition replicas each broker hosts; the cluster has nodes × this / R partitions. */
  replicasPerBroker: number;
  scatterWidths: readonly number[];
  seed: number;
  /** Monte Carlo trials per row, at most. */
  maxTrials: number;
  /** A row stops early once it has seen this many losses. */
  enoughLosses: number;
}

export interface SimulationRow {
  strategy: PlacementStrategy;
  /** The copyset scatter width; null for random placement (which scatters over every node). */
  scatterWidth: number | null;
  nodeCount: number;
  failedCount: number;
  partitionCount: number;
  /** Distinct replica sets the placement uses. */
  replicaSets: number;
  trials: number;
  losses: number;
  /** Monte Carlo estimate and its 95% Wilson interval. */
  lossProbability: number;
  low: number;
  high: number;
  /** 1 - (1 - C(f,R)/C(N,R))^sets, the paper's computation. */
  estimate: number;
  /** The exact probability where it is known in closed form (no failure can lose data, or disjoint sets); else null. */
  exact: number | null;
  elapsedMs: number;
}

export const FULL_RUN: SimulationOptions = {
  nodeCounts: [100, 500, 1_000, 2_000, 3_000, 4_000, 5_000],
  replicationFactor: 3,
  failedPercent: 1,
  replicasPerBroker: 8_000,
  scatterWidths: [2, 10],
  seed: 1,
  maxTrials: 1_000_000,
  enoughLosses: 4_000,
};

/** Small enough for CI: a few hundred nodes, a few hundred replicas each. */
export const QUICK_RUN: SimulationOptions = {
  ...FULL_RUN,
  nodeCounts: [100, 300, 600],
  replicasPerBroker: 300,
  maxTrials: 20_000,
  enoughLosses: 1_000,
};

export function failedNodeCount(nodeCount: number, failedPercent: number): number {
  return Math.round((nodeCount * failedPercent) / 100);
}

export function simulateRow(
  options: SimulationOptions,
  nodeCount: number,
  strategy: PlacementStrategy,
  scatterWidth: number | null,
): SimulationRow {
  const startMs = performance.now();
  const size = options.replicationFactor;
  const partitionCount = Math.round((nodeCount * options.replicasPerBroker) / size);
  const failedCount = failedNodeCount(nodeCount, options.failedPercent);
  const flat = placeReplicaIndices(nodeCount, partitionCount, size, {
    strategy,
    scatterWidth: scatterWidth ?? nodeCount - 1,
    seed: options.seed,
    copysetSeed: options.seed,
  });
  const index = indexReplicaSets(flat, size, nodeCount);
  const { trials, losses } = monteCarloLoss(
    index,
    failedCount,
    options.maxTrials,
    options.enoughLosses,
    options.seed + nodeCount,
  );
  const { low, high } = wilsonInterval(losses, trials);
  const disjoint =
    strategy === 'copyset' &&
    scatterWidth !== null &&
    permutationCount(nodeCount, size, scatterWidth) === 1 &&
    nodeCount % size === 0;
  const exact =
    failedCount < size
      ? 0
      : disjoint
        ? disjointSetsLossProbability(index.count, nodeCount, size, failedCount)
        : null;
  return {
    strategy,
    scatterWidth,
    nodeCount,
    failedCount,
    partitionCount,
    replicaSets: index.count,
    trials,
    losses,
    lossProbability: trials === 0 ? 0 : losses / trials,
    low,
    high,
    estimate: independentSetsEstimate(index.count, nodeCount, size, failedCount),
    exact,
    elapsedMs: performance.now() - startMs,
  };
}

/** Every row: for each node count, random placement first, then copysets at each scatter width. */
export function* simulate(options: SimulationOptions): Generator<SimulationRow> {
  for (const nodeCount of options.nodeCounts) {
    yield simulateRow(options, nodeCount, 'random', null);
    for (const width of options.scatterWidths) yield simulateRow(options, nodeCount, 'copyset', width);
  }
}

export function formatPercent(probability: number): string {
  if (probability === 0) return '0 %';
  const percent = probability * 100;
  if (percent >= 99.99 && percent < 100) {
    // Near certainty the digits that matter are the last ones; never round a loss chance up to 100 %.
    const fixed = percent.toFixed(4);
    return fixed === '100.0000' ? '> 99.9999 %' : `${fixed} %`;
  }
  return `${percent.toPrecision(percent < 0.01 ? 2 : 3)} %`;
}

export const TABLE_HEADER = [
  '| placement | N | failed | partitions | distinct replica sets | trials | P(loss), Monte Carlo [95% CI] | P(loss), computed | s |',
  '|---|---|---|---|---|---|---|---|---|',
];

export function formatRow(row: SimulationRow): string {
  const placement = row.scatterWidth === null ? 'random' : `copyset S=${row.scatterWidth}`;
  const computed =
    row.exact !== null ? `${formatPercent(row.exact)} (exact)` : `${formatPercent(row.estimate)} (estimate)`;
  const measured =
    row.trials === 0
      ? '— (fewer failures than replicas)'
      : `${formatPercent(row.lossProbability)} [${formatPercent(row.low)}, ${formatPercent(row.high)}]`;
  return `| ${placement} | ${row.nodeCount.toLocaleString('en-US')} | ${row.failedCount} | ${row.partitionCount.toLocaleString('en-US')} | ${row.replicaSets.toLocaleString('en-US')} | ${row.trials.toLocaleString('en-US')} | ${measured} | ${computed} | ${(row.elapsedMs / 1000).toFixed(1)} |`;
}
