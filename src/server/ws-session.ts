import { errorMessage, PyralogError } from '../common/errors.js';
import { KafkaErrorCode } from '../common/kafka-error-code.js';
import type { Offset } from '../common/offset.js';
import type { FetchPartitionOutcome, IsolationLevel } from '../engine/engine-api.js';
import { type Engine, ListOffsetsTimestamp, type TopicDescription } from '../engine/engine-api.js';
import type { FrontDoorDeps } from '../protocol/front-door-deps.js';
import { FrontDoorProblem, fromKafkaCode } from '../protocol/front-door-errors.js';
import { readFrameHeader, WsOpCode } from '../protocol/ws/binary-frame.js';
import { decodeBinaryRequest } from '../protocol/ws/binary-request.js';
import { decodeJsonRequest } from '../protocol/ws/json-request.js';
import type { SubscriptionStart } from '../protocol/ws/subscribe-frame.js';
import { WsCloseCode, WsError, type WsErrorKind, WsProblem } from '../protocol/ws/ws-error-code.js';
import {
  type ArrowRequest,
  type FetchRequest,
  type ProduceRequest,
  type SubscribeRequest,
  type WsRequest,
  WsRequestError,
} from '../protocol/ws/ws-request.js';
import { maskAbortedBatches } from '../record/aborted-batches.js';
import { AclOperation, AclResourceType, aclOperationName, aclResourceTypeName } from '../security/acl.js';
import type { CheckedOperation, CheckedResourceType } from '../security/authorizer.js';
import type { HttpAuthenticator } from '../security/http-authenticator.js';
import { ANONYMOUS_PRINCIPAL, type Principal, principalText } from '../security/principal.js';
import { withDeadline } from './http-deadline.js';
import { Partitioner } from './partitioner.js';
import {
  checkPartition,
  kafkaProblem,
  type PreparedProduce,
  prepareProduce,
  topicOrThrow,
} from './ws-produce.js';
import { ProduceInFlight } from './ws-produce-in-flight.js';
import { type WsMode, WsReplies, type WsSocket } from './ws-replies.js';
import { type SubscriptionHost, WsSubscription } from './ws-subscription.js';
import { WsWaitingRequests } from './ws-waiting-requests.js';

/**
 * One WebSocket connection's state on the acceptor thread: requests in
 * flight, live subscriptions, and backpressure both ways.
 *
 * - Requests: at most maxInFlightRequestsPerConnection at once, holding at
 *   most inFlightFramesMax × maxFrameBytes of request bytes. Past either,
 *   a request waits in the connection's line (ws-waiting-requests.ts) and
 *   starts, in arrival order, when an earlier one finishes: uWS cannot pause
 *   a WebSocket's reads, so a pipelining producer is slowed, not refused.
 *   The line holds at most queuedFramesMax × maxFrameBytes; a client that
 *   passes that is closed with 1008 and a TOO_MANY_IN_FLIGHT reason.
 * - Replies and pushes: fetches (requested or for subscriptions) start only
 *   while the send buffer is under sendBufferHighBytes; uWS `drain`
 *   resumes them. ws-route.ts closes a connection whose buffer still grows
 *   past sendBufferCloseBytes. With the defaults a connection holds at most
 *   about 1 MiB + 64 subscriptions × 512 KiB of pushes, far under the close.
 * - A uWS message lives only during its callback: everything a request keeps
 *   is copied before the callback returns (a ready batch by the engine, into
 *   the shard's ring; a request that must wait, whole, into the line).
 * - Answers and pushes leave through the connection's outbox (ws-outbox.ts):
 *   those of one turn in one corked write.
 */
export interface WsLimits {
  /** Fetches for a connection start only while its send buffer is under this. */
  readonly sendBufferHighBytes: number;
  /** A connection whose send buffer passes this is closed (1008 SLOW_CONSUMER). */
  readonly sendBufferCloseBytes: number;
  readonly subscriptionsMax: number;
  /** Request bytes in flight per connection, as a multiple of maxFrameBytes. */
  readonly inFlightFramesMax: number;
  /** Request bytes waiting for a slot per connection, as a multiple of maxFrameBytes; past it: 1008. */
  readonly queuedFramesMax: number;
}

export const DEFAULT_WS_LIMITS: WsLimits = {
  sendBufferHighBytes: 1024 * 1024,
  sendBufferCloseBytes: 64 * 1024 * 1024,
  subscriptionsMax: 64,
  inFlightFramesMax: 4,
  queuedFramesMax: 4,
};

