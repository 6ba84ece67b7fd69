import { Worker } from 'node:worker_threads';
import { workerEntry } from '../common/worker-entry.js';
import type { FinalizeOutcome, FinalizeRequest } from '../storage/clean-finalize.js';
import type { CleanJob, CleanOutcome } from '../storage/log-cleaner.js';

/**
 * The log cleaner's thread, owned by one shard: the shard hands it one job at
 * a time (closed segments of one compacted partition, log-compaction.ts); the
 * thread cleans and prepares the swap, the shard commits it (a rename and a
 * pointer swap per segment) and hands the rest back here (`finalize`: the
 * directory syncs and the index files' renames). Started at the first job, so
 * a shard without compacted topics never starts it. The thread runs at
 * LOG_CLEANER_NICE, so its CPU goes to the shards first. postMessage carries
 * only the job, the outcome (a few numbers per segment and the cleaned
 * segments' index arrays, transferred, not copied) and the finalize; the
 * records never cross threads.
 */
export type CleanerMessage =
  | { kind: 'clean'; id: number; job: CleanJob }
  | { kind: 'finalize'; id: number; request: FinalizeRequest }
  | { kind: 'cleaned'; id: number; outcome: CleanOutcome; cpuNs: number }
  | { kind: 'finalized'; id: number; outcome: FinalizeOutcome }
  | { kind: 'failed'; id: number; message: string }
  /** Sent once when the thread starts: its Linux thread id (-1 unknown) and whether its priority was lowered. */
  | { kind: 'started'; threadId: number; lowered: boolean };

/** The cleaner thread's nice value: the lowest priority, as Kafka's cleaner has none and ours must never starve a shard. */
export const LOG_CLEANER_NICE = 19;

/** A finished clean: the outcome, and the CPU the cleaner thread spent on it (-1 when unknown). */
export interface CleanReport {
  readonly outcome: CleanOutcome;
  readonly cpuNs: number;
}

type Reply = Extract<CleanerMessage, { kind: 'cleaned' | 'finalized' }>;

export class LogCleanerThread {
  private worker: Worker | null = null;
  private nextId = 1;
  /** The running thread's Linux thread id once it said so; -1 before, or where unknown. */
  threadId = -1;
  private readonly pending = new Map<
    number,
    { resolve: (reply: Reply) => void; reject: (error: Error) => void }
  >();

  async run(job: CleanJob): Promise<CleanReport> {
    const reply = await this.send((id) => ({ kind: 'clean', id, job }));
    if (reply.kind !== 'cleaned') throw new Error(`log cleaner answered a clean with ${reply.kind}`);
    return { outcome: reply.outcome, cpuNs: reply.cpuNs };
  }

  async finalize(request: FinalizeRequest): Promise<FinalizeOutcome> {
    const reply = await this.send((id) => ({ kind: 'finalize', id, request }));
    if (reply.kind !== 'finalized') throw new Error(`log cleaner answered a finalize with ${reply.kind}`);
    return reply.outcome;
  }

  /** Stops the thread; work in flight fails (its `.cleaned` files are removed by the next open). */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    if (worker !== null) await worker.terminate();
    this.failAll(new Error('log cleaner stopped'));
  }

  private send(message: (id: number) => CleanerMessage): Promise<Reply> {
    const worker = this.worker ?? this.start();
    const id = this.nextId++;
    return new Promise<Reply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage(message(id));
    });
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
      if (message.kind === 'started') {
        this.threadId = message.threadId;
        return;
      }
      if (message.kind === 'clean' || message.kind === 'finalize') return;
      const waiter = this.pending.get(message.id);
      if (waiter === undefined) return;
      this.pending.delete(message.id);
      if (message.kind === 'failed') waiter.reject(new Error(message.message));
      else waiter.resolve(message);
    });
    const lost = (error: Error) => {
      if (this.worker === worker) {
        this.worker = null;
        this.threadId = -1;
      }
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
