import { KafkaErrorCode, kafkaErrorName } from '../common/kafka-error-code.js';
import type { Offset } from '../common/offset.js';
import type { FetchPartitionOutcome } from '../engine/engine-api.js';
import { FrontDoorError, FrontDoorProblem, fromKafkaCode } from '../protocol/front-door-errors.js';
import type { JsonEncoding } from '../protocol/record-json.js';
import { decodeBinaryRequest, FrameError } from '../protocol/ws/binary-frame.js';
import { decodeJsonRequest, JsonRequestError } from '../protocol/ws/json-request.js';
import type { SubscribeFrom, WsRequest } from '../protocol/ws/ws-request.js';
import { buildRecordBatch } from '../record/batch-builder.js';
import type { ProducedRecord } from '../record/record.js';
import type { FrontDoorDeps } from './front-door-deps.js';
import { Partitioner } from './partitioner.js';
import { nextOffsetAfter, type WsMode, type WsOut, WsReplies } from './ws-replies.js';

/**
 * One WebSocket connection's state on the acceptor thread: requests in
 * flight, live subscriptions, and backpressure.
 *
 * - At most maxInFlightRequestsPerConnection requests are served at once;
 *   past that a request is answered TOO_MANY_IN_FLIGHT at once.
 * - A subscription is a long-poll fetch loop per partition. Before each fetch
 *   it waits until the socket's send buffer is below SEND_BUFFER_HIGH_BYTES
 *   (uWS `drain` wakes it), so a slow subscriber holds at most about one
 *   fetch of data in memory and never slows anyone else.
 */
export const SEND_BUFFER_HIGH_BYTES = 1024 * 1024;
const SUBSCRIPTIONS_MAX = 256;
const SUBSCRIBE_POLL_MS = 1000;

export interface WsSocket extends WsOut {
  bufferedAmount(): number;
  end(code: number, reason: string): void;
}

interface Subscription {
  id: number;
  active: boolean;
  mode: WsMode;
}

export class WsSession {
  private inFlight = 0;
  private closed = false;
  private readonly subscriptions = new Map<number, Subscription>();
  private drainWaiters: (() => void)[] = [];
  private readonly replies: WsReplies;
  private readonly partitioner = new Partitioner();
  /** JSON fetch and push encoding for values: UTF-8 text unless a request asked for base64. */
  private readonly encoding: JsonEncoding = 'utf8';

  constructor(
    private readonly socket: WsSocket,
    private readonly deps: FrontDoorDeps,
  ) {
    this.replies = new WsReplies(socket);
  }

  onMessage(message: ArrayBuffer, isBinary: boolean): void {
    const mode: WsMode = isBinary ? 'binary' : 'json';
    let request: WsRequest;
    try {
      request = isBinary
        ? decodeBinaryRequest(new Uint8Array(message))
        : decodeJsonRequest(Buffer.from(message).toString('utf8'));
    } catch (error) {
      if (error instanceof FrameError || error instanceof JsonRequestError) {
        this.replies.error(mode, error.id, FrontDoorError.BAD_REQUEST, error.message);
        return;
      }
      throw error;
    }
    if (this.inFlight >= this.deps.config.maxInFlightRequestsPerConnection) {
      this.replies.error(
        mode,
        request.id,
        FrontDoorError.TOO_MANY_IN_FLIGHT,
        'too many requests in flight on this connection',
      );
      return;
    }
    this.inFlight++;
    this.serve(request, mode)
      .catch((error: unknown) => {
        if (this.closed) return;
        if (error instanceof FrontDoorProblem)
          this.replies.error(mode, request.id, error.kind, error.message);
        else this.replies.internal(mode, request.id, error);
      })
      .finally(() => {
        this.inFlight--;
      });
  }

