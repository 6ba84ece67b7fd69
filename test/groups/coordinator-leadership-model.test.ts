import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import { GroupCoordinator, type OffsetsLeadership } from '../../src/groups/group-coordinator.js';
import { OFFSETS_TOPIC, OFFSETS_TOPIC_CONFIG, offsetsPartitionFor } from '../../src/groups/offset-store.js';
import { GatedEngine } from '../support/gated-engine.js';
import { codesOf, commitRequest, GROUP } from './group-fixture.js';

/**
 * Random leadership moves of one `__consumer_offsets` partition between
 * three brokers' group coordinators sharing one log (a MemoryEngine standing
 * for the replicated partition), with commits sent to any of them, some held
 * in flight across a move. Whatever the order: only the current leader takes
 * commits and answers fetches (NOT_COORDINATOR elsewhere), every commit it
 * acknowledges is in the log, and after any move the new leader answers the
 * offset of the last acknowledged commit.
 */
const PARTITIONS = 4;
const PARTITION = offsetsPartitionFor(GROUP, PARTITIONS);
const BROKERS = 3;

type Op =
  | { kind: 'move'; to: number }
  | { kind: 'commit'; at: number }
  | { kind: 'heldCommitThenMove'; to: number }
  | { kind: 'fetch'; at: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('move' as const), to: fc.nat(BROKERS - 1) }),
  fc.record({ kind: fc.constant('commit' as const), at: fc.nat(BROKERS - 1) }),
  fc.record({ kind: fc.constant('heldCommitThenMove' as const), to: fc.nat(BROKERS - 1) }),
  fc.record({ kind: fc.constant('fetch' as const), at: fc.nat(BROKERS - 1) }),
);

class Leadership implements OffsetsLeadership {
  epoch = -1;
  constructor(readonly localBrokerId: number) {}
  leaderEpoch(partition: number): number {
    return partition === PARTITION ? this.epoch : -1;
  }
}

const commit = (offset: number) => commitRequest(-1, '', [{ topic: 't', partition: 0, offset }]);

async function fetched(coordinator: GroupCoordinator): Promise<{ errorCode: number; offset: number }> {
  const answer = await coordinator.fetchOffsets({
    groupId: GROUP,
    topics: [{ topic: 't', partitions: [0] }],
  });
  return { errorCode: answer.errorCode, offset: answer.topics[0]?.partitions[0]?.offset ?? -2 };
}

describe('group coordinators following one offsets partition (model)', () => {
  it('given random moves and commits, only the leader serves, and each new leader answers the last acknowledged commit', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 30 }), async (ops) => {
        const engine = new GatedEngine();
        await engine.createTopic(OFFSETS_TOPIC, PARTITIONS, OFFSETS_TOPIC_CONFIG);
        const leaderships = Array.from({ length: BROKERS }, (_, i) => new Leadership(i + 1));
        const coordinators: GroupCoordinator[] = [];
        for (const leadership of leaderships) {
          coordinators.push(
            await GroupCoordinator.open(engine, { leadership, offsetsPartitions: PARTITIONS }),
          );
        }
        let leader = -1;
        let epoch = -1;
        let acknowledged = -1;
        let next = 0;
        /** Moves leadership to `to`; the new leader must answer `expected` once loaded. */
        const move = async (to: number, expected = acknowledged): Promise<void> => {
          epoch++;
          if (leader >= 0) {
            leaderships[leader]!.epoch = -1;
            await coordinators[leader]!.onOffsetsPartitionState({
              partition: PARTITION,
              partitionCount: PARTITIONS,
              leading: false,
              leaderEpoch: epoch,
            });
          }
          leader = to;
          leaderships[to]!.epoch = epoch;
          await coordinators[to]!.onOffsetsPartitionState({
            partition: PARTITION,
            partitionCount: PARTITIONS,
            leading: true,
            leaderEpoch: epoch,
          });
          expect(await fetched(coordinators[to]!)).toEqual({
            errorCode: KafkaErrorCode.NONE,
            offset: expected,
          });
        };
        try {
          for (const step of ops) {
            if (step.kind === 'move') {
              await move(step.to);
            } else if (step.kind === 'commit') {
              const offset = next++;
              const [code] = codesOf(await coordinators[step.at]!.commitOffsets(commit(offset)));
              if (step.at === leader) {
                expect(code).toBe(KafkaErrorCode.NONE);
                acknowledged = offset;
              } else {
                expect(code).toBe(KafkaErrorCode.NOT_COORDINATOR);
              }
            } else if (step.kind === 'heldCommitThenMove') {
              if (leader < 0) continue;
              const offset = next++;
              engine.hold = true;
              const pending = coordinators[leader]!.commitOffsets(commit(offset));
              // The log takes it at once; its answer is held while leadership moves.
              await new Promise((resolve) => setImmediate(resolve));
              await move(step.to === leader ? (leader + 1) % BROKERS : step.to, offset);
              engine.release();
              // Durable, so acknowledged, though the old leader's memory no longer takes it.
              expect(codesOf(await pending)).toEqual([KafkaErrorCode.NONE]);
              acknowledged = offset;
            } else {
              const answer = await fetched(coordinators[step.at]!);
              if (step.at === leader)
                expect(answer).toEqual({ errorCode: KafkaErrorCode.NONE, offset: acknowledged });
              else expect(answer.errorCode).toBe(KafkaErrorCode.NOT_COORDINATOR);
            }
          }
        } finally {
          for (const coordinator of coordinators) await coordinator.close();
        }
      }),
      { numRuns: 60 },
    );
  });
});
