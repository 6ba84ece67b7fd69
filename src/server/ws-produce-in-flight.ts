import { KafkaErrorCode } from '../common/kafka-error-code.js';
import type { Engine, ProduceOutcome } from '../engine/engine-api.js';
import type { ProducedGroup } from '../protocol/ws/produce-frame.js';
import type { ProduceRequest } from '../protocol/ws/ws-request.js';
import { kafkaProblem, type PreparedProduce } from './ws-produce.js';
import type { WsMode, WsReplies } from './ws-replies.js';

/**
 * One WebSocket produce from its hand-off to the engine to its answer, on the
 * acceptor thread. A produce costs this object, one group per partition and
 * the engine's own promise per partition: no async function, no Promise.all
 * and no catch/finally chain of its own, which together were about eight
 * promises and as many microtask turns per frame.
 *
 * The answer goes out when every partition's batch is appended (PRODUCED), or
 * at the first failure (an ERROR with its code); the request keeps its room in
 * the connection's in-flight limits until every batch has left the engine, so
 * the bytes the limits count are the bytes the engine may still hold.
 */
export interface ProduceHost {
  readonly replies: WsReplies;
  /** True once the connection closed: nothing more is sent. */
  readonly isClosed: boolean;
  answerFailure(mode: WsMode, id: number, error: unknown): void;
  /** The request's bytes leave the in-flight count (called exactly once). */
  finished(sizeBytes: number): void;
}

export class ProduceInFlight {
  private readonly groups: ProducedGroup[];
  private unsettled: number;
  private answered = false;

  constructor(
    private readonly host: ProduceHost,
    private readonly request: ProduceRequest,
    private readonly mode: WsMode,
    private readonly prepared: PreparedProduce,
    private readonly sizeBytes: number,
  ) {
    const batches = prepared.batches;
    this.groups = new Array(batches.length);
    for (let i = 0; i < batches.length; i++) {
      const part = batches[i]!;
      this.groups[i] = { partition: part.partition, baseOffset: -1, recordCount: part.recordCount };
    }
    this.unsettled = batches.length;
  }

  /**
   * Hands every partition's batch to the engine (a lent batch is copied before `produce` returns,
   * so this must run before the message's callback ends); the answer follows when they are settled.
   */
  start(engine: Engine): void {
    const { topic, acks } = this.request;
    const batches = this.prepared.batches;
    for (let i = 0; i < batches.length; i++) {
      const part = batches[i]!;
      let outcome: Promise<ProduceOutcome>;
      try {
        outcome = engine.produce(topic, part.partition, part.batch, acks, this.prepared.lent);
      } catch (error) {
        outcome = Promise.reject(error);
      }
      outcome.then(
        (landed) => this.landed(i, landed),
        (error: unknown) => this.settle(error),
      );
    }
  }

  private landed(index: number, outcome: ProduceOutcome): void {
    if (outcome.errorCode !== KafkaErrorCode.NONE) {
      const group = this.groups[index]!;
      this.settle(
        kafkaProblem(
          outcome.errorCode,
          outcome.errorMessage || `produce to ${this.request.topic}-${group.partition}`,
        ),
      );
      return;
    }
    this.groups[index]!.baseOffset = this.request.acks === 0 ? -1 : outcome.baseOffset;
    this.settle(null);
  }

  /** One partition settled: `failure` null when its batch landed. */
  private settle(failure: unknown): void {
    const { host, mode, request } = this;
    this.unsettled--;
    try {
      if (failure !== null) {
        if (!this.answered) {
          this.answered = true;
          host.answerFailure(mode, request.id, failure);
        }
      } else if (this.unsettled === 0 && !this.answered) {
        this.answered = true;
        if (!host.isClosed) host.replies.produced(mode, request.id, this.groups, this.prepared.slots);
      }
    } catch (error) {
      // Encoding or sending the answer failed: a bug, answered rather than left as an unhandled rejection
      // (this runs in a promise reaction whose own promise nobody awaits, so nothing here may throw).
      try {
        host.answerFailure(mode, request.id, error);
      } catch {
        // The connection is past answering; the in-flight count is still released below.
      }
    } finally {
      if (this.unsettled === 0) host.finished(this.sizeBytes);
    }
  }
}
