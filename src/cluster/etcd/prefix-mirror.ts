import type { EtcdClient } from './etcd-client.js';
import { type Watch, type WatchEvent, watchPrefix } from './etcd-watch.js';
import type { KeyValue } from './etcd-wire.js';

/**
 * A copy in memory of every key under an etcd prefix, for the broker's shared security state (ACLs,
 * users): a read of the prefix, then a watch from the revision after it. When the watch breaks or
 * etcd compacted past it, the prefix is read again after a delay (the owner keeps what it has
 * meanwhile) and the owner is given the whole snapshot again; nothing is inferred from a partial
 * history. Owned by the acceptor thread.
 */
export interface PrefixMirrorHandlers {
  /**
   * Before a snapshot is applied: may write to etcd (e.g. seed an empty prefix) and answer true to
   * have the prefix read again. Optional.
   */
  beforeSnapshot?(kvs: readonly KeyValue[]): Promise<boolean>;
  /** Every key under the prefix at one revision (the first read, and each read after a break). */
  onSnapshot(kvs: readonly KeyValue[]): void;
  /** Changes after the snapshot, in order. */
  onEvents(events: readonly WatchEvent[]): void;
  /** What went wrong (a log line); the mirror retries by itself. */
  onError(message: string): void;
}

const DEFAULT_RETRY_DELAY_MS = 500;

export class PrefixMirror {
  private watch: Watch | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  /** Bumped by each read of the prefix; events of an older watch are ignored. */
  private generation = 0;
  private loadedOnce = false;
  private readonly loadWaiters: (() => void)[] = [];

  constructor(
    private readonly client: EtcdClient,
    readonly prefix: string,
    private readonly handlers: PrefixMirrorHandlers,
    private readonly retryDelayMs = DEFAULT_RETRY_DELAY_MS,
  ) {}

  /** Whether a snapshot was applied at least once. */
  get loaded(): boolean {
    return this.loadedOnce;
  }

  start(): void {
    this.loadReported();
  }

  /**
   * load() catches etcd's failures and the handlers' throws itself; only a throw of onError (its
   * catch) gets here, and is reported on the process's warning channel before a read again later.
   */
  private loadReported(): void {
    const generation = this.generation + 1;
    this.load().catch((error: unknown) => {
      process.emitWarning(`etcd mirror of ${this.prefix} failed: ${String(error)}`);
      this.again(generation, null);
    });
  }

  /** Resolves true once the first snapshot was applied, false when `timeoutMs` passed first. */
  waitLoaded(timeoutMs: number): Promise<boolean> {
    if (this.loadedOnce) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.loadWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.watch?.cancel();
    this.watch = null;
  }

  private async load(): Promise<void> {
    if (this.stopped) return;
    const generation = ++this.generation;
    try {
      let read = await this.client.range(this.prefix, { prefix: true });
      if (this.handlers.beforeSnapshot !== undefined && (await this.handlers.beforeSnapshot(read.kvs))) {
        read = await this.client.range(this.prefix, { prefix: true });
      }
      if (this.stopped || generation !== this.generation) return;
      this.handlers.onSnapshot(read.kvs);
      this.loadedOnce = true;
      for (const waiter of this.loadWaiters.splice(0)) waiter();
      this.watch = watchPrefix(this.client, this.prefix, read.revision + 1, {
        onEvents: (events) => {
          if (generation === this.generation) this.handlers.onEvents(events);
        },
        onCompacted: () => this.again(generation, `etcd compacted past the watch on ${this.prefix}`),
        onBroken: (reason) => this.again(generation, `the watch on ${this.prefix} broke: ${reason}`),
      });
    } catch (error) {
      this.handlers.onError(`reading ${this.prefix} from etcd: ${(error as Error).message}`);
      this.again(generation, null);
    }
  }

  /** Reads everything again after a delay. */
  private again(generation: number, reason: string | null): void {
    if (this.stopped || generation !== this.generation) return;
    if (reason !== null) this.handlers.onError(`${reason}; reading it again`);
    this.watch = null;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.loadReported();
    }, this.retryDelayMs);
  }
}
