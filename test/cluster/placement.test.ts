import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  buildCopysets,
  copysetCountBound,
  type PlacementStrategy,
  placeReplicas,
  SeededRandom,
} from '../../src/cluster/placement/index.js';
import { PyralogError } from '../../src/common/errors.js';

/** Distinct broker ids, a replication factor that fits, and the rest of a placement call. */
const placementCase = fc
  .uniqueArray(fc.integer({ min: 0, max: 5_000 }), { minLength: 1, maxLength: 40 })
  .chain((brokers) =>
    fc.record({
      brokers: fc.constant(brokers),
      replicationFactor: fc.integer({ min: 1, max: Math.min(5, brokers.length) }),
      partitionCount: fc.integer({ min: 0, max: 400 }),
      scatterWidth: fc.integer({ min: 1, max: 24 }),
      seed: fc.integer(),
      leaderOffset: fc.nat({ max: 10_000 }),
    }),
  );

const sortedKey = (replicas: readonly number[]): string => [...replicas].sort((a, b) => a - b).join(',');

function leaderCounts(brokers: readonly number[], placement: readonly (readonly number[])[]): number[] {
  const counts = new Map(brokers.map((id) => [id, 0]));
  for (const replicas of placement) counts.set(replicas[0]!, (counts.get(replicas[0]!) ?? 0) + 1);
  return [...counts.values()];
}

describe('placeReplicas', () => {
  for (const strategy of ['copyset', 'random'] as PlacementStrategy[]) {
    it(`given any brokers and counts (${strategy}), every replica set holds R distinct listed brokers`, () => {
      fc.assert(
        fc.property(placementCase, (c) => {
          const placement = placeReplicas(c.brokers, c.partitionCount, c.replicationFactor, {
            ...c,
            strategy,
          });
          expect(placement).toHaveLength(c.partitionCount);
          const listed = new Set(c.brokers);
          // Plain checks, one expect: an expect per replica makes this property take seconds.
          const bad = placement.filter(
            (replicas) =>
              replicas.length !== c.replicationFactor ||
              new Set(replicas).size !== c.replicationFactor ||
              replicas.some((id) => !listed.has(id)),
          );
          expect(bad).toEqual([]);
        }),
        { numRuns: 150 },
      );
    });

    it(`given any brokers and counts (${strategy}), leader counts differ by at most one`, () => {
      fc.assert(
        fc.property(placementCase, (c) => {
          const counts = leaderCounts(
            c.brokers,
            placeReplicas(c.brokers, c.partitionCount, c.replicationFactor, { ...c, strategy }),
          );
          expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
        }),
        { numRuns: 150 },
      );
    });

    it(`given the same set of brokers in another order (${strategy}), should place identically`, () => {
      fc.assert(
        fc.property(placementCase, fc.integer(), (c, shuffleSeed) => {
          const shuffled = Array.from(new SeededRandom(shuffleSeed).shuffle(c.brokers.slice()));
          const options = { ...c, strategy };
          expect(placeReplicas(shuffled, c.partitionCount, c.replicationFactor, options)).toEqual(
            placeReplicas(c.brokers, c.partitionCount, c.replicationFactor, options),
          );
        }),
        { numRuns: 60 },
      );
    });
  }

  it('given copysets, the number of distinct replica sets stays within what the scatter width implies', () => {
    fc.assert(
      fc.property(placementCase, (c) => {
        const placement = placeReplicas(c.brokers, c.partitionCount, c.replicationFactor, c);
        const distinct = new Set(placement.map(sortedKey)).size;
        expect(distinct).toBeLessThanOrEqual(
          copysetCountBound(c.brokers.length, c.replicationFactor, c.scatterWidth),
        );
      }),
      { numRuns: 200 },
    );
  });

  it('given copysets, a partition does not depend on how many partitions are placed or where the call starts', () => {
    fc.assert(
      fc.property(placementCase, fc.nat({ max: 50 }), (c, skipped) => {
        const options = { scatterWidth: c.scatterWidth, seed: c.seed };
        const whole = placeReplicas(c.brokers, skipped + c.partitionCount, c.replicationFactor, options);
        const tail = placeReplicas(c.brokers, c.partitionCount, c.replicationFactor, {
          ...options,
          leaderOffset: skipped,
        });
        expect(tail).toEqual(whole.slice(skipped));
      }),
      { numRuns: 60 },
    );
  });

  it('given 30 brokers and 3,000 partitions, copysets use at most 20 replica sets where random uses over 1,000', () => {
    const brokers = Array.from({ length: 30 }, (_, i) => i + 1);
    const copyset = placeReplicas(brokers, 3_000, 3, { scatterWidth: 4, seed: 7 });
    const random = placeReplicas(brokers, 3_000, 3, { scatterWidth: 4, seed: 7, strategy: 'random' });
    expect(new Set(copyset.map(sortedKey)).size).toBeLessThanOrEqual(20);
    expect(new Set(random.map(sortedKey)).size).toBeGreaterThan(1_000);
  });

  it('given copysets, each broker shares partitions with several peers and carries a fair share of replicas', () => {
    const brokers = Array.from({ length: 60 }, (_, i) => i);
    const placement = placeReplicas(brokers, 6_000, 3, { scatterWidth: 8, seed: 42 });
    const peers = brokers.map(() => new Set<number>());
    const replicaCounts = brokers.map(() => 0);
    for (const replicas of placement) {
      for (const id of replicas) {
        replicaCounts[id]++;
        for (const other of replicas) if (other !== id) peers[id].add(other);
      }
    }
    // Four permutations give each broker up to 8 peers; a repeated pairing can cost one or two.
    expect(Math.min(...peers.map((set) => set.size))).toBeGreaterThanOrEqual(5);
    expect(Math.max(...replicaCounts)).toBeLessThanOrEqual(2 * Math.min(...replicaCounts));
  });

  it('given a different seed per topic, every topic still draws from the same copysets', () => {
    fc.assert(
      fc.property(placementCase, fc.array(fc.integer(), { minLength: 2, maxLength: 6 }), (c, topicSeeds) => {
        const sets = new Set<string>();
        for (const seed of topicSeeds) {
          const placement = placeReplicas(c.brokers, c.partitionCount, c.replicationFactor, { ...c, seed });
          for (const replicas of placement) sets.add(sortedKey(replicas));
        }
        expect(sets.size).toBeLessThanOrEqual(
          copysetCountBound(c.brokers.length, c.replicationFactor, c.scatterWidth),
        );
      }),
      { numRuns: 100 },
    );
  });

  it('given a different seed, should lead and spread differently; given a different copyset seed, other copysets', () => {
    const brokers = Array.from({ length: 12 }, (_, i) => i);
    const a = placeReplicas(brokers, 12, 3, { scatterWidth: 2, seed: 1 });
    const b = placeReplicas(brokers, 12, 3, { scatterWidth: 2, seed: 2 });
    const c = placeReplicas(brokers, 12, 3, { scatterWidth: 2, seed: 1, copysetSeed: 2 });
    expect(a.map((replicas) => replicas[0])).not.toEqual(b.map((replicas) => replicas[0]));
    expect(new Set(a.map(sortedKey))).toEqual(new Set(b.map(sortedKey)));
    expect(new Set(a.map(sortedKey))).not.toEqual(new Set(c.map(sortedKey)));
  });

  it("given many one-partition topics, followers spread over each leader's copysets", () => {
    const brokers = Array.from({ length: 30 }, (_, i) => i);
    const followerCounts = new Map<number, number>();
    for (let topicId = 0; topicId < 600; topicId++) {
      const [replicas] = placeReplicas(brokers, 1, 3, { scatterWidth: 6, seed: topicId });
      for (const id of replicas!.slice(1)) followerCounts.set(id, (followerCounts.get(id) ?? 0) + 1);
    }
    // 1,200 follower replicas over 30 brokers: 40 each on average.
    expect(followerCounts.size).toBe(30);
    expect(Math.max(...followerCounts.values())).toBeLessThan(80);
  });

  it('given a replication factor above the broker count, should refuse with INVALID_REPLICATION_FACTOR', () => {
    const refusal = (): unknown => placeReplicas([1, 2], 3, 3, { scatterWidth: 2, seed: 0 });
    expect(refusal).toThrow(PyralogError);
    expect(refusal).toThrow(/larger than the 2 available brokers/);
    try {
      refusal();
    } catch (error) {
      expect((error as PyralogError).code).toBe('INVALID_REPLICATION_FACTOR');
    }
  });

  it('given a negative partition count or a zero replication factor, should refuse with the Kafka code', () => {
    const codeOf = (run: () => unknown): string | undefined => {
      try {
        run();
      } catch (error) {
        return error instanceof PyralogError ? error.code : 'not a PyralogError';
      }
      return undefined;
    };
    expect(codeOf(() => placeReplicas([1, 2, 3], -1, 3, { scatterWidth: 2, seed: 0 }))).toBe(
      'INVALID_PARTITIONS',
    );
    expect(codeOf(() => placeReplicas([1, 2, 3], 1, 0, { scatterWidth: 2, seed: 0 }))).toBe(
      'INVALID_REPLICATION_FACTOR',
    );
  });

  it('given a broker listed twice or a scatter width below one, should throw a RangeError', () => {
    expect(() => placeReplicas([1, 2, 2], 1, 2, { scatterWidth: 2, seed: 0 })).toThrow(RangeError);
    expect(() => placeReplicas([1, 2, 3], 1, 2, { scatterWidth: 0, seed: 0 })).toThrow(RangeError);
  });
});

