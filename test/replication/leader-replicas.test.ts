import { describe, expect, it } from 'vitest';
import { LeaderReplicas } from '../../src/replication/leader-replicas.js';

/** A leader's view of its followers (src/replication/leader-replicas.ts). */
const LAG_MS = 1000;
const view = (isr: number[], startHighWatermark = 0): LeaderReplicas =>
  new LeaderReplicas({
    localBrokerId: 1,
    leaderEpoch: 4,
    replicas: [1, 2, 3],
    isr,
    startHighWatermark,
    lagTimeMaxMs: LAG_MS,
    nowMs: 0,
  });

describe('leader replicas', () => {
  it('given in-sync followers, then the bound is the lowest fetch offset among them, never below the start, and unbounded for a leader alone', () => {
    const leader = view([1, 2, 3], 5);
    expect(leader.highWatermarkBound()).toBe(5); // nobody fetched yet: the high watermark it started with
    leader.onFollowerFetch(2, 9, 12, 10);
    expect(leader.highWatermarkBound()).toBe(5);
    leader.onFollowerFetch(3, 7, 12, 10);
    expect(leader.highWatermarkBound()).toBe(7);
    leader.onFollowerFetch(3, 3, 12, 20); // a lower offset (it truncated) never pulls the bound below a reached one
    leader.noteHighWatermark(7);
    expect(leader.highWatermarkBound()).toBe(7);
    // A follower outside the ISR does not count.
    leader.applyIsr([1, 2], 30);
    expect(leader.highWatermarkBound()).toBe(9);
    leader.applyIsr([1], 40);
    expect(leader.highWatermarkBound()).toBe(Number.POSITIVE_INFINITY);
  });

  it('given steady appends, when a follower keeps fetching from where the leader ended at its previous fetch, then it stays in; one stuck behind leaves after the lag time', () => {
    const leader = view([1, 2, 3]);
    let end = 0;
    for (let t = 0; t <= 3 * LAG_MS; t += 100) {
      end += 10; // the leader keeps growing: neither follower is ever at the very end
      leader.onFollowerFetch(2, end - 10, end, t); // follower 2 fetches from where the leader was last time
      leader.onFollowerFetch(3, 5, end, t); // follower 3 is stuck at offset 5
    }
    expect(leader.wantedIsr(3 * LAG_MS, 5)).toEqual([1, 2]);
    // Asking does not change the view: only a committed change does.
    expect(leader.isr).toEqual([1, 2, 3]);
    leader.applyIsr([1, 2], 3 * LAG_MS);
    expect(leader.isr).toEqual([1, 2]);
    // With 3 out, the high watermark follows follower 2: 3 is far below it and stays out.
    expect(leader.wantedIsr(3 * LAG_MS, end - 10)).toBeNull();
  });

  it('given a follower outside the ISR, when it fetches up to the high watermark, then the leader asks to take it back', () => {
    const leader = view([1, 2]);
    leader.onFollowerFetch(3, 8, 20, 100);
    expect(leader.wantedIsr(100, 10)).toBeNull(); // below the high watermark: not yet
    leader.onFollowerFetch(3, 10, 20, 200);
    expect(leader.wantedIsr(200, 10)).toEqual([1, 2, 3]);
    leader.applyIsr([1, 2, 3], 200);
    // Just joined: it counts from its fetch offset, at least the high watermark.
    leader.noteHighWatermark(10);
    leader.onFollowerFetch(2, 20, 20, 200);
    expect(leader.highWatermarkBound()).toBe(10);
  });
});
