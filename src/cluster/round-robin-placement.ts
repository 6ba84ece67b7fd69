import type { BrokerId } from './partition-state.js';

/**
 * The signature the controller places replicas with (the copysets placement in src/cluster/placement/ has it
 * too): pure, deterministic for a seed; one replica list per partition, replicas[0] the preferred leader.
 */
export type PlaceReplicas = (
  brokers: readonly BrokerId[],
  partitionCount: number,
  replicationFactor: number,
  options: { scatterWidth: number; seed: number },
) => BrokerId[][];

/**
 * Round-robin placement: partition p starts at broker (seed + p) mod N and takes the next R brokers. Leaders
 * spread evenly; replica sets are not limited to copysets (scatterWidth is ignored). A stand-in until the
 * copysets placement is wired in, and the fallback when it is not wanted.
 */
export const placeRoundRobin: PlaceReplicas = (brokers, partitionCount, replicationFactor, options) => {
  if (replicationFactor < 1 || replicationFactor > brokers.length) {
    throw new RangeError(`replication factor ${replicationFactor} needs 1..${brokers.length} brokers`);
  }
  const sorted = [...brokers].sort((a, b) => a - b);
  const start = Math.abs(Math.trunc(options.seed)) % sorted.length;
  const placement: BrokerId[][] = [];
  for (let partition = 0; partition < partitionCount; partition++) {
    const replicas: BrokerId[] = [];
    for (let index = 0; index < replicationFactor; index++) {
      replicas.push(sorted[(start + partition + index) % sorted.length]!);
    }
    placement.push(replicas);
  }
  return placement;
};