describe('buildCopysets', () => {
  it('given nodes not a multiple of R, every node is in a copyset of each permutation and members are distinct', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 3, max: 50 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer(),
        (nodes, width, seed) => {
          const copysets = buildCopysets(nodes, 3, width, new SeededRandom(seed));
          expect(copysets.count).toBeLessThanOrEqual(copysetCountBound(nodes, 3, width));
          for (let c = 0; c < copysets.count; c++) {
            expect(new Set(copysets.members.subarray(c * 3, c * 3 + 3)).size).toBe(3);
          }
          for (let n = 0; n < nodes; n++) {
            const mine = copysets.byNode.subarray(copysets.byNodeStart[n], copysets.byNodeStart[n + 1]);
            expect(mine.length).toBeGreaterThan(0);
            for (const c of mine)
              expect(Array.from(copysets.members.subarray(c * 3, c * 3 + 3))).toContain(n);
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('SeededRandom', () => {
  it('given the same seed, should repeat its stream; given another, should not', () => {
    const a = new SeededRandom(5);
    const b = new SeededRandom(5);
    const c = new SeededRandom(6);
    const drawsA = Array.from({ length: 8 }, () => a.nextUint32());
    expect(Array.from({ length: 8 }, () => b.nextUint32())).toEqual(drawsA);
    expect(Array.from({ length: 8 }, () => c.nextUint32())).not.toEqual(drawsA);
  });

  it('given a bound, should draw every value below it about equally often', () => {
    const random = new SeededRandom(11);
    const counts = new Array<number>(7).fill(0);
    for (let i = 0; i < 70_000; i++) counts[random.nextBelow(7)]++;
    for (const count of counts) expect(Math.abs(count - 10_000)).toBeLessThan(500);
  });
});
