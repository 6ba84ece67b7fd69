import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import { GroupCoordinator } from '../../src/groups/group-coordinator.js';
import type { JoinGroupResult, SyncGroupResult } from '../../src/groups/group-coordinator-api.js';
import { MemoryEngine } from '../support/memory-engine.js';
import { bytes, GROUP, joinRequest } from './group-fixture.js';

/**
 * Random sequences of group requests (timeouts long enough never to fire): whatever clients do, no request
 * throws, every answer carries an expected code, the members of a generation agree on its leader and
 * protocol, and close() answers
 * everything still held.
 */
type Op =
  | { kind: 'newcomer' }
  | { kind: 'rejoin'; who: number; changed: boolean }
  | { kind: 'sync'; who: number }
  | { kind: 'heartbeat'; who: number; stale: boolean }
  | { kind: 'leave'; who: number }
  | { kind: 'commit'; who: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.constant<Op>({ kind: 'newcomer' }),
  fc.record({ kind: fc.constant('rejoin' as const), who: fc.nat(7), changed: fc.boolean() }),
  fc.record({ kind: fc.constant('sync' as const), who: fc.nat(7) }),
  fc.record({ kind: fc.constant('heartbeat' as const), who: fc.nat(7), stale: fc.boolean() }),
  fc.record({ kind: fc.constant('leave' as const), who: fc.nat(7) }),
  fc.record({ kind: fc.constant('commit' as const), who: fc.nat(7) }),
);

const JOIN_CODES = new Set<number>([
  KafkaErrorCode.NONE,
  KafkaErrorCode.UNKNOWN_MEMBER_ID,
  KafkaErrorCode.REBALANCE_IN_PROGRESS,
  KafkaErrorCode.COORDINATOR_NOT_AVAILABLE,
]);
const MEMBER_CODES = new Set<number>([
  KafkaErrorCode.NONE,
  KafkaErrorCode.UNKNOWN_MEMBER_ID,
  KafkaErrorCode.ILLEGAL_GENERATION,
  KafkaErrorCode.REBALANCE_IN_PROGRESS,
  KafkaErrorCode.COORDINATOR_NOT_AVAILABLE,
]);

describe('group state machine model', () => {
  it('given any sequence of requests, answers are well formed and close() leaves nothing held', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 40 }), async (ops) => {
        const groups = await GroupCoordinator.open(new MemoryEngine());
        const long = { sessionTimeoutMs: 60_000, rebalanceTimeoutMs: 60_000 };
        /** Member ids handed out, and the latest generation each was told. */
        const known: { memberId: string; generationId: number }[] = [];
        const joins: Promise<JoinGroupResult>[] = [];
        const syncs: Promise<SyncGroupResult>[] = [];
        // A group without members is forgotten and starts again at generation 1: count its lives.
        let life = 0;
        const byGeneration = new Map<string, { leaderId: string; protocolName: string }>();
        const record = (promise: Promise<JoinGroupResult>): void => {
          joins.push(
            promise.then((result) => {
              expect(JOIN_CODES.has(result.errorCode)).toBe(true);
              if (result.errorCode !== KafkaErrorCode.NONE) return result;
              const seen = known.find((k) => k.memberId === result.memberId);
              if (seen === undefined)
                known.push({ memberId: result.memberId, generationId: result.generationId });
              else seen.generationId = result.generationId;
              const generation = `${life}/${result.generationId}`;
              const agreed = byGeneration.get(generation);
              if (agreed === undefined) byGeneration.set(generation, result);
              else
                expect([result.leaderId, result.protocolName]).toEqual([
                  agreed.leaderId,
                  agreed.protocolName,
                ]);
              if (result.memberId === result.leaderId)
                expect(result.members.map((m) => m.memberId)).toContain(result.memberId);
              else expect(result.members).toEqual([]);
              return result;
            }),
          );
        };
        for (const step of ops) {
          const target =
            known.length === 0 ? undefined : known[step.kind === 'newcomer' ? 0 : step.who % known.length];
          switch (step.kind) {
            case 'newcomer':
              record(groups.joinGroup(joinRequest('', long)));
              break;
            case 'rejoin':
              if (target === undefined) break;
              record(
                groups.joinGroup(
                  joinRequest(target.memberId, {
                    ...long,
                    protocols: [{ name: 'range', metadata: bytes(step.changed ? 2 : 1) }],
                  }),
                ),
              );
              break;
            case 'sync':
              if (target === undefined) break;
              syncs.push(
                groups.syncGroup({
                  groupId: GROUP,
                  generationId: target.generationId,
                  memberId: target.memberId,
                  assignments: known.map((k) => ({ memberId: k.memberId, assignment: bytes(3) })),
                }),
              );
              break;
            case 'heartbeat': {
              if (target === undefined) break;
              const generationId = target.generationId - (step.stale ? 1 : 0);
              const code = await groups.heartbeat({
                groupId: GROUP,
                generationId,
                memberId: target.memberId,
              });
              expect(MEMBER_CODES.has(code)).toBe(true);
              break;
            }
            case 'leave':
              if (target === undefined) break;
              expect(MEMBER_CODES.has(await groups.leaveGroup(GROUP, target.memberId))).toBe(true);
              break;
            case 'commit': {
              if (target === undefined) break;
              const result = await groups.commitOffsets({
                groupId: GROUP,
                generationId: target.generationId,
                memberId: target.memberId,
                topics: [{ topic: 't', partitions: [{ partition: 0, offset: 1, metadata: null }] }],
              });
              expect(MEMBER_CODES.has(result.topics[0]!.partitions[0]!.errorCode)).toBe(true);
              break;
            }
          }
          // Let answers that were given settle before the next request, as a client would see them.
          await Promise.resolve();
          const state = groups.describeGroup(GROUP).state;
          expect(['Empty', 'PreparingRebalance', 'CompletingRebalance', 'Stable', 'Dead']).toContain(state);
          if (state === 'Dead' || state === 'Empty') life++;
        }
        await groups.close();
        // Everything held is answered by close(): these resolve rather than hang.
        await Promise.all(joins);
        for (const result of await Promise.all(syncs)) expect(MEMBER_CODES.has(result.errorCode)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});
