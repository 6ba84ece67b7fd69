import { Piscina } from 'piscina';
import { errorMessage } from '../common/errors.js';
import { KafkaErrorCode } from '../common/kafka-error-code.js';
import { workerEntry } from '../common/worker-entry.js';
import type { BatchVerdict } from '../record/compressed-check.js';
import type { OffloadTask } from './offload-task.js';

/**
 * Runs Kafka's check of compressed batches (compressed-check.ts) on worker
 * threads of its own, so neither the acceptor nor a shard ever inflates a
 * batch. Owned by the acceptor thread (the engine calls it from `produce`).
 *
 * Handing one batch to a worker costs far more than checking a small one,
 * so batches are gathered: every batch asked for in one turn of the event
 * loop (one socket read can carry many produce requests) goes to a worker as
 * one task, packed back to back into one buffer that is transferred, not
 * cloned. A group also closes once it holds GROUP_BYTES_MAX (1 MiB), so one task
 * stays small enough to spread over the threads.
 */
interface Waiting {
  resolve: (verdict: BatchVerdict) => void;
}

const GROUP_BYTES_MAX = 1024 * 1024;

export class CompressedBatchChecker {
  /** Batches checked, refused, and recompressed into their topic's codec, since start (acceptor-side counters). */
  checkedBatches = 0;
  refusedBatches = 0;
  recompressedBatches = 0;
  private readonly pool: Piscina;
  private group: Uint8Array[] = [];
  private earliestMs: number[] = [];
  private latestMs: number[] = [];
  private targetCodecs: number[] = [];
  private requireKeys: boolean[] = [];
  private waiting: Waiting[] = [];
  private groupBytes = 0;
  private flushScheduled = false;

  constructor(
    threads: number,
    private readonly maxDecompressedBytes: number,
  ) {
    const entry = workerEntry('offload');
    this.pool = new Piscina({
      filename: entry.filename,
      workerData: entry.bootData,
      minThreads: 1,
      maxThreads: Math.max(1, threads),
      idleTimeout: 60_000,
    });
  }

  /** Resolves once a checker thread has loaded its modules (the codecs): see OffloadPool.ready. */
  async ready(): Promise<void> {
    await this.pool.run({ kind: 'warm' } satisfies OffloadTask);
  }

  /** Resolves with the batch's verdict; never rejects (a failed worker answers every batch it held with an error). */
  check(
    batch: Uint8Array,
    earliestMs: number,
    latestMs: number,
    targetCodec: number,
    requireKeys = false,
  ): Promise<BatchVerdict> {
    return new Promise((resolve) => {
      this.group.push(batch);
      this.targetCodecs.push(targetCodec);
      this.requireKeys.push(requireKeys);
      this.earliestMs.push(earliestMs);
      this.latestMs.push(latestMs);
      this.waiting.push({ resolve });
      this.groupBytes += batch.length;
      if (this.groupBytes >= GROUP_BYTES_MAX) {
        this.flush();
      } else if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    const batches = this.group;
    const waiting = this.waiting;
    if (batches.length === 0) return;
    const earliestMs = this.earliestMs;
    const latestMs = this.latestMs;
    const targetCodecs = this.targetCodecs;
    const requireKeys = this.requireKeys;
    this.targetCodecs = [];
    this.requireKeys = [];
    this.group = [];
    this.waiting = [];
    this.earliestMs = [];
    this.latestMs = [];
    // One copy, into a buffer that moves to the worker: cloning the views would copy whole socket buffers.
    const packed = new Uint8Array(this.groupBytes);
    this.groupBytes = 0;
    const ends: number[] = [];
    let at = 0;
    for (const batch of batches) {
      packed.set(batch, at);
      at += batch.length;
      ends.push(at);
    }
    const task = {
      kind: 'check-batches' as const,
      group: {
        packed,
        ends,
        earliestMs,
        latestMs,
        targetCodecs,
        requireKeys,
        maxDecompressedBytes: this.maxDecompressedBytes,
      },
    };
    this.pool.run(task, { transferList: [packed.buffer] }).then(
      (verdicts: BatchVerdict[]) => {
        for (let i = 0; i < waiting.length; i++) {
          const verdict = verdicts[i]!;
          this.checkedBatches++;
          if (verdict.errorCode !== KafkaErrorCode.NONE) this.refusedBatches++;
          else if (verdict.converted !== null) this.recompressedBatches++;
          waiting[i]!.resolve(verdict);
        }
      },
      (error: unknown) => {
        const verdict = {
          errorCode: KafkaErrorCode.UNKNOWN_SERVER_ERROR,
          message: `compressed batch check failed: ${errorMessage(error)}`,
          converted: null,
        };
        this.checkedBatches += waiting.length;
        this.refusedBatches += waiting.length;
        for (const entry of waiting) entry.resolve(verdict);
      },
    );
  }

  async close(): Promise<void> {
    this.flush();
    await this.pool.destroy();
  }
}
