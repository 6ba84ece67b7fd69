import { PyralogError } from '../../common/errors.js';
import { KafkaErrorCode } from '../../common/kafka-error-code.js';
import type { BrokerId } from '../partition-state.js';
import { buildCopysets, type Copysets } from './copysets.js';
import { SeededRandom } from './seeded-random.js';

/** The copyset seed when the caller gives none: any fixed value; it only has to be the same for every topic. */
const DEFAULT_COPYSET_SEED = 1;

/** How replica sets are drawn: from copysets (the default), or at random for comparison. */
export type PlacementStrategy = 'copyset' | 'random';

export interface PlacementOptions {
  /**
   * How many other brokers each broker should share partitions with, at least
   * (capped at the other brokers). Larger spreads a dead broker's re-replication
   * over more peers; smaller means fewer copysets and a lower chance that a
   * correlated failure loses data. Ignored by the random strategy.
   */
  scatterWidth: number;
  /**
   * Varies the leader rotation and which of its copysets each leader starts
   * with: pass the topic id, so that topics spread their leaders and
   * followers differently. It does NOT choose the copysets: copysets only limit
   * data loss if every topic draws from the same few, so they depend only on
   * the brokers, R, the scatter width and `copysetSeed`.
   */
  seed: number;
  /**
   * Chooses the permutations, hence the copysets (default 1). One value for the
   * whole cluster; the simulator varies it to draw other families.
   */
  copysetSeed?: number;
  strategy?: PlacementStrategy;
  /**
   * Where in the leader rotation partition 0 starts (default 0). Pass a value
   * that differs between topics (the topic id) so that topics with few
   * partitions do not all lead on the same brokers.
   */
  leaderOffset?: number;
}

/**
 * Replica sets for `partitionCount` partitions over `brokers`: one array per
 * partition, its first element the preferred leader.
 *
 * Pure and deterministic: the result depends only on the set of broker ids
 * (not their order), the counts and the options. With the copyset strategy
 * every replica set is a copyset (see copysets.ts), so the cluster uses at
 * most ceil(scatterWidth / (R - 1)) × ceil(brokers / R) distinct replica sets,
 * whatever the number of partitions and whatever seed each topic passes (the
 * controller may pass the topic id). Leaders follow a seeded rotation over all
 * brokers, so leader counts differ by at most one; each leader takes its
 * copysets in turn, which spreads follower load too.
 *
 * Throws a PyralogError (INVALID_REPLICATION_FACTOR, INVALID_PARTITIONS) for
 * what a CreateTopics request can get wrong, and a RangeError for bad
 * arguments from the caller (duplicate broker ids, a bad scatter width).
 */
export function placeReplicas(
  brokers: readonly BrokerId[],
  partitionCount: number,
  replicationFactor: number,
  options: PlacementOptions,
): BrokerId[][] {
  const sortedBrokers = sortedDistinctBrokers(brokers);
  const flat = placeReplicaIndices(sortedBrokers.length, partitionCount, replicationFactor, options);
  const placement: BrokerId[][] = new Array(partitionCount);
  for (let p = 0; p < partitionCount; p++) {
    const replicas: BrokerId[] = new Array(replicationFactor);
    for (let r = 0; r < replicationFactor; r++) replicas[r] = sortedBrokers[flat[p * replicationFactor + r]];
    placement[p] = replicas;
  }
  return placement;
}

/**
 * The core of `placeReplicas`, over broker indices 0 .. brokerCount-1 (the
 * brokers sorted by id), into one flat array: partition p's replicas are
 * [p * R, (p + 1) * R). The copyset simulator calls this directly so that it
 * measures the broker's own placement at millions of partitions without
 * millions of small arrays.
 */
export function placeReplicaIndices(
  brokerCount: number,
  partitionCount: number,
  replicationFactor: number,
  options: PlacementOptions,
): Int32Array {
  checkCounts(brokerCount, partitionCount, replicationFactor);
  if (!Number.isInteger(options.seed)) throw new RangeError(`seed must be an integer, got ${options.seed}`);
  const leaderOffset = options.leaderOffset ?? 0;
  if (!Number.isSafeInteger(leaderOffset) || leaderOffset < 0) {
    throw new RangeError(`leader offset must be a non-negative integer, got ${leaderOffset}`);
  }
  const copysetSeed = options.copysetSeed ?? DEFAULT_COPYSET_SEED;
  if (!Number.isInteger(copysetSeed))
    throw new RangeError(`copyset seed must be an integer, got ${copysetSeed}`);
  // Separate streams, so that the copysets depend only on (brokers, R, scatter width, copyset seed) and
  // stay the same whatever the seed, partition count, offset or strategy of a call.
  const leaderRandom = new SeededRandom(options.seed ^ 0x5bd1e995);
  const leaderOrder = leaderRandom.shuffle(identity(brokerCount));
  const copysetStart = leaderRandom.nextUint32();
  const out = new Int32Array(partitionCount * replicationFactor);
  if (options.strategy === 'random') {
    fillRandom(
      out,
      brokerCount,
      replicationFactor,
      leaderOrder,
      leaderOffset,
      new SeededRandom(~options.seed),
    );
  } else {
    const copysets = buildCopysets(
      brokerCount,
      replicationFactor,
      options.scatterWidth,
      new SeededRandom(copysetSeed),
    );
    fillFromCopysets(out, copysets, leaderOrder, leaderOffset, copysetStart);
  }
  return out;
}

