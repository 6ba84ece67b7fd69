import type { ConsumedRecord } from '../record/record.js';
import { PyralogClientError } from './client-errors.js';

/**
 * A live subscription to one partition as an async iterator of records.
 * Records arrive in offset order with no gap or duplicate, also across
 * reconnects: the client resubscribes from `nextOffset`. When the reader
 * falls `highWaterRecords` behind, the client pauses the socket, so memory
 * stays bounded however slowly the records are consumed.
 */
export interface SubscriptionHooks {
  pause(): void;
  resume(): void;
  unsubscribe(subscription: Subscription): void;
}

export class Subscription implements AsyncIterableIterator<ConsumedRecord> {
  /** The offset the next record must have; what a resubscription starts from. */
  nextOffset: number;
  /** The broker's id for the current server-side subscription (changes on reconnect). */
  serverId = 0;
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
    startOffset: number,
    private readonly hooks: SubscriptionHooks,
    private readonly highWaterRecords: number,
  ) {
    this.nextOffset = startOffset;
  }

  /** Called by the client with decoded records from a push (they may start below nextOffset). */
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

  fail(error: Error): void {
    this.error = error;
    this.done = true;
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
      if (this.paused && this.queue.length - this.head < this.highWaterRecords / 2) {
        this.paused = false;
        this.hooks.resume();
      }
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
      if (this.paused) this.hooks.resume();
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