  onDrain(): void {
    if (this.socket.bufferedAmount() >= SEND_BUFFER_HIGH_BYTES) return;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const wake of waiters) wake();
  }

  onClose(): void {
    this.closed = true;
    for (const subscription of this.subscriptions.values()) subscription.active = false;
    this.subscriptions.clear();
    this.onDrain();
    for (const wake of this.drainWaiters.splice(0)) wake();
  }

  private async serve(request: WsRequest, mode: WsMode): Promise<void> {
    const { groups } = this.deps;
    switch (request.op) {
      case 'produce':
        return this.produce(request, mode);
      case 'fetch': {
        const result = await this.fetchOne(
          request.topic,
          request.partition,
          request.offset,
          request.maxBytes,
          request.maxWaitMs,
          1,
        );
        if (result.errorCode !== KafkaErrorCode.NONE)
          throw kafkaProblem(result.errorCode, `fetch ${request.topic}-${request.partition}`);
        if (!this.closed) {
          this.replies.fetched(
            mode,
            request.id,
            request.partition,
            result.highWatermark,
            request.offset,
            result.records,
            this.encoding,
          );
        }
        return;
      }
      case 'subscribe':
        return this.subscribe(request.id, request.topic, request.partitions, request.from, mode);
      case 'unsubscribe': {
        const subscription = this.subscriptions.get(request.subscription);
        if (subscription === undefined)
          throw new FrontDoorProblem(FrontDoorError.NOT_FOUND, `no subscription ${request.subscription}`);
        subscription.active = false;
        this.subscriptions.delete(request.subscription);
        this.replies.ok(mode, request.id);
        return;
      }
      case 'commit': {
        const result = await groups.commitOffsets({
          groupId: request.consumer,
          generationId: -1,
          memberId: '',
          topics: [
            {
              topic: request.topic,
              partitions: [{ partition: request.partition, offset: request.offset, metadata: null }],
            },
          ],
        });
        const code = result.topics[0]?.partitions[0]?.errorCode ?? KafkaErrorCode.UNKNOWN_SERVER_ERROR;
        if (code !== KafkaErrorCode.NONE) throw kafkaProblem(code, `commit for ${request.consumer}`);
        this.replies.ok(mode, request.id);
        return;
      }
      case 'offset': {
        const result = await groups.fetchOffsets({
          groupId: request.consumer,
          topics: [{ topic: request.topic, partitions: [request.partition] }],
        });
        this.replies.offset(mode, request.id, result.topics[0]?.partitions[0]?.offset ?? -1);
        return;
      }
      case 'arrow': {
        const result = await this.fetchOne(
          request.topic,
          request.partition,
          request.offset,
          request.maxBytes,
          0,
          0,
        );
        if (result.errorCode !== KafkaErrorCode.NONE)
          throw kafkaProblem(result.errorCode, `arrow ${request.topic}-${request.partition}`);
        const ipc = await this.deps.encodeArrow({
          records: result.records,
          fromOffset: request.offset,
          limit: request.limit,
          valuesAsJson: request.valuesAsJson,
        });
        if (!this.closed) this.replies.arrow(mode, request.id, ipc);
        return;
      }
    }
  }

  /** One partition's fetch, with the sizes and wait capped by the broker's limits. */
  private async fetchOne(
    topic: string,
    partition: number,
    offset: number,
    maxBytes: number,
    maxWaitMs: number,
    minBytes: number,
  ): Promise<FetchPartitionOutcome> {
    const { engine, config } = this.deps;
    const cappedBytes = Math.min(maxBytes, config.fetchMaxBytes);
    const outcome = await engine.fetch({
      partitions: [{ topic, partition, offset: offset as Offset, maxBytes: cappedBytes }],
      maxWaitMs: Math.min(maxWaitMs, config.maxWaitMsMax),
      minBytes,
      maxBytes: cappedBytes,
    });
    return outcome.partitions[0]!;
  }

  private async produce(request: Extract<WsRequest, { op: 'produce' }>, mode: WsMode): Promise<void> {
    const { engine } = this.deps;
    const topic = engine.describeTopic(request.topic);
    if (topic === undefined)
      throw new FrontDoorProblem(FrontDoorError.UNKNOWN_TOPIC, `topic "${request.topic}" does not exist`);
    if (request.batch !== null) {
      const outcome = await engine.produce(
        request.topic,
        request.batch.partition,
        request.batch.bytes,
        request.acks,
      );
      if (outcome.errorCode !== KafkaErrorCode.NONE)
        throw kafkaProblem(outcome.errorCode, outcome.errorMessage || 'produce');
      this.replies.produced(mode, request.id, [
        { partition: request.batch.partition, offset: outcome.baseOffset },
      ]);
      return;
    }
    const entries = request.records!;
    // Binary frames share one partition; a null one is picked once, by the first key.
    const framePartition =
      mode === 'binary' && entries[0]!.partition === null
        ? this.partitioner.partitionFor(entries[0]!.record.key, topic.partitionCount)
        : null;
    const groups = new Map<number, { records: ProducedRecord[]; indexes: number[] }>();
    entries.forEach((entry, index) => {
      const partition =
        entry.partition ??
        framePartition ??
        this.partitioner.partitionFor(entry.record.key, topic.partitionCount);
      if (partition >= topic.partitionCount) {
        throw new FrontDoorProblem(
          FrontDoorError.BAD_REQUEST,
          `record ${index}: topic has ${topic.partitionCount} partitions`,
        );
      }
      const group = groups.get(partition) ?? { records: [], indexes: [] };
      group.records.push(entry.record);
      group.indexes.push(index);
      groups.set(partition, group);
    });
    const offsets = new Array<{ partition: number; offset: number }>(entries.length);
    await Promise.all(
      [...groups].map(async ([partition, group]) => {
        const outcome = await engine.produce(
          request.topic,
          partition,
          buildRecordBatch(group.records),
          request.acks,
        );
        if (outcome.errorCode !== KafkaErrorCode.NONE)
          throw kafkaProblem(outcome.errorCode, outcome.errorMessage || 'produce');
        group.indexes.forEach((index, i) => {
          offsets[index] = { partition, offset: request.acks === 0 ? -1 : outcome.baseOffset + i };
        });
      }),
    );
    if (!this.closed) this.replies.produced(mode, request.id, offsets);
  }

  private async subscribe(
    id: number,
    topicName: string,
    partitions: number[] | null,
    from: SubscribeFrom,
    mode: WsMode,
  ): Promise<void> {
    const { engine } = this.deps;
    const topic = engine.describeTopic(topicName);
    if (topic === undefined)
      throw new FrontDoorProblem(FrontDoorError.UNKNOWN_TOPIC, `topic "${topicName}" does not exist`);
    if (this.subscriptions.has(id))
      throw new FrontDoorProblem(FrontDoorError.BAD_REQUEST, `subscription id ${id} is in use`);
    if (this.subscriptions.size >= SUBSCRIPTIONS_MAX) {
      throw new FrontDoorProblem(
        FrontDoorError.TOO_MANY_IN_FLIGHT,
        `at most ${SUBSCRIPTIONS_MAX} subscriptions per connection`,
      );
    }
    const chosen = partitions ?? Array.from({ length: topic.partitionCount }, (_, i) => i);
    for (const partition of chosen) {
      if (partition >= topic.partitionCount)
        throw new FrontDoorProblem(
          FrontDoorError.BAD_REQUEST,
          `topic has ${topic.partitionCount} partitions`,
        );
    }
    const starts = await Promise.all(
      chosen.map(async (partition) => {
        if (typeof from === 'number') return from;
        const outcome = await engine.listOffsets(topicName, partition, from === 'earliest' ? -2 : -1);
        if (outcome.errorCode !== KafkaErrorCode.NONE)
          throw kafkaProblem(outcome.errorCode, `subscribe ${topicName}-${partition}`);
        return outcome.offset;
      }),
    );
    const subscription: Subscription = { id, active: true, mode };
    this.subscriptions.set(id, subscription);
    this.replies.subscribed(
      mode,
      id,
      chosen.map((partition, i) => ({ partition, offset: starts[i]! })),
    );
    // The subscribe request is answered; the loops run on their own and do not count as in flight.
    chosen.forEach((partition, i) => {
      void this.follow(subscription, topicName, partition, starts[i]!);
    });
  }

  /** Pushes a partition's records to a subscriber as they land, in order, without gaps. */
  private async follow(
    subscription: Subscription,
    topic: string,
    partition: number,
    startOffset: number,
  ): Promise<void> {
    const { engine, config } = this.deps;
    let offset = startOffset;
    while (subscription.active && !this.closed) {
      await this.waitForDrain();
      if (!subscription.active || this.closed) return;
      const maxBytes = Math.min(config.fetchMaxBytes, SEND_BUFFER_HIGH_BYTES);
      const outcome = await engine.fetch({
        partitions: [{ topic, partition, offset: offset as Offset, maxBytes }],
        maxWaitMs: Math.min(SUBSCRIBE_POLL_MS, config.maxWaitMsMax),
        minBytes: 1,
        maxBytes,
      });
      if (!subscription.active || this.closed) return;
      const result = outcome.partitions[0]!;
      if (result.errorCode !== KafkaErrorCode.NONE) {
        if (result.errorCode === KafkaErrorCode.NOT_LEADER_OR_FOLLOWER) continue; // a shard restarting: retry
        subscription.active = false;
        this.subscriptions.delete(subscription.id);
        this.replies.error(
          subscription.mode,
          subscription.id,
          fromKafkaCode(result.errorCode),
          `subscription to ${topic}-${partition} stopped at offset ${offset}: ${kafkaErrorName(result.errorCode)}`,
        );
        return;
      }
      if (result.records.length === 0) continue;
      this.replies.pushRecords(
        subscription.mode,
        subscription.id,
        partition,
        result.highWatermark,
        offset,
        result.records,
        this.encoding,
      );
      offset = nextOffsetAfter(result.records, offset);
    }
  }

  private waitForDrain(): Promise<void> {
    if (this.closed || this.socket.bufferedAmount() < SEND_BUFFER_HIGH_BYTES) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }
}

function kafkaProblem(code: number, context: string): FrontDoorProblem {
  return new FrontDoorProblem(fromKafkaCode(code), `${context}: ${kafkaErrorName(code)}`);
}