export class WsSession implements SubscriptionHost {
  private inFlight = 0;
  private inFlightBytes = 0;
  private closed = false;
  /** Requests that arrived past the in-flight limits, waiting their turn. */
  private readonly waiting = new WsWaitingRequests();
  private lastActiveMs = Date.now();
  private readonly subscriptions = new Map<number, WsSubscription>();
  private drainWaiters: (() => void)[] = [];
  readonly replies: WsReplies;
  private readonly partitioner = new Partitioner();

  constructor(
    private readonly socket: WsSocket,
    private readonly deps: FrontDoorDeps,
    private readonly limits: WsLimits = DEFAULT_WS_LIMITS,
    /** Who the connection acts for; null until its first message authenticates it (browsers). */
    private principal: Principal | null = ANONYMOUS_PRINCIPAL,
    private readonly authenticator?: HttpAuthenticator,
    private readonly clientHost = '*',
  ) {
    this.replies = new WsReplies(socket, (input) =>
      withDeadline(
        deps.decodeRecordWindow(input),
        deps.config.requestTimeoutMs,
        'decoding compressed records',
      ),
    );
  }

  get engine(): Engine {
    return this.deps.engine;
  }
  get maxWaitMsMax(): number {
    return this.deps.config.maxWaitMsMax;
  }
  get fetchMaxBytes(): number {
    return this.deps.config.fetchMaxBytes;
  }

  /** True when nothing has happened for `idleTimeoutMs`: no request, none in flight, no subscription. */
  isIdle(nowMs: number, idleTimeoutMs: number): boolean {
    return (
      this.inFlight === 0 &&
      this.waiting.length === 0 &&
      this.subscriptions.size === 0 &&
      nowMs - this.lastActiveMs >= idleTimeoutMs
    );
  }

  subscriptionCount(): number {
    return this.subscriptions.size;
  }

  /** A message over the frame limit: one FRAME_TOO_LARGE error (with the id when it is readable), then 1009. */
  refuseOversize(message: ArrayBuffer, isBinary: boolean, limitBytes: number): void {
    let id = 0;
    if (isBinary) {
      try {
        id = readFrameHeader(new Uint8Array(message, 0, Math.min(8, message.byteLength))).id;
      } catch {
        id = 0;
      }
    }
    const text = `message of ${message.byteLength} bytes is over the limit of ${limitBytes}`;
    this.replies.error(isBinary ? 'binary' : 'json', id, WsError.FRAME_TOO_LARGE, text);
    this.socket.end(1009, `FRAME_TOO_LARGE: ${text}`.slice(0, 120));
  }

  onMessage(message: ArrayBuffer, isBinary: boolean): void {
    this.lastActiveMs = Date.now();
    if (this.closed) return;
    if (this.principal === null) {
      this.authenticateFirst(message, isBinary);
      return;
    }
    // Behind others that wait, or past a limit: this one waits too, so requests start in arrival order.
    if (this.waiting.length > 0 || !this.hasRoomFor(message.byteLength)) {
      this.wait(message, isBinary);
      return;
    }
    this.start(message, isBinary);
  }

  /** Request bytes allowed to wait per connection. */
  private get waitingBytesMax(): number {
    return this.deps.config.maxFrameBytes * this.limits.queuedFramesMax;
  }

  /** Whether a request of `sizeBytes` may start now under the in-flight limits. */
  private hasRoomFor(sizeBytes: number): boolean {
    const { maxInFlightRequestsPerConnection, maxFrameBytes } = this.deps.config;
    return (
      this.inFlight < maxInFlightRequestsPerConnection &&
      this.inFlightBytes + sizeBytes <= maxFrameBytes * this.limits.inFlightFramesMax
    );
  }

  /** Puts a request in line; a client whose waiting requests pass the byte budget is closed (1008). */
  private wait(message: ArrayBuffer, isBinary: boolean): void {
    if (this.waiting.sizeBytes + message.byteLength > this.waitingBytesMax) {
      const { maxInFlightRequestsPerConnection } = this.deps.config;
      const reason =
        `TOO_MANY_IN_FLIGHT: over ${this.waitingBytesMax} bytes of requests waiting behind ` +
        `${maxInFlightRequestsPerConnection} in flight`;
      this.closed = true;
      this.waiting.clear();
      this.socket.end(WsCloseCode.POLICY_VIOLATION, reason.slice(0, 120));
      return;
    }
    this.waiting.push(message, isBinary);
  }

