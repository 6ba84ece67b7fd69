import type { Segment } from './segment.js';
import { storageIo } from './storage-io.js';

/**
 * Group commit for one partition log. At most one sync is in flight; it
 * covers every append made before it started, and appends that arrive while
 * it runs are covered by the next one. So under load many appends share each
 * fdatasync, and an idle log syncs each append at once.
 *
 * A sync starts in a microtask, not inside request(): a shard appends a whole
 * burst of ring records synchronously, and one sync after the burst covers
 * all of it, where a sync started at its first append would cover only that
 * one and leave the rest of the burst waiting a whole sync longer.
 *
 * Syncs start in rounds (SyncRounds): every log of a round starts its sync at
 * once, and the next round starts when the last sync of this one has
 * completed, with every log that asked meanwhile. A log alone in its rounds
 * (the default) syncs again as soon as its sync completes. The logs of one
 * shard may share one SyncRounds (SYNC_ROUNDS_ENV), so that their syncs stay
 * in step instead of each log keeping its own rhythm: a Kafka connection
 * answers in order, so a client whose requests name several partitions waits
 * for the slowest of their syncs, and in-step syncs can finish together
 * (ext4 commits concurrent fdatasyncs in one journal transaction). Shared
 * rounds have not measured better than per-log syncs on a loaded machine
 * (bench/RESULTS.md), so they are off by default.
 *
 * The sync runs on the libuv thread pool (fs.fdatasync), so the shard's event
 * loop keeps serving other partitions, and appends to this one, meanwhile.
 * Owned by the partition's shard thread.
 */
export interface SyncTarget {
  /** Segments appended to since their last sync started. */
  takeDirtySegments(): Segment[];
  /** One past the last appended offset: what a sync started now covers. */
  readonly logEndOffset: number;
  /** Called on the owning thread when a sync completed; `coveredOffset` is exclusive. */
  onSynced(coveredOffset: number): void;
  onSyncFailed(error: Error): void;
}

/**
 * Longest a log waits for the running round of syncs (of other logs) before
 * the next round starts without the syncs still running: an fdatasync here
 * takes about a millisecond, so a round running this much longer is held by
 * a sync that is stuck or crawling.
 */
export const ROUND_STRAGGLER_WAIT_MS = 20;

/**
 * Set to `1` in a broker's environment, its shards sync their partitions in
 * rounds (SyncRounds); otherwise each partition log keeps its own rhythm.
 * A switch for side-by-side measurements: rounds did not measure better than
 * per-log syncs on a loaded machine, so they are not the default.
 */
export const SYNC_ROUNDS_ENV = 'PYRALOG_SYNC_ROUNDS';

/** Called on the owning thread after each completed sync, with its duration (ms) from start to completion. */
export type SyncObserver = (syncMs: number) => void;

function fdatasyncPromise(fd: number): Promise<void> {
  return new Promise((resolve, reject) =>
    storageIo().fdatasync(fd, (error) => (error ? reject(error) : resolve())),
  );
}

/**
 * The rounds in which a set of logs (one shard's) start their syncs. A round
 * starts in a microtask after the first request, with every log that asked;
 * while it runs, logs that ask wait for the next round, which starts as soon
 * as every sync of this one has completed (failed ones included: a failed
 * sync stops its own log only), or `stragglerWaitMs` after the first log
 * began to wait for it, whichever comes first: a log whose sync hangs or
 * crawls holds the others back by that much at most, and its sync then
 * finishes outside the rounds (its log joins a round again once it has).
 * Owned by one thread.
 */
export class SyncRounds {
  private wanting: GroupCommit[] = [];
  /** Syncs of the running round not completed yet; 0: no round is running. */
  private running = 0;
  /** The running round's number; a sync of an earlier round (a straggler left behind) counts for nothing. */
  private round = 0;
  private startScheduled = false;
  private roundDone: Promise<void> | null = null;
  private resolveRoundDone: (() => void) | null = null;
  /** Ends a round that keeps the next one waiting too long; armed when a log starts to wait. */
  private stragglerTimer: NodeJS.Timeout | null = null;
  /** The round the timer was armed for; -1: not armed. */
  private stragglerRound = -1;
  /** Rounds completed; a test and benchmark statistic. */
  roundCount = 0;
  private readonly startNow = (): void => {
    this.startScheduled = false;
    this.startRound();
  };
  private readonly stopWaiting = (): void => {
    const armedFor = this.stragglerRound;
    this.stragglerRound = -1;
    if (armedFor === this.round && this.running > 0) this.endRound();
  };

  constructor(
    /** Longest a log waits for the running round to let the next one start. */
    private readonly stragglerWaitMs = ROUND_STRAGGLER_WAIT_MS,
  ) {}

