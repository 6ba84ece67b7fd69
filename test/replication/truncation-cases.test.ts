import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_TOPIC_CONFIG } from '../../src/common/broker-config.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { truncationStep } from '../../src/replication/truncation.js';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { makeTempDir } from '../support/temp-dir.js';

/**
 * The returning replica's truncation (src/replication/truncation.ts) on real
 * logs, in the cases KIP-101 and KIP-279 were written for. Each replica is a
 * PartitionLog; a leader's batches reach a follower as a follower fetch would
 * carry them (appendAsFollower keeps their offsets and epochs).
 */
const batch = (value: string): Uint8Array =>
  buildRecordBatch([{ key: null, value: new TextEncoder().encode(value) }]);

/** The truncations one follower makes against `leader`, then its catch-up; returns the offsets it cut to. */
async function rejoin(leader: PartitionLog, follower: PartitionLog): Promise<number[]> {
  const cuts: number[] = [];
  for (let round = 0; round < 16; round++) {
    const step = truncationStep(leader.endOffsetForEpoch(follower.latestEpoch), follower);
    cuts.push(await follower.truncateTo(step.truncateTo));
    if (step.done) break;
  }
  while (follower.logEndOffset < leader.logEndOffset) {
    follower.appendAsFollower(leader.read(follower.logEndOffset, 1 << 20).slice(), 1);
  }
  return cuts;
}

function contents(log: PartitionLog): string {
  const parts: string[] = [];
  for (let offset = 0; offset < log.logEndOffset; offset++) {
    parts.push(Buffer.from(log.read(offset, 1 << 20)).toString('base64'));
  }
  return parts.join('|');
}

describe('truncation of a returning replica', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  });
  const open = (): PartitionLog => {
    const temp = makeTempDir('truncation');
    cleanups.push(temp.cleanup);
    return PartitionLog.open({ dir: temp.dir, config: DEFAULT_TOPIC_CONFIG, fsync: 'never' });
  };
  /** Leader-side append of `value` at `epoch`; returns the batch as stored (for followers). */
  const lead = (log: PartitionLog, epoch: number, value: string): Uint8Array => {
    log.setLeaderEpoch(epoch);
    const offset = log.logEndOffset;
    log.append(batch(value), 1);
    return log.read(offset, 1 << 20).slice();
  };

  it('KIP-101 scenario 1: a follower that restarts with a stale high watermark keeps what the leader has, and nothing is lost when it then leads', async () => {
    const a = open();
    const b = open();
    // A leads epoch 0 with m1, m2; B has both but learned only HW 1 before it restarted.
    b.appendAsFollower(lead(a, 0, 'm1'), 1);
    b.appendAsFollower(lead(a, 0, 'm2'), 1);
    b.setReplicationBound(1);
    // HW truncation would cut m2 here; epochs do not.
    expect(await rejoin(a, b)).toEqual([2]);
    // A dies; B leads epoch 1 and writes m3; A returns as a follower.
    lead(b, 1, 'm3');
    expect(await rejoin(b, a)).toEqual([2]);
    expect(contents(a)).toBe(contents(b));
    expect(a.logEndOffset).toBe(3);
  });

  it('KIP-101 scenario 2: logs that diverged after both replicas lost power converge on the new leader', async () => {
    const a = open();
    const b = open();
    b.appendAsFollower(lead(a, 0, 'm1'), 1);
    lead(a, 0, 'm2'); // A had m2, B never fetched it
    // B comes back first and leads epoch 1, writing m3 at offset 1 where A holds m2.
    lead(b, 1, 'm3');
    expect(await rejoin(b, a)).toEqual([1]);
    expect(contents(a)).toBe(contents(b));
    expect(a.epochEntries()).toEqual([
      { epoch: 0, startOffset: 0 },
      { epoch: 1, startOffset: 1 },
    ]);
  });

  it('KIP-279: a follower with an epoch the new leader never had truncates to where their common epoch ends', async () => {
    const a = open();
    const b = open();
    b.appendAsFollower(lead(a, 1, 'm1'), 1);
    lead(a, 1, 'm2'); // offset 1, epoch 1: only A has it
    lead(b, 2, 'm3'); // B led epoch 2 briefly: offset 1, epoch 2, never replicated
    a.setLeaderEpoch(3); // A leads again, at epoch 3, without ever having seen epoch 2
    // B asks where epoch 2 ends: A answers with epoch 1 (the largest it has below 2) ending at 2.
    expect(a.endOffsetForEpoch(2)).toEqual({ leaderEpoch: 1, endOffset: 2 });
    expect(await rejoin(a, b)).toEqual([1]);
    expect(contents(b)).toBe(contents(a));
  });

  it('KIP-279: when the follower lacks the epoch the leader answers with, it cuts to its own and asks again until they agree', async () => {
    const a = open();
    const b = open();
    b.appendAsFollower(lead(a, 0, 'm0'), 1);
    lead(a, 2, 'm1');
    lead(a, 2, 'm2');
    lead(b, 1, 'x1');
    lead(b, 3, 'x2');
    a.setLeaderEpoch(5);
    // Round 1: A says epoch 2 ends at 3; B has no epoch 2, its epoch 1 ends at 2: cut to 2, ask with 1.
    // Round 2: A says epoch 0 ends at 1; B agrees: cut to 1. Then B fetches m1, m2.
    expect(await rejoin(a, b)).toEqual([2, 1]);
    expect(contents(b)).toBe(contents(a));
    // B knows epoch 5 once a batch of it reaches it; none has been written yet.
    expect(b.epochEntries()).toEqual([
      { epoch: 0, startOffset: 0 },
      { epoch: 2, startOffset: 1 },
    ]);
  });
});