  /** Starts the requests waiting in line, in order, while the in-flight limits allow. */
  private startWaiting(): void {
    for (;;) {
      const next = this.waiting.peek();
      if (this.closed || next === undefined || !this.hasRoomFor(next.message.byteLength)) return;
      this.waiting.shift();
      try {
        this.start(next.message, next.isBinary);
      } catch (error) {
        // Called from a finished request's callback: a bug here must be answered, not left unhandled.
        this.answerFailure(next.isBinary ? 'binary' : 'json', 0, error);
      }
    }
  }

  /** Decodes, checks and serves one request (the in-flight limits have room for it). */
  private start(message: ArrayBuffer, isBinary: boolean): void {
    const mode: WsMode = isBinary ? 'binary' : 'json';
    let request: WsRequest;
    try {
      request = isBinary
        ? decodeBinaryRequest(new Uint8Array(message))
        : decodeJsonRequest(Buffer.from(message).toString('utf8'));
    } catch (error) {
      if (error instanceof WsRequestError) {
        this.replies.error(mode, error.id, WsError.BAD_REQUEST, error.message);
        return;
      }
      throw error;
    }
    const sizeBytes = message.byteLength;
    const denial = this.denial(request);
    if (denial !== null) {
      this.replies.error(mode, request.id, WsError.FORBIDDEN, denial);
      return;
    }
    if (request.op === 'produce') {
      let prepared: PreparedProduce;
      try {
        prepared = prepareProduce(request, this.topicOrThrow(request.topic), this.partitioner);
      } catch (error) {
        this.answerFailure(mode, request.id, error);
        return;
      }
      this.inFlight++;
      this.inFlightBytes += sizeBytes;
      // Now, in the message's callback: a ready batch is a view of the message, which dies with it.
      new ProduceInFlight(this, request, mode, prepared, sizeBytes).start(this.deps.engine);
      return;
    }
    this.inFlight++;
    this.inFlightBytes += sizeBytes;
    this.serve(request, mode)
      .catch((error: unknown) => this.answerFailure(mode, request.id, error))
      .finally(() => this.finished(sizeBytes));
  }

  /** A request of `sizeBytes` is answered (or failed): its room goes to the next one waiting. */
  finished(sizeBytes: number): void {
    this.inFlight--;
    this.inFlightBytes -= sizeBytes;
    this.lastActiveMs = Date.now();
    if (this.waiting.length > 0) this.startWaiting();
  }

  /** Whether the connection closed (nothing more is sent on it). */
  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * A browser cannot set headers on a WebSocket upgrade, so a connection that arrived without
   * credentials (while they are required) must send `{"op":"auth","id":N,"token":"pyt1…"}` first.
   * Anything else, or a refused token, is answered UNAUTHORIZED and the connection is closed.
   */
  private authenticateFirst(message: ArrayBuffer, isBinary: boolean): void {
    let id = 0;
    let token: unknown;
    if (!isBinary) {
      try {
        const parsed = JSON.parse(Buffer.from(message).toString('utf8')) as {
          op?: unknown;
          id?: unknown;
          token?: unknown;
        };
        if (typeof parsed.id === 'number') id = parsed.id;
        if (parsed.op === 'auth') token = parsed.token;
      } catch {
        token = undefined;
      }
    }
    const outcome =
      typeof token === 'string' && this.authenticator !== undefined
        ? this.authenticator.bearer(token)
        : { refusal: 'credentials required: send {"op":"auth","id":1,"token":"…"} first' };
    if ('refusal' in outcome) {
      this.replies.error(isBinary ? 'binary' : 'json', id, WsError.UNAUTHORIZED, outcome.refusal);
      this.socket.end(WsCloseCode.POLICY_VIOLATION, `UNAUTHORIZED: ${outcome.refusal}`.slice(0, 120));
      return;
    }
    this.principal = outcome.principal;
    this.replies.ok('json', id);
  }