function fillFromCopysets(
  out: Int32Array,
  copysets: Copysets,
  leaderOrder: Int32Array,
  leaderOffset: number,
  copysetStart: number,
): void {
  const { nodeCount, size, members, byNodeStart, byNode } = copysets;
  const partitionCount = out.length / size;
  for (let p = 0; p < partitionCount; p++) {
    const turn = leaderOffset + p;
    const leader = leaderOrder[turn % nodeCount];
    // The round of the rotation picks which of the leader's copysets this partition uses, so a leader
    // cycles through all of its copysets before reusing one; the seed's start spreads small topics (all
    // in round 0) over different copysets of the same leader.
    const round = Math.floor(turn / nodeCount) + copysetStart;
    const first = byNodeStart[leader];
    const copyset = byNode[first + (round % (byNodeStart[leader + 1] - first))];
    const base = p * size;
    out[base] = leader;
    let next = base + 1;
    for (let j = 0; j < size; j++) {
      const member = members[copyset * size + j];
      if (member !== leader) out[next++] = member;
    }
  }
}

function fillRandom(
  out: Int32Array,
  nodeCount: number,
  size: number,
  leaderOrder: Int32Array,
  leaderOffset: number,
  random: SeededRandom,
): void {
  // A partial Fisher–Yates over a permutation of all nodes that is never reset (any order is as good a
  // start as another), with each node's position tracked so the leader can be moved out of the draw.
  const pool = identity(nodeCount);
  const positionOf = identity(nodeCount);
  const swap = (a: number, b: number): void => {
    const nodeA = pool[a];
    const nodeB = pool[b];
    pool[a] = nodeB;
    pool[b] = nodeA;
    positionOf[nodeB] = a;
    positionOf[nodeA] = b;
  };
  const partitionCount = out.length / size;
  const drawable = nodeCount - 1;
  for (let p = 0; p < partitionCount; p++) {
    const leader = leaderOrder[(leaderOffset + p) % nodeCount];
    swap(positionOf[leader], drawable);
    const base = p * size;
    out[base] = leader;
    for (let j = 0; j < size - 1; j++) {
      swap(j, j + random.nextBelow(drawable - j));
      out[base + 1 + j] = pool[j];
    }
  }
}

function checkCounts(brokerCount: number, partitionCount: number, replicationFactor: number): void {
  if (!Number.isInteger(partitionCount) || partitionCount < 0) {
    throw new PyralogError(
      KafkaErrorCode.INVALID_PARTITIONS,
      `partition count must be >= 0, got ${partitionCount}`,
    );
  }
  if (!Number.isInteger(replicationFactor) || replicationFactor < 1) {
    throw new PyralogError(
      KafkaErrorCode.INVALID_REPLICATION_FACTOR,
      `replication factor must be >= 1, got ${replicationFactor}`,
    );
  }
  if (replicationFactor > brokerCount) {
    throw new PyralogError(
      KafkaErrorCode.INVALID_REPLICATION_FACTOR,
      `replication factor ${replicationFactor} is larger than the ${brokerCount} available brokers`,
    );
  }
}

function sortedDistinctBrokers(brokers: readonly BrokerId[]): BrokerId[] {
  const sorted = [...brokers].sort((a, b) => a - b);
  for (let i = 0; i < sorted.length; i++) {
    const id = sorted[i];
    if (!Number.isInteger(id) || id < 0)
      throw new RangeError(`broker id must be a non-negative integer, got ${id}`);
    if (i > 0 && sorted[i - 1] === id) throw new RangeError(`broker ${id} is listed twice`);
  }
  return sorted;
}

function identity(length: number): Int32Array {
  const values = new Int32Array(length);
  for (let i = 0; i < length; i++) values[i] = i;
  return values;
}