  /**
   * Puts `commit` in the next round (the caller enlists a log once per round);
   * `finishingRound`: the round whose sync of this log is ending (it enlists
   * before that sync counts as done), -1 for none.
   */
  enlist(commit: GroupCommit, finishingRound = -1): void {
    this.wanting.push(commit);
    if (this.running > 0) {
      // Waiting for other logs' syncs (not merely for its own, about to count as done).
      if (this.running > (finishingRound === this.round ? 1 : 0)) this.armStragglerTimer();
    } else if (!this.startScheduled) {
      this.startScheduled = true;
      queueMicrotask(this.startNow);
    }
  }

  /** Starts the next round now if none is running (a flush or a close that waits for it). */
  startSoon(): void {
    if (this.startScheduled) {
      this.startScheduled = false;
      this.startRound();
    }
  }

  /** Resolves when the running round (or the one about to start) has completed. */
  untilRoundDone(): Promise<void> {
    if (this.roundDone === null) {
      this.roundDone = new Promise<void>((resolve) => {
        this.resolveRoundDone = resolve;
      });
    }
    return this.roundDone;
  }

  private armStragglerTimer(): void {
    if (this.stragglerRound === this.round) return;
    this.stragglerRound = this.round;
    // One timer, re-armed at most once a round; it outlives its round (it is cheap when it finds nothing).
    if (this.stragglerTimer === null) {
      this.stragglerTimer = setTimeout(this.stopWaiting, this.stragglerWaitMs);
      this.stragglerTimer.unref();
    } else {
      this.stragglerTimer.refresh();
    }
  }

  private startRound(): void {
    if (this.running > 0 || this.wanting.length === 0) return;
    // A list per round (not per append): the round's logs may enlist again, into the new one, while it runs.
    const logs = this.wanting;
    this.wanting = [];
    this.running = logs.length;
    const round = ++this.round;
    const done = (): void => this.syncDone(round);
    for (const commit of logs) commit.startSync(round, done);
  }

  private syncDone(round: number): void {
    if (round === this.round && --this.running === 0) this.endRound();
  }

  private endRound(): void {
    this.running = 0;
    this.round++;
    this.roundCount++;
    const resolve = this.resolveRoundDone;
    this.roundDone = null;
    this.resolveRoundDone = null;
    resolve?.();
    this.startRound();
  }
}

export class GroupCommit {
  private inFlight: Promise<void> | null = null;
  private wanted = false;
  /** Waiting in its rounds for the next round to start. */
  private enlisted = false;
  /** Between startSync and the end of that sync (set before `inFlight`, which holds its promise). */
  private syncRunning = false;
  private readonly rounds: SyncRounds;
  /** Syncs completed; a test and benchmark statistic. */
  syncCount = 0;

  constructor(
    private readonly target: SyncTarget,
    /** Shared with the other logs of the thread; a log alone in its rounds when absent. */
    rounds?: SyncRounds,
    /** Told of every sync that completed, with how long it took from start to completion. */
    private readonly onSyncTimed?: SyncObserver,
  ) {
    this.rounds = rounds ?? new SyncRounds();
  }

  /** Asks for a sync covering everything appended so far. */
  request(): void {
    this.wanted = true;
    if (this.inFlight !== null || this.enlisted) return;
    this.enlisted = true;
    this.rounds.enlist(this);
  }

  /** Resolves when no sync is in flight or wanted. */
  async idle(): Promise<void> {
    for (;;) {
      if (this.inFlight !== null) {
        await this.inFlight;
      } else if (this.enlisted) {
        const done = this.rounds.untilRoundDone();
        this.rounds.startSoon();
        // Started now (inFlight is set) or behind a running round of other logs: wait for that round.
        if (this.inFlight === null) await done;
      } else {
        return;
      }
    }
  }

  /** Called by its rounds: runs one sync covering everything appended so far, then calls `done`. */
  startSync(round: number, done: () => void): void {
    this.enlisted = false;
    this.syncRunning = true;
    const sync = this.syncOnce(round, done);
    // A sync that failed before its first await has finished already: nothing is in flight.
    if (this.syncRunning) this.inFlight = sync;
  }

  private async syncOnce(round: number, done: () => void): Promise<void> {
    let failed = false;
    try {
      this.wanted = false;
      const startedMs = performance.now();
      const coveredOffset = this.target.logEndOffset;
      const segments = this.target.takeDirtySegments();
      for (const segment of segments) segment.syncing = true;
      try {
        await Promise.all(segments.map((segment) => fdatasyncPromise(segment.fd)));
      } finally {
        for (const segment of segments) segment.syncing = false;
      }
      this.syncCount++;
      this.onSyncTimed?.(performance.now() - startedMs);
      this.target.onSynced(coveredOffset);
    } catch (error) {
      failed = true;
      this.target.onSyncFailed(error instanceof Error ? error : new Error(String(error)));
    } finally {
      this.syncRunning = false;
      this.inFlight = null;
      // Appends made during this sync ride the next round (enlisted before `done` may start it).
      if (this.wanted && !failed && !this.enlisted) {
        this.enlisted = true;
        this.rounds.enlist(this, round);
      }
      done();
    }
  }
}