  /** Why the ACLs refuse a request (audited), or null when they allow it. */
  private denial(request: WsRequest): string | null {
    const access = this.deps.access;
    if (access === undefined || access.allowsEverything || this.principal === null) return null;
    let operation: CheckedOperation;
    let resourceType: CheckedResourceType = AclResourceType.TOPIC;
    let name: string;
    switch (request.op) {
      case 'produce':
        operation = AclOperation.WRITE;
        name = request.topic;
        break;
      case 'fetch':
      case 'subscribe':
      case 'arrow':
        operation = AclOperation.READ;
        name = request.topic;
        break;
      case 'commit':
        operation = AclOperation.READ;
        resourceType = AclResourceType.GROUP;
        name = request.consumer;
        break;
      case 'offset':
        operation = AclOperation.DESCRIBE;
        resourceType = AclResourceType.GROUP;
        name = request.consumer;
        break;
      case 'unsubscribe':
        return null;
    }
    const principal = principalText(this.principal);
    if (
      access.authorize(principal, this.clientHost, operation, resourceType, name, `WebSocket ${request.op}`)
    ) {
      return null;
    }
    return `${principal} may not ${aclOperationName(operation)} ${aclResourceTypeName(resourceType)} ${name}`;
  }

  onDrain(): void {
    if (this.closed || this.socket.bufferedAmount() < this.limits.sendBufferHighBytes)
      this.wakeDrainWaiters();
  }

  onClose(): void {
    this.closed = true;
    this.waiting.clear();
    for (const subscription of this.subscriptions.values()) subscription.stop();
    this.subscriptions.clear();
    this.wakeDrainWaiters();
  }

  waitForRoom(): Promise<void> {
    if (this.closed || this.socket.bufferedAmount() < this.limits.sendBufferHighBytes)
      return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  stopped(subscription: WsSubscription): void {
    if (this.subscriptions.get(subscription.id) === subscription) this.subscriptions.delete(subscription.id);
  }

  private wakeDrainWaiters(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const wake of waiters) wake();
  }

  answerFailure(mode: WsMode, id: number, error: unknown): void {
    if (this.closed) return;
    let kind: WsErrorKind = WsError.INTERNAL;
    if (error instanceof WsProblem || error instanceof FrontDoorProblem) kind = error.kind;
    else if (error instanceof PyralogError) kind = fromKafkaCode(error.kafkaCode);
    this.replies.error(mode, id, kind, errorMessage(error));
  }

