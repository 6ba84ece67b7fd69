import type { SubscribeFrom } from '../protocol/ws/ws-request.js';
import type { ConsumedRecord } from '../record/record.js';
import { PyralogClientError } from './client-errors.js';

/**
 * A live subscription to one partition as an async iterator of records.
 * Records arrive in offset order with no gap or duplicate, also across
 * reconnects: the client resubscribes from `nextOffset`. When the reader
 * falls `highWaterRecords` behind, the client pauses the socket (and so
 * everything else on that connection), so memory stays bounded however
 * slowly the records are consumed; it resumes at half that.
 */
export interface SubscriptionHooks {
  pause(): void;
  resume(): void;
  unsubscribe(subscription: Subscription): void;
}

export class Subscription implements AsyncIterableIterator<ConsumedRecord> {
  /** The offset the next record must have; -1 until the broker says where 'earliest' or 'latest' is. */
  nextOffset: number;
  /** The broker's id for the current server-side subscription (changes on reconnect). */
  serverId = 0;
  /** Whether the broker confirmed `serverId` (SUBSCRIBED arrived on the current connection). */
  confirmed = false;
  private readonly queue: ConsumedRecord[] = [];
  private head = 0;
  private waiting: ((result: IteratorResult<ConsumedRecord>) => void) | null = null;
  private failed: ((error: Error) => void) | null = null;
  private error: Error | null = null;
  private done = false;
  private paused = false;

  constructor(
    readonly topic: string,
    readonly partition: number,
    private readonly from: SubscribeFrom,
    private readonly hooks: SubscriptionHooks,
    private readonly highWaterRecords: number,
    /** 1: read_committed (sent with every (re)subscribe). */
    readonly isolationLevel: 0 | 1 = 0,
  ) {
    this.nextOffset = typeof from === 'number' ? from : -1;
  }

  /** Where a (re)subscription starts: the next offset once known, else what the caller asked for. */
  resumeFrom(): SubscribeFrom {
    return this.nextOffset >= 0 ? this.nextOffset : this.from;
  }

  /** The broker confirmed the subscription, starting at `offset`. */
  started(offset: number): void {
    this.confirmed = true;
    if (this.nextOffset < offset) this.nextOffset = offset;
  }

  /** Records from a push, decoded (the first batch may start below nextOffset: those are skipped). */
  deliver(records: readonly ConsumedRecord[], nextOffset: number): void {
    if (this.done) return;
    for (const record of records) {
      if (record.offset < this.nextOffset) continue;
      this.queue.push(record);
      this.nextOffset = record.offset + 1;
    }
    if (nextOffset > this.nextOffset) this.nextOffset = nextOffset;
    this.wake();
    if (!this.paused && this.queue.length - this.head >= this.highWaterRecords) {
      this.paused = true;
      this.hooks.pause();
    }
  }

  /** Ends the iteration with `error` once the records already queued are read. */
  fail(error: Error): void {
    if (this.done) return;
    this.error = error;
    this.done = true;
    this.hooks.unsubscribe(this);
    this.unpause();
    if (this.failed !== null) {
      const reject = this.failed;
      this.waiting = null;
      this.failed = null;
      reject(error);
    }
  }

  next(): Promise<IteratorResult<ConsumedRecord>> {
    if (this.head < this.queue.length) {
      const value = this.queue[this.head++]!;
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue.splice(0, this.head);
        this.head = 0;
      }
      if (this.paused && this.queue.length - this.head < this.highWaterRecords / 2) this.unpause();
      return Promise.resolve({ value, done: false });
    }
    if (this.error !== null) return Promise.reject(this.error);
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.waiting = resolve;
      this.failed = reject;
    });
  }

  /** Stops the subscription; a pending `next()` ends the iteration. */
  return(): Promise<IteratorResult<ConsumedRecord>> {
    if (!this.done) {
      this.done = true;
      this.hooks.unsubscribe(this);
      this.unpause();
    }
    const resolve = this.waiting;
    this.waiting = null;
    this.failed = null;
    resolve?.({ value: undefined, done: true });
    return Promise.resolve({ value: undefined, done: true });
  }

  close(): void {
    void this.return();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  get closed(): boolean {
    return this.done;
  }

  private unpause(): void {
    if (!this.paused) return;
    this.paused = false;
    this.hooks.resume();
  }

  private wake(): void {
    if (this.waiting === null || this.head >= this.queue.length) return;
    const resolve = this.waiting;
    this.waiting = null;
    this.failed = null;
    resolve({ value: this.queue[this.head++]!, done: false });
  }
}

export function disconnectedError(): PyralogClientError {
  return new PyralogClientError('DISCONNECTED', 'the connection to the broker closed');
}
