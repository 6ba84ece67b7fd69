import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PartitionRecord } from '../../src/cluster/cluster-records.js';
import { electLeader } from '../../src/cluster/leader-election.js';

/** A partition record over brokers 0..5 with a consistent shape, and a set of live brokers with epochs. */
const scenario = fc
  .record({
    replicas: fc.uniqueArray(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 4 }),
    isrMask: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
    leaderIndex: fc.integer({ min: -1, max: 3 }),
    leaderEpoch: fc.integer({ min: 0, max: 50 }),
    leaderBrokerEpoch: fc.integer({ min: 1, max: 3 }),
    liveEpochs: fc.array(fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }), {
      minLength: 6,
      maxLength: 6,
    }),
    unclean: fc.boolean(),
  })
  .map(({ replicas, isrMask, leaderIndex, leaderEpoch, leaderBrokerEpoch, liveEpochs, unclean }) => {
    const leader = leaderIndex >= 0 && leaderIndex < replicas.length ? replicas[leaderIndex]! : -1;
    const isr = replicas.filter((id, index) => id === leader || isrMask[index] === true);
    const record: PartitionRecord = {
      topicId: 1,
      topic: 't',
      partition: 0,
      replicas,
      leader,
      leaderEpoch,
      isr: leader === -1 && isr.length === 0 ? [replicas[0]!] : isr,
      leaderBrokerEpoch: leader === -1 ? -1 : leaderBrokerEpoch,
    };
    const live = new Map<number, number>();
    liveEpochs.forEach((epoch, id) => {
      if (epoch !== undefined) live.set(id, epoch);
    });
    return { record, live, unclean };
  });

function leaderAlive(record: PartitionRecord, live: ReadonlyMap<number, number>): boolean {
  return record.leader !== -1 && live.get(record.leader) === record.leaderBrokerEpoch;
}

describe('electLeader (the controller rule)', () => {
  it('given a live leader under its epoch, should change nothing', () => {
    fc.assert(
      fc.property(scenario, ({ record, live, unclean }) => {
        if (leaderAlive(record, live)) expect(electLeader(record, live, unclean)).toBeNull();
      }),
      { numRuns: 500 },
    );
  });

  it('given any state, should only ever elect a live broker, from the ISR unless unclean election is on', () => {
    fc.assert(
      fc.property(scenario, ({ record, live, unclean }) => {
        const next = electLeader(record, live, unclean);
        if (next === null) return;
        expect(next.leaderEpoch).toBe(record.leaderEpoch + 1);
        expect(next.replicas).toEqual(record.replicas);
        if (next.leader === -1) {
          expect(next.isr).toEqual(record.isr);
          expect(next.leaderBrokerEpoch).toBe(-1);
          return;
        }
        expect(live.get(next.leader)).toBe(next.leaderBrokerEpoch);
        expect(next.isr).toContain(next.leader);
        for (const id of next.isr) expect(next.replicas).toContain(id);
        if (!unclean) {
          expect(record.isr).toContain(next.leader);
          for (const id of next.isr) expect(record.isr).toContain(id);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('given a live ISR member and a dead leader, should never leave the partition offline', () => {
    fc.assert(
      fc.property(scenario, ({ record, live, unclean }) => {
        if (leaderAlive(record, live)) return;
        if (!record.isr.some((id) => live.has(id))) return;
        const next = electLeader(record, live, unclean);
        expect(next?.leader ?? -2).not.toBe(-1);
      }),
      { numRuns: 500 },
    );
  });

  it('given a leader that restarted (new broker epoch) and another live ISR member, should prefer the other', () => {
    const record: PartitionRecord = {
      topicId: 1,
      topic: 't',
      partition: 0,
      replicas: [1, 2, 3],
      leader: 1,
      leaderEpoch: 4,
      isr: [1, 2, 3],
      leaderBrokerEpoch: 10,
    };
    const next = electLeader(
      record,
      new Map([
        [1, 20],
        [2, 11],
        [3, 12],
      ]),
      false,
    )!;
    expect(next.leader).toBe(2);
    expect(next.isr).toEqual([2, 3]);
    expect(next.leaderEpoch).toBe(5);
    // The restarted broker alone: it leads again, but under a new epoch.
    const alone = electLeader({ ...record, isr: [1] }, new Map([[1, 20]]), false)!;
    expect(alone).toMatchObject({ leader: 1, leaderEpoch: 5, leaderBrokerEpoch: 20, isr: [1] });
  });

  it('given no live ISR member, should go offline once and then stay unchanged', () => {
    const record: PartitionRecord = {
      topicId: 1,
      topic: 't',
      partition: 0,
      replicas: [1, 2],
      leader: 1,
      leaderEpoch: 0,
      isr: [1],
      leaderBrokerEpoch: 5,
    };
    const live = new Map([[2, 7]]);
    const offline = electLeader(record, live, false)!;
    expect(offline).toMatchObject({ leader: -1, leaderEpoch: 1, isr: [1] });
    expect(electLeader(offline, live, false)).toBeNull();
    // When the ISR member returns, it leads.
    expect(
      electLeader(
        offline,
        new Map([
          [1, 9],
          [2, 7],
        ]),
        false,
      ),
    ).toMatchObject({ leader: 1, leaderEpoch: 2 });
    // With unclean election, the live outsider leads alone.
    expect(electLeader(record, live, true)).toMatchObject({ leader: 2, isr: [2], leaderEpoch: 1 });
  });
});
