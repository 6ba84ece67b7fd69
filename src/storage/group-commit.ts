import type { Segment } from './segment.js';
import { storageIo } from './storage-io.js';

/**
 * Group commit for one partition log. At most one sync is in flight; it
 * covers every append made before it started, and appends that arrive while
 * it runs are covered by the next one, started as soon as it completes. So
 * under load many appends share each fdatasync, and an idle log syncs each
 * append at once.
 *
 * A sync starts in a microtask, not inside request(): a shard appends a whole
 * burst of ring records synchronously, and one sync after the burst covers
 * all of it, where a sync started at its first append would cover only that
 * one and leave the rest of the burst waiting a whole sync longer.
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

function fdatasyncPromise(fd: number): Promise<void> {
  return new Promise((resolve, reject) =>
    storageIo().fdatasync(fd, (error) => (error ? reject(error) : resolve())),
  );
}

export class GroupCommit {
  private inFlight: Promise<void> | null = null;
  private wanted = false;
  private startScheduled = false;
  private readonly startNow = (): void => {
    this.startScheduled = false;
    if (this.inFlight === null && this.wanted) this.inFlight = this.run();
  };
  /** Syncs completed; a test and benchmark statistic. */
  syncCount = 0;

  constructor(private readonly target: SyncTarget) {}

  /** Asks for a sync covering everything appended so far. */
  request(): void {
    this.wanted = true;
    if (this.inFlight !== null || this.startScheduled) return;
    this.startScheduled = true;
    queueMicrotask(this.startNow);
  }

  /** Resolves when no sync is in flight or wanted. */
  async idle(): Promise<void> {
    if (this.startScheduled) this.startNow();
    while (this.inFlight !== null) await this.inFlight;
  }

  private async run(): Promise<void> {
    try {
      do {
        this.wanted = false;
        const coveredOffset = this.target.logEndOffset;
        const segments = this.target.takeDirtySegments();
        for (const segment of segments) segment.syncing = true;
        try {
          await Promise.all(segments.map((segment) => fdatasyncPromise(segment.fd)));
        } finally {
          for (const segment of segments) segment.syncing = false;
        }
        this.syncCount++;
        this.target.onSynced(coveredOffset);
      } while (this.wanted);
    } catch (error) {
      this.target.onSyncFailed(error instanceof Error ? error : new Error(String(error)));
    } finally {
      this.inFlight = null;
    }
  }
}
