import { describe, expect, it } from 'vitest';
import {
  type ClusterChaosReport,
  runClusterChaos,
  runUncleanControl,
} from '../../tools/chaos/cluster-chaos.js';
import { etcdAvailable } from '../support/etcd.js';

/**
 * The chaos checker of issue 14 against 3 `pyralog serve` processes and 3
 * etcd members, every broker-to-etcd, broker-to-broker (one proxy per
 * follower→leader pair) and client link through a fault proxy. The nemesis
 * SIGKILLs or SIGSTOPs the leader, cuts it from etcd, from its followers or
 * from its clients, kills an etcd member, stops all of etcd, or kills the
 * controller; the checker then wants every acknowledged write at its offset
 * on every replica, no duplicates from idempotent producers, identical
 * replicas, and writes resumed within 15 s of each heal.
 *
 * In `npm test` a short form runs (about 30 s of faults) with the negative
 * control: unclean leader election on a topic whose leader acknowledged
 * writes alone must make the same checker fail. PYRALOG_CHAOS=1 runs the
 * long form (PYRALOG_CHAOS_MS of faults, default 120 s; PYRALOG_CHAOS_SEED)
 * and the control's clean twin, which must pass.
 */
const long = process.env.PYRALOG_CHAOS === '1';
const seed = Number(process.env.PYRALOG_CHAOS_SEED ?? 1);

function summary(report: ClusterChaosReport): string {
  const { result } = report;
  return JSON.stringify(
    {
      counts: report.counts,
      converged: report.converged,
      lengths: report.lengths,
      faults: report.faults,
      lost: result.lost.slice(0, 5),
      duplicates: result.duplicates.slice(0, 5),
      divergent: result.divergent.slice(0, 5),
      unexpected: result.unexpected.slice(0, 5),
      unread: result.unread,
      resumes: result.resumes.map((resume) => resume.firstAckAfterMs),
    },
    null,
    1,
  );
}

describe.skipIf(!etcdAvailable)('chaos against 3 broker processes and 3 etcd members', () => {
  it(
    'given leader, etcd and controller faults, every acknowledged write survives and replicas agree',
    async () => {
      const report = await runClusterChaos({
        seed,
        durationMs: long ? Number(process.env.PYRALOG_CHAOS_MS ?? 120_000) : 36_000,
        quietMs: 2_000,
        faultMs: 3_000,
        // The short form takes the faults in turn, so that it always covers the first ones; the long draws them.
        order: long ? 'random' : 'cycle',
        partitions: 2,
      });
      console.log(summary(report));
      expect(report.counts.ok, summary(report)).toBeGreaterThan(0);
      expect(report.faults.length, summary(report)).toBeGreaterThan(0);
      expect(report.result.valid, summary(report)).toBe(true);
    },
    300_000 + (long ? Number(process.env.PYRALOG_CHAOS_MS ?? 120_000) : 0),
  );

  it('given unclean leader election and a leader that acknowledged writes alone, when it is killed, the checker fails', async () => {
    const report = await runUncleanControl({ unclean: true });
    console.log(summary(report));
    expect(report.result.valid, summary(report)).toBe(false);
    expect(report.result.lost.length, summary(report)).toBeGreaterThan(0);
  }, 150_000);

  it.skipIf(!long)(
    'given the same schedule without unclean election, the checker passes',
    async () => {
      const report = await runUncleanControl({ unclean: false });
      console.log(summary(report));
      expect(report.result.valid, summary(report)).toBe(true);
    },
    150_000,
  );
});
