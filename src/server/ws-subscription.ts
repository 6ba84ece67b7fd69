import { PyralogError } from '../common/errors.js';
import { KafkaErrorCode, kafkaErrorName } from '../common/kafka-error-code.js';
import type { Offset } from '../common/offset.js';
import type { Engine, FetchPartitionRequest, IsolationLevel } from '../engine/engine-api.js';
import { FrontDoorProblem, fromKafkaCode } from '../protocol/front-door-errors.js';
import { WsOpCode } from '../protocol/ws/binary-frame.js';
import { WsError, type WsErrorKind } from '../protocol/ws/ws-error-code.js';
import type { ValueEncoding } from '../protocol/ws/ws-request.js';
import { maskAbortedBatches } from '../record/aborted-batches.js';
import type { WsMode, WsReplies } from './ws-replies.js';

/**
 * One live subscription on one WebSocket connection (acceptor thread): a loop
 * of long-poll fetches over all its partitions, pushing each partition's new
 * batches as RECORDS frames, in offset order and without gaps.
 *
 * Backpressure: before every fetch the loop waits until the connection's
 * send buffer is under the session's high-water mark (uWS `drain` wakes it),
 * and each fetch asks for at most `pushFetchBytes`. So a client that stops
 * reading costs at most one fetch per subscription of memory, and never
 * holds up another connection: the loops of other connections do not wait
 * on this one.
 */
export const SUBSCRIBE_POLL_MS = 1000;
/** How long a loop waits before retrying partitions whose shard is unavailable. */
const RETRY_DELAY_MS = 100;

/** Bytes one push fetch asks for: smaller in JSON, whose text can be several times the batch bytes. */
export function pushFetchBytes(mode: WsMode, fetchMaxBytes: number): number {
  return Math.min(fetchMaxBytes, mode === 'binary' ? 512 * 1024 : 128 * 1024);
}

export interface SubscriptionHost {
  readonly engine: Engine;
  readonly maxWaitMsMax: number;
  readonly fetchMaxBytes: number;
  readonly replies: WsReplies;
  /** Resolves when the connection's send buffer is under its high-water mark (or it closed). */
  waitForRoom(): Promise<void>;
  /** The subscription stopped by itself (after sending an ERROR with its id). */
  stopped(subscription: WsSubscription): void;
}

interface Cursor {
  partition: number;
  offset: number;
}

export class WsSubscription {
  private active = true;
  private readonly cursors: Cursor[];
  private rotation = 0;

  constructor(
    readonly id: number,
    readonly mode: WsMode,
    private readonly encoding: ValueEncoding,
    private readonly topic: string,
    starts: readonly Cursor[],
    private readonly host: SubscriptionHost,
    /** 1: read_committed pushes (below the last stable offset, aborted data masked as markers). */
    private readonly isolationLevel: IsolationLevel = 0,
  ) {
    this.cursors = starts.map((start) => ({ partition: start.partition, offset: start.offset }));
  }

  stop(): void {
    this.active = false;
  }

  /** Runs until stopped or failed; never rejects. */
  async run(): Promise<void> {
    const { engine, replies } = this.host;
    const maxBytes = pushFetchBytes(this.mode, this.host.fetchMaxBytes);
    const maxWaitMs = Math.min(SUBSCRIBE_POLL_MS, this.host.maxWaitMsMax);
    const requests: FetchPartitionRequest[] = this.cursors.map((cursor) => ({
      topic: this.topic,
      partition: cursor.partition,
      offset: cursor.offset as Offset,
      maxBytes,
    }));
    // The cursor of each fetch entry, in this round's order: one array for the subscription's life.
    const order: Cursor[] = new Array(this.cursors.length);
    while (this.active) {
      await this.host.waitForRoom();
      if (!this.active) return;
      // Rotate the partitions so that a busy one cannot take every fetch's byte budget for ever.
      for (let i = 0; i < this.cursors.length; i++) {
        const cursor = this.cursors[(i + this.rotation) % this.cursors.length]!;
        const request = requests[i]!;
        request.partition = cursor.partition;
        request.offset = cursor.offset as Offset;
        order[i] = cursor;
      }
      this.rotation = (this.rotation + 1) % this.cursors.length;
      let outcome: Awaited<ReturnType<Engine['fetch']>>;
      try {
        outcome = await engine.fetch({
          isolationLevel: this.isolationLevel,
          partitions: requests,
          maxWaitMs,
          minBytes: 1,
          maxBytes,
        });
      } catch (error) {
        this.fail(WsError.INTERNAL, `subscription to ${this.topic} stopped: ${(error as Error).message}`);
        return;
      }
      if (!this.active) return;
      let retry = false;
      for (let i = 0; i < order.length; i++) {
        const cursor = order[i]!;
        const result = outcome.partitions[i]!;
        if (result.errorCode !== KafkaErrorCode.NONE) {
          if (fromKafkaCode(result.errorCode) === WsError.UNAVAILABLE) {
            retry = true; // a shard restarting or busy: the same offset again, shortly
            continue;
          }
          this.fail(
            fromKafkaCode(result.errorCode),
            `subscription to ${this.topic}-${cursor.partition} stopped at offset ${cursor.offset}: ${kafkaErrorName(result.errorCode)}`,
          );
          return;
        }
        if (result.records.length === 0) continue;
        let next: number;
        try {
          const sent = replies.records(
            this.mode,
            WsOpCode.RECORDS,
            this.id,
            cursor.partition,
            result.highWatermark,
            cursor.offset,
            this.isolationLevel === 1
              ? maskAbortedBatches(result.records, result.abortedTransactions)
              : result.records,
            this.encoding,
          );
          // Compressed batches in JSON mode are decoded off the acceptor: wait, so pushes keep their order.
          next = typeof sent === 'number' ? sent : await sent;
        } catch (error) {
          const kind =
            error instanceof PyralogError
              ? fromKafkaCode(error.kafkaCode)
              : error instanceof FrontDoorProblem
                ? error.kind
                : WsError.INTERNAL;
          this.fail(
            kind,
            `subscription to ${this.topic}-${cursor.partition} stopped at offset ${cursor.offset}: ${(error as Error).message}`,
          );
          return;
        }
        if (next <= cursor.offset) {
          this.fail(
            WsError.INTERNAL,
            `subscription to ${this.topic}-${cursor.partition} made no progress at offset ${cursor.offset}`,
          );
          return;
        }
        cursor.offset = next;
      }
      if (retry) await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS));
    }
  }

  private fail(kind: WsErrorKind, message: string): void {
    if (!this.active) return;
    this.active = false;
    this.host.replies.error(this.mode, this.id, kind, message);
    this.host.stopped(this);
  }
}