  /** Serves every request but a produce (ProduceInFlight serves those). */
  private async serve(request: Exclude<WsRequest, ProduceRequest>, mode: WsMode): Promise<void> {
    switch (request.op) {
      case 'fetch':
        return this.fetch(request, mode);
      case 'subscribe':
        return this.subscribe(request, mode);
      case 'unsubscribe': {
        const subscription = this.subscriptions.get(request.subscription);
        if (subscription === undefined)
          throw new WsProblem(WsError.NOT_FOUND, `no subscription ${request.subscription}`);
        subscription.stop();
        this.subscriptions.delete(request.subscription);
        this.replies.ok(mode, request.id);
        return;
      }
      case 'commit': {
        const result = await this.deps.groups.commitOffsets({
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
        if (!this.closed) this.replies.ok(mode, request.id);
        return;
      }
      case 'offset': {
        const result = await this.deps.groups.fetchOffsets({
          groupId: request.consumer,
          topics: [{ topic: request.topic, partitions: [request.partition] }],
        });
        const partition = result.topics[0]?.partitions[0];
        const code =
          result.errorCode !== KafkaErrorCode.NONE ? result.errorCode : (partition?.errorCode ?? 0);
        if (code !== KafkaErrorCode.NONE) throw kafkaProblem(code, `offset of ${request.consumer}`);
        if (!this.closed) this.replies.offset(mode, request.id, partition?.offset ?? -1);
        return;
      }
      case 'arrow':
        return this.arrow(request, mode);
    }
  }

  private topicOrThrow(name: string): TopicDescription {
    return topicOrThrow(this.deps.engine, name);
  }

  private async fetch(request: FetchRequest, mode: WsMode): Promise<void> {
    const result = await this.fetchPartition(request, request.maxWaitMs, 1, 'fetch', request.isolationLevel);
    if (result === null) return;
    await this.replies.records(
      mode,
      WsOpCode.FETCHED,
      request.id,
      request.partition,
      result.highWatermark,
      request.offset,
      request.isolationLevel === 1
        ? maskAbortedBatches(result.records, result.abortedTransactions)
        : result.records,
      request.encoding,
    );
  }

  private async subscribe(request: SubscribeRequest, mode: WsMode): Promise<void> {
    const { engine } = this.deps;
    const topic = this.topicOrThrow(request.topic);
    if (this.subscriptions.has(request.id))
      throw new WsProblem(WsError.BAD_REQUEST, `subscription id ${request.id} is in use`);
    if (this.subscriptions.size >= this.limits.subscriptionsMax) {
      throw new WsProblem(
        WsError.TOO_MANY_SUBSCRIPTIONS,
        `at most ${this.limits.subscriptionsMax} subscriptions per connection`,
      );
    }
    const partitions = request.partitions ?? Array.from({ length: topic.partitionCount }, (_, i) => i);
    for (const partition of partitions) checkPartition(topic, partition);
    const listOffset = async (partition: number, timestampMs: number): Promise<number> => {
      const outcome = await engine.listOffsets(request.topic, partition, timestampMs, {
        isolationLevel: request.isolationLevel,
      });
      if (outcome.errorCode !== KafkaErrorCode.NONE)
        throw kafkaProblem(outcome.errorCode, `subscribe ${request.topic}-${partition}`);
      return outcome.offset;
    };
    const starts: SubscriptionStart[] = await Promise.all(
      partitions.map(async (partition) => {
        if (request.from === 'earliest')
          return { partition, offset: await listOffset(partition, ListOffsetsTimestamp.EARLIEST) };
        if (request.from === 'latest')
          return { partition, offset: await listOffset(partition, ListOffsetsTimestamp.LATEST) };
        // An offset must lie in the log (the end included, to wait for what comes next), so nothing is skipped.
        const [first, end] = await Promise.all([
          listOffset(partition, ListOffsetsTimestamp.EARLIEST),
          listOffset(partition, ListOffsetsTimestamp.LATEST),
        ]);
        if (request.from < first || request.from > end) {
          throw new WsProblem(
            WsError.OFFSET_OUT_OF_RANGE,
            `offset ${request.from} is outside ${request.topic}-${partition}'s log [${first}, ${end}]`,
          );
        }
        return { partition, offset: request.from };
      }),
    );
    if (this.closed) return;
    // Checked again: another subscribe with this id, or one too many, may have finished while we waited.
    if (this.subscriptions.has(request.id))
      throw new WsProblem(WsError.BAD_REQUEST, `subscription id ${request.id} is in use`);
    if (this.subscriptions.size >= this.limits.subscriptionsMax)
      throw new WsProblem(
        WsError.TOO_MANY_SUBSCRIPTIONS,
        `at most ${this.limits.subscriptionsMax} subscriptions per connection`,
      );
    const subscription = new WsSubscription(
      request.id,
      mode,
      request.encoding,
      request.topic,
      starts,
      this,
      request.isolationLevel,
    );
    this.subscriptions.set(request.id, subscription);
    this.replies.subscribed(mode, request.id, starts);
    // The subscribe is answered; the loop runs on its own and does not count as in flight.
    void subscription.run();
  }

  /**
   * One partition's records for a fetch or Arrow request, once the socket has
   * room, with sizes and waits capped by the broker's limits; null when the
   * connection closed meanwhile.
   */
  private async fetchPartition(
    request: { topic: string; partition: number; offset: number; maxBytes: number },
    maxWaitMs: number,
    minBytes: number,
    what: string,
    isolationLevel: IsolationLevel = 0,
  ): Promise<FetchPartitionOutcome | null> {
    const { engine, config } = this.deps;
    await this.waitForRoom();
    if (this.closed) return null;
    const maxBytes = Math.max(1, Math.min(request.maxBytes, config.fetchMaxBytes));
    const outcome = await engine.fetch({
      isolationLevel,
      partitions: [
        { topic: request.topic, partition: request.partition, offset: request.offset as Offset, maxBytes },
      ],
      maxWaitMs: Math.min(maxWaitMs, config.maxWaitMsMax),
      minBytes,
      maxBytes,
    });
    const result = outcome.partitions[0]!;
    if (result.errorCode !== KafkaErrorCode.NONE) {
      throw kafkaProblem(
        result.errorCode,
        `${what} ${request.topic}-${request.partition} at ${request.offset}`,
      );
    }
    return this.closed ? null : result;
  }

  private async arrow(request: ArrowRequest, mode: WsMode): Promise<void> {
    const result = await this.fetchPartition(request, 0, 0, 'arrow');
    if (result === null) return;
    const ipc = await this.deps.encodeArrow({
      records: result.records,
      fromOffset: request.offset,
      limit: request.limit,
      valuesAsJson: request.valuesAsJson,
    });
    if (!this.closed) this.replies.arrow(mode, request.id, ipc);
  }
}
