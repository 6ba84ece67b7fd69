import { Piscina } from 'piscina';
import { workerEntry } from '../common/worker-entry.js';
import type {
  ArrowTaskInput,
  OffloadTask,
  RecordWindowInput,
  RecordWindowResult,
  SegmentVerification,
} from './offload-task.js';

/**
 * The piscina pool for off-path CPU work (Arrow encoding, decompression,
 * full-segment verification). Owned by the acceptor thread. Its size is small
 * on purpose: it shares the cores with the shards and must not starve them.
 */
export class OffloadPool {
  private readonly pool: Piscina;

  constructor(threads: number) {
    const entry = workerEntry('offload');
    this.pool = new Piscina({
      filename: entry.filename,
      workerData: entry.bootData,
      minThreads: 1,
      maxThreads: Math.max(1, threads),
      idleTimeout: 30_000,
    });
  }

  /**
   * Resolves once a worker of the pool has loaded its modules (codecs, Arrow): about half a second of
   * CPU that would otherwise land on the first requests of a fresh broker, beside the shards on the
   * same cores. The broker waits for it before it opens its listeners.
   */
  async ready(): Promise<void> {
    await this.pool.run({ kind: 'warm' } satisfies OffloadTask);
  }

  encodeArrow(input: ArrowTaskInput): Promise<Uint8Array> {
    return this.run({ kind: 'arrow', input }) as Promise<Uint8Array>;
  }

  decompress(codec: number, compressed: Uint8Array): Promise<Uint8Array> {
    return this.run({ kind: 'decompress', codec, compressed }) as Promise<Uint8Array>;
  }

  /** Decodes a window of records off the acceptor: batches that are compressed must be inflated first. */
  recordWindow(input: RecordWindowInput): Promise<RecordWindowResult> {
    return this.run({ kind: 'record-window', input }) as Promise<RecordWindowResult>;
  }

  verifySegment(path: string): Promise<SegmentVerification> {
    return this.run({ kind: 'verify-segment', path }) as Promise<SegmentVerification>;
  }

  private run(task: OffloadTask): Promise<unknown> {
    return this.pool.run(task);
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
