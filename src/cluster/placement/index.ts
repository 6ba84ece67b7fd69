/** Replica placement for the cluster: copysets by default, random for comparison. */

export type { BrokerId } from '../partition-state.js';
export { buildCopysets, type Copysets, copysetCountBound, permutationCount } from './copysets.js';
export {
  type PlacementOptions,
  type PlacementStrategy,
  placeReplicaIndices,
  placeReplicas,
} from './place-replicas.js';
export { SeededRandom } from './seeded-random.js';
