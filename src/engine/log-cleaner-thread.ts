import { Worker } from 'node:worker_threads';
import { workerEntry } from '../common/worker-entry.js';
import type { CleanJob, CleanOutcome } from '../storage/log-cleaner.js';

/**
 * The log cleaner's thread, owned by one shard: the shard hands it one job at
 * a time (closed segments of one compacted partition, log-compaction.ts) and
 * swaps the result in itself. Started at the first job, so a shard without
 * compacted topics never starts it. postMessage carries only the job and the
 * outcome (a few numbers per segment); the records never cross threads.
 */
export type CleanerMessage =
  | { kind: 'clean'; id: number; job: CleanJob }
  | { kind: 'cleaned'; id: number; outcome: CleanOutcome }
  | { kind: 'failed'; id: number; message: string };

export class LogCleanerThread {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (outcome: CleanOutcome) => void; reject: (error: Error) => void }
  >();

  run(job: CleanJob): Promise<CleanOutcome> {
    const worker = this.worker ?? this.start();
    const id = this.nextId++;
    return new Promise<CleanOutcome>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ kind: 'clean', id, job } satisfies CleanerMessage);
    });
  }

  /** Stops the thread; a job in flight fails (its `.cleaned` files are removed by the next open). */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    if (worker !== null) await worker.terminate();
    this.failAll(new Error('log cleaner stopped'));
  }

  private start(): Worker {
    const entry = workerEntry('log-cleaner');
    const worker = new Worker(entry.filename, {
      workerData: { ...entry.bootData },
      name: 'pyralog-log-cleaner',
    });
    // Never keeps the process (or its shard) alive by itself.
    worker.unref();
    worker.on('message', (message: CleanerMessage) => {
      const waiter = this.pending.get(message.id);
      if (waiter === undefined) return;
      this.pending.delete(message.id);
      if (message.kind === 'cleaned') waiter.resolve(message.outcome);
      else if (message.kind === 'failed') waiter.reject(new Error(message.message));
    });
    const lost = (error: Error) => {
      if (this.worker === worker) this.worker = null;
      this.failAll(error);
    };
    worker.on('error', lost);
    worker.on('exit', (code) => lost(new Error(`log cleaner thread exited (${code})`)));
    this.worker = worker;
    return worker;
  }

  private failAll(error: Error): void {
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
  }
}
