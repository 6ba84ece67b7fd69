import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GroupCommit, SyncRounds, type SyncTarget } from '../../src/storage/group-commit.js';
import type { Segment } from '../../src/storage/segment.js';
import { nodeStorageIo, useStorageIo } from '../../src/storage/storage-io.js';

/** fdatasyncs the test completes by hand, in any order. */
interface HeldSync {
  fd: number;
  done: (error: Error | null) => void;
}

/** A log as group commit sees it: appends move its end; syncs and failures are recorded. */
class FakeLog implements SyncTarget {
  logEndOffset = 0;
  syncedTo = 0;
  failure: string | null = null;
  readonly commit: GroupCommit;
  private readonly segment: Segment;

  constructor(fd: number, rounds?: SyncRounds) {
    this.segment = { fd, syncing: false } as unknown as Segment;
    this.commit = new GroupCommit(this, rounds);
  }

  append(): void {
    this.logEndOffset++;
    this.commit.request();
  }

  takeDirtySegments(): Segment[] {
    return [this.segment];
  }

  onSynced(coveredOffset: number): void {
    this.syncedTo = coveredOffset;
  }

  onSyncFailed(error: Error): void {
    this.failure = error.message;
  }
}

const held: HeldSync[] = [];
let restore: () => void = () => {};

beforeEach(() => {
  held.length = 0;
  restore = useStorageIo({ ...nodeStorageIo, fdatasync: (fd, done) => held.push({ fd, done }) });
});

afterEach(() => restore());

/** Lets queued microtasks and promise continuations run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Completes the held sync of `fd` (with `error` when given). */
function complete(fd: number, error: Error | null = null): void {
  const index = held.findIndex((sync) => sync.fd === fd);
  expect(index).toBeGreaterThanOrEqual(0);
  const [sync] = held.splice(index, 1);
  sync!.done(error);
}

const heldFds = () => held.map((sync) => sync.fd).sort((a, b) => a - b);

describe('sync rounds (one shard: its logs start their syncs together)', () => {
  it('given three logs that append in one burst, then one round starts their three syncs at once', async () => {
    const rounds = new SyncRounds();
    const logs = [new FakeLog(1, rounds), new FakeLog(2, rounds), new FakeLog(3, rounds)];
    for (const log of logs) log.append();
    expect(held).toHaveLength(0); // not inside the burst: after it, in a microtask
    await settle();
    expect(heldFds()).toEqual([1, 2, 3]);
  });

  it('given a log that appends while a round runs, then its sync starts only after the last sync of that round completes', async () => {
    const rounds = new SyncRounds();
    const a = new FakeLog(1, rounds);
    const b = new FakeLog(2, rounds);
    a.append();
    b.append();
    await settle();
    complete(1);
    await settle();
    expect(a.syncedTo).toBe(1);
    a.append(); // covered by the next round, which waits for b's sync
    await settle();
    expect(heldFds()).toEqual([2]);
    complete(2);
    await settle();
    expect(b.syncedTo).toBe(1);
    expect(heldFds()).toEqual([1]);
    complete(1);
    await settle();
    expect(a.syncedTo).toBe(2);
    expect(rounds.roundCount).toBe(2);
  });

  it('given one log whose sync fails, then only that log stops and the round and the next one go on for the others', async () => {
    const rounds = new SyncRounds();
    const a = new FakeLog(1, rounds);
    const b = new FakeLog(2, rounds);
    a.append();
    b.append();
    await settle();
    complete(1, new Error('EIO'));
    b.append();
    complete(2);
    await settle();
    expect(a.failure).toBe('EIO');
    expect(b.failure).toBeNull();
    expect(b.syncedTo).toBe(1);
    expect(heldFds()).toEqual([2]); // b's second append, in the next round; a is not synced again
    complete(2);
    await settle();
    expect(b.syncedTo).toBe(2);
  });

  it('given a log waiting behind a round of another log, then idle() resolves only once its own sync has completed', async () => {
    const rounds = new SyncRounds();
    const a = new FakeLog(1, rounds);
    const b = new FakeLog(2, rounds);
    a.append();
    await settle();
    b.append();
    let idle = false;
    const waiting = b.commit.idle().then(() => {
      idle = true;
    });
    await settle();
    expect(heldFds()).toEqual([1]);
    complete(1);
    await settle();
    expect(idle).toBe(false);
    expect(heldFds()).toEqual([2]);
    complete(2);
    await waiting;
    expect(b.syncedTo).toBe(1);
  });

  it('given a flush before the round has started, then idle() starts it at once and waits for it', async () => {
    const rounds = new SyncRounds();
    const a = new FakeLog(1, rounds);
    a.append();
    const waiting = a.commit.idle();
    expect(heldFds()).toEqual([1]); // started synchronously, not in the next microtask
    complete(1);
    await waiting;
    expect(a.syncedTo).toBe(1);
  });

  it('given a sync that never completes, then a log waiting for the next round waits stragglerWaitMs at most', async () => {
    const rounds = new SyncRounds(5);
    const stuck = new FakeLog(1, rounds);
    const b = new FakeLog(2, rounds);
    stuck.append();
    b.append();
    await settle();
    complete(2);
    await settle();
    b.append();
    await settle();
    expect(heldFds()).toEqual([1]); // b waits for the round, held back by the stuck sync
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(heldFds()).toEqual([1, 2]);
    complete(2);
    await settle();
    expect(b.syncedTo).toBe(2);
    expect(stuck.syncedTo).toBe(0);
    // The straggler completes late: it changes nothing for the rounds after its own, and its log is durable.
    stuck.append();
    complete(1);
    await settle();
    expect(stuck.syncedTo).toBe(1);
    expect(heldFds()).toEqual([1]); // its second append, in a round of its own
  });

  it('given a log alone in its rounds, then appends made during its sync are synced as soon as it completes', async () => {
    const a = new FakeLog(1);
    const b = new FakeLog(2);
    a.append();
    b.append();
    await settle();
    a.append();
    complete(1); // b's sync is still running: a does not wait for it
    await settle();
    expect(a.syncedTo).toBe(1);
    expect(heldFds()).toEqual([1, 2]);
  });
});
