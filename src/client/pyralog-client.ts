import WebSocket from 'ws';
import type { Acks } from '../engine/engine-api.js';
import { encodeArrowRequest, readArrowReply } from '../protocol/ws/arrow-frame.js';
import { FrameReader, readFrameHeader, stampFrameId, WsOpCode } from '../protocol/ws/binary-frame.js';
import { encodeCommit, encodeOffsetRequest, readOffsetReply } from '../protocol/ws/consumer-offset-frame.js';
import { encodeFetch, readRecordsFrame } from '../protocol/ws/fetch-frame.js';
import { ProduceBatchFrameBuilder, type ProduceFrameBuilding } from '../protocol/ws/produce-batch-frame.js';
import { ProduceFrameBuilder, readProduced } from '../protocol/ws/produce-frame.js';
import { readError } from '../protocol/ws/status-frame.js';
import { encodeSubscribe, encodeUnsubscribe, readSubscribed } from '../protocol/ws/subscribe-frame.js';
import type { ProducedOffset, SubscribeFrom } from '../protocol/ws/ws-request.js';
import { decodeRecordSet } from '../record/batch-reader.js';
import '../record/compression.js';
import type { ConsumedRecord, RecordHeader } from '../record/record.js';
import { PyralogClientError } from './client-errors.js';
import { disconnectedError, Subscription } from './subscription.js';

/** Kafka's isolation levels, by name: read_uncommitted (the default) or read_committed. */
export type Isolation = 'read_uncommitted' | 'read_committed';

/**
 * A TypeScript client for Pyralog's binary WebSocket protocol
 * (docs/websocket.md), for Node. One connection; not shared between threads.
 *
 * - produce() batches records per topic and partition: a batch goes out when
 *   it reaches batchMaxRecords or batchMaxBytes, or lingerMs after its first
 *   record, as a Kafka producer's linger.ms does (lingerMs 0: at the end of
 *   the current synchronous run, with the records produced in it). Records that name no
 *   partition share one batch per topic and the broker spreads them by key.
 *   Each call resolves with its record's partition and offset. At most
 *   maxInFlightBatches batches wait for their acknowledgement; later ones
 *   queue here, so the broker's in-flight limit is never met.
 * - subscribe() returns an async iterator of records, resumed after a
 *   reconnect from the last offset seen, with no gap or duplicate.
 * - The connection is re-established with exponential backoff. Requests made
 *   while it is down wait for it (within requestTimeoutMs); requests in
 *   flight when it dropped fail with DISCONNECTED (a produce may or may not
 *   have been appended: retry it if duplicates are acceptable).
 */
export interface PyralogClientOptions {
  url: string;
  lingerMs?: number;
  batchMaxRecords?: number;
  batchMaxBytes?: number;
  acks?: Acks;
  requestTimeoutMs?: number;
  reconnectDelayMs?: number;
  reconnectDelayMaxMs?: number;
  /** Records a subscription may hold unread before the socket is paused. */
  subscriptionHighWaterRecords?: number;
  /** Produce batches sent and not yet acknowledged; further batches wait their turn here. */
  maxInFlightBatches?: number;
  /** The largest message accepted from the broker. */
  maxMessageBytes?: number;
  /**
   * How a batch for a named partition travels: 'records' (the default) sends the records and the
   * broker builds the RecordBatch; 'batch' builds the RecordBatch v2 here (a PRODUCE frame of kind
   * 1), so the broker hands it to the engine without reading a record. Records that name no
   * partition always go as 'records': the broker picks their partitions. 'records' stays the default
   * because 'batch' moves about as much work onto the client as it takes off the broker's acceptor
   * (docs/websocket.md says when to choose 'batch').
   */
  produceFormat?: ProduceFormat;
}

export type ProduceFormat = 'records' | 'batch';

export interface ClientRecord {
  key?: Uint8Array | string | null;
  value: Uint8Array | string | null;
  headers?: Record<string, Uint8Array | string | null>;
  partition?: number;
  timestampMs?: number;
}

export interface FetchResult {
  records: ConsumedRecord[];
  highWatermark: number;
  nextOffset: number;
}

interface Pending {
  expectedOp: number;
  resolve: (reader: FrameReader) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

interface Waiter {
  resolve: (value: ProducedOffset) => void;
  reject: (error: Error) => void;
}

interface Batch {
  key: string;
  topic: string;
  partition: number;
  frame: ProduceFrameBuilding;
  waiters: Waiter[];
  timer: NodeJS.Timeout | null;
}

const encoder = new TextEncoder();
const MIN_FRAME_CAPACITY_BYTES = 256;

function bytesOf(value: Uint8Array | string | null | undefined): Uint8Array | null {
  if (value === null || value === undefined) return null;
  return typeof value === 'string' ? encoder.encode(value) : value;
}

export class PyralogClient {
  private socket: WebSocket | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly batches = new Map<string, Batch>();
  private readonly subscriptions = new Set<Subscription>();
  private readonly bySubscriptionId = new Map<number, Subscription>();
  private closed = false;
  private connecting: Promise<void> | null = null;
  private connectedWaiters: (() => void)[] = [];
  private pausedBy = 0;
  private batchesInFlight = 0;
  private readonly queuedBatches: (() => void)[] = [];
  private readonly unacknowledged = new Set<Promise<void>>();
  private readonly options: Required<PyralogClientOptions>;
  /** The batch the last produce() added to, while it still lingers. */
  private lastBatch: Batch | null = null;
  /** The buffer a new batch's frame starts with: the last frame's size. */
  private frameCapacityBytes = MIN_FRAME_CAPACITY_BYTES;

  private constructor(options: PyralogClientOptions) {
    this.options = {
      lingerMs: 5,
      batchMaxRecords: 500,
      batchMaxBytes: 512 * 1024,
      acks: -1,
      requestTimeoutMs: 30_000,
      reconnectDelayMs: 100,
      reconnectDelayMaxMs: 5_000,
      subscriptionHighWaterRecords: 10_000,
      maxInFlightBatches: 32,
      maxMessageBytes: 256 * 1024 * 1024,
      produceFormat: 'records',
      ...options,
    };
  }

  static async connect(options: PyralogClientOptions): Promise<PyralogClient> {
    const client = new PyralogClient(options);
    await client.open();
    return client;
  }

  /** Queues a record; resolves with its partition and offset once its batch is acknowledged. */
  produce(topic: string, record: ClientRecord): Promise<ProducedOffset> {
    if (this.closed) return Promise.reject(new PyralogClientError('CLOSED', 'the client is closed'));
    const partition = record.partition ?? -1;
    // Records in a row for one topic and partition (the common case) skip building the map key.
    const last = this.lastBatch;
    let batch =
      last !== null && last.partition === partition && last.topic === topic
        ? last
        : this.batches.get(`${partition}\u0000${topic}`);
    if (batch === undefined) {
      const key = `${partition}\u0000${topic}`;
      batch = {
        key,
        topic,
        partition,
        frame:
          this.options.produceFormat === 'batch' && Number.isInteger(partition) && partition >= 0
            ? new ProduceBatchFrameBuilder(topic, partition, this.options.acks, this.frameCapacityBytes)
            : new ProduceFrameBuilder(topic, partition, this.options.acks, this.frameCapacityBytes),
        waiters: [],
        timer: null,
      };
      this.batches.set(key, batch);
      const created = batch;
      // Linger 0 sends at the end of the current synchronous run, with the records produced in it: a
      // timer of 0 ms would hold every record for Node's 1 ms minimum and a turn of the event loop.
      if (this.options.lingerMs > 0)
        batch.timer = setTimeout(() => this.sendBatch(created), this.options.lingerMs);
      else queueMicrotask(() => this.sendBatch(created));
    }
    this.lastBatch = batch;
    let headers: RecordHeader[] | null = null;
    if (record.headers !== undefined) {
      headers = [];
      for (const name in record.headers) headers.push({ key: name, value: bytesOf(record.headers[name]) });
    }
    try {
      batch.frame.add(bytesOf(record.key), bytesOf(record.value), record.timestampMs ?? -1, headers);
    } catch (error) {
      // Refused before it was written (a timestamp the batch cannot hold): this record alone fails.
      if (!(error instanceof RangeError)) throw error;
      return Promise.reject(new PyralogClientError('BAD_REQUEST', error.message));
    }
    const target = batch;
    const result = new Promise<ProducedOffset>((resolve, reject) => target.waiters.push({ resolve, reject }));
    if (
      batch.frame.recordCount >= this.options.batchMaxRecords ||
      batch.frame.sizeBytes >= this.options.batchMaxBytes
    )
      this.sendBatch(batch);
    return result;
  }

  /** Sends every lingering batch and waits until every batch sent so far is answered. */
  async flush(): Promise<void> {
    for (const batch of [...this.batches.values()]) this.sendBatch(batch);
    while (this.unacknowledged.size > 0) await Promise.all([...this.unacknowledged]);
  }

  async fetch(
    topic: string,
    partition: number,
    offset: number,
    /** `isolation: 'read_committed'`: only below the last stable offset, without aborted transactions' records. */
    options: { maxBytes?: number; maxWaitMs?: number; isolation?: Isolation } = {},
  ): Promise<FetchResult> {
    const frame = encodeFetch(
      0,
      topic,
      partition,
      offset,
      options.maxBytes ?? 1024 * 1024,
      options.maxWaitMs ?? 0,
      options.isolation === 'read_committed' ? 1 : 0,
    );
    const reply = readRecordsFrame(await this.request(frame, WsOpCode.FETCHED));
    const records = decodeRecordSet(reply.batches).filter((record) => record.offset >= offset);
    return { records, highWatermark: reply.highWatermark, nextOffset: reply.nextOffset };
  }

  /**
   * Records of `partition` from `from` on, as they are appended, as an async iterator; with
   * `isolation: 'read_committed'` only committed ones, as they become stable.
   */
  subscribe(
    topic: string,
    partition: number,
    from: SubscribeFrom = 'latest',
    options: { isolation?: Isolation } = {},
  ): Subscription {
    const subscription = new Subscription(
      topic,
      partition,
      from,
      {
        pause: () => this.pauseReading(),
        resume: () => this.resumeReading(),
        unsubscribe: (s) => this.unsubscribe(s),
      },
      this.options.subscriptionHighWaterRecords,
      options.isolation === 'read_committed' ? 1 : 0,
    );
    this.subscriptions.add(subscription);
    void this.startSubscription(subscription);
    return subscription;
  }

  async commit(consumer: string, topic: string, partition: number, offset: number): Promise<void> {
    await this.request(encodeCommit(0, consumer, topic, partition, offset), WsOpCode.OK);
  }

  /** The consumer's committed offset, or -1 when it has none. */
  async committedOffset(consumer: string, topic: string, partition: number): Promise<number> {
    return readOffsetReply(
      await this.request(encodeOffsetRequest(0, consumer, topic, partition), WsOpCode.OFFSET_REPLY),
    );
  }

  /** Records from `offset` on as an Arrow IPC stream (read it with apache-arrow's tableFromIPC). */
  async arrow(
    topic: string,
    partition: number,
    offset: number,
    options: { limit?: number; maxBytes?: number; valuesAsJson?: boolean } = {},
  ): Promise<Uint8Array> {
    const frame = encodeArrowRequest(
      0,
      topic,
      partition,
      offset,
      options.maxBytes ?? 1024 * 1024,
      options.limit ?? 1000,
      options.valuesAsJson ?? false,
    );
    return readArrowReply(await this.request(frame, WsOpCode.ARROW_REPLY)).slice();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush().catch(() => undefined);
    this.closed = true;
    for (const subscription of this.subscriptions) subscription.close();
    this.socket?.close(1000, 'client closing');
    this.failPending(new PyralogClientError('CLOSED', 'the client is closed'));
    for (const wake of this.connectedWaiters.splice(0)) wake();
  }

  // ---- connection -------------------------------------------------------------

  private open(): Promise<void> {
    this.connecting ??= new Promise<void>((resolve, reject) => {
      const socket = new WebSocket(this.options.url, { maxPayload: this.options.maxMessageBytes });
      socket.binaryType = 'nodebuffer';
      let opened = false;
      socket.once('open', () => {
        opened = true;
        this.socket = socket;
        this.connecting = null;
        if (this.pausedBy > 0) socket.pause();
        resolve();
        for (const wake of this.connectedWaiters.splice(0)) wake();
        for (const subscription of this.subscriptions) void this.startSubscription(subscription);
      });
      // 'error' may come more than once; 'close' always follows it.
      socket.on('error', (error) => {
        if (!opened) {
          this.connecting = null;
          reject(new PyralogClientError('DISCONNECTED', error.message));
        }
      });
      socket.on('message', (data: Buffer, isBinary: boolean) => {
        if (isBinary) this.onFrame(new Uint8Array(data.buffer, data.byteOffset, data.length));
      });
      socket.once('close', () => {
        if (this.socket === socket) this.onDisconnect();
      });
    });
    return this.connecting;
  }

  private onDisconnect(): void {
    this.socket = null;
    this.bySubscriptionId.clear();
    for (const subscription of this.subscriptions) subscription.confirmed = false;
    this.failPending(disconnectedError());
    if (!this.closed) void this.reconnect();
  }

  private async reconnect(): Promise<void> {
    let delayMs = this.options.reconnectDelayMs;
    while (!this.closed && this.socket === null) {
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      if (this.closed) return;
      try {
        await this.open();
      } catch {
        delayMs = Math.min(delayMs * 2, this.options.reconnectDelayMaxMs);
      }
    }
  }

  private failPending(error: Error): void {
    for (const pending of this.pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(error);
    }
    this.pending.clear();
  }

  /** Sends a frame (its id is stamped here) and resolves with a reader of the reply's body. */
  private request(frame: Uint8Array, expectedOp: number, onId?: (id: number) => void): Promise<FrameReader> {
    if (this.closed) return Promise.reject(new PyralogClientError('CLOSED', 'the client is closed'));
    return new Promise<FrameReader>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        settled = true;
        for (const [id, pending] of this.pending) if (pending.timer === timer) this.pending.delete(id);
        reject(new PyralogClientError('TIMEOUT', `no answer within ${this.options.requestTimeoutMs} ms`));
      }, this.options.requestTimeoutMs);
      const send = (): void => {
        if (settled) return;
        const socket = this.socket;
        if (this.closed) {
          clearTimeout(timer);
          reject(new PyralogClientError('CLOSED', 'the client is closed'));
          return;
        }
        if (socket === null || socket.readyState !== WebSocket.OPEN) {
          this.connectedWaiters.push(send); // the connection is being re-established
          return;
        }
        const id = this.nextId;
        this.nextId = (this.nextId % 0xffff_fff0) + 1;
        stampFrameId(frame, id);
        onId?.(id);
        this.pending.set(id, {
          expectedOp,
          resolve: (reader) => {
            settled = true;
            resolve(reader);
          },
          reject: (error) => {
            settled = true;
            reject(error);
          },
          timer,
        });
        socket.send(frame);
      };
      send();
    });
  }

  private onFrame(bytes: Uint8Array): void {
    let header: { op: number; id: number };
    try {
      header = readFrameHeader(bytes);
    } catch {
      return; // not ours to understand: a broker of another protocol version
    }
    const reader = new FrameReader(bytes, header.id);
    if (header.op === WsOpCode.RECORDS) {
      const subscription = this.bySubscriptionId.get(header.id);
      if (subscription === undefined) return;
      try {
        const push = readRecordsFrame(reader);
        subscription.deliver(decodeRecordSet(push.batches), push.nextOffset);
      } catch (error) {
        subscription.fail(error as Error);
      }
      return;
    }
    const pending = this.pending.get(header.id);
    if (header.op === WsOpCode.ERROR) {
      let failure: PyralogClientError;
      try {
        const { code, message } = readError(reader);
        failure = new PyralogClientError(code, message);
      } catch (error) {
        failure = new PyralogClientError('BAD_REPLY', (error as Error).message);
      }
      if (pending !== undefined) {
        this.pending.delete(header.id);
        clearTimeout(pending.timer);
        pending.reject(failure);
      } else {
        this.bySubscriptionId.get(header.id)?.fail(failure);
      }
      return;
    }
    if (pending === undefined) return;
    this.pending.delete(header.id);
    clearTimeout(pending.timer);
    if (header.op === pending.expectedOp) pending.resolve(reader);
    else
      pending.reject(
        new PyralogClientError(
          'BAD_REPLY',
          `expected op 0x${pending.expectedOp.toString(16)}, got 0x${header.op.toString(16)}`,
        ),
      );
  }

  // ---- produce batching -------------------------------------------------------------

  private sendBatch(batch: Batch): void {
    if (this.batches.get(batch.key) !== batch) return;
    this.batches.delete(batch.key);
    if (this.lastBatch === batch) this.lastBatch = null;
    if (batch.timer !== null) clearTimeout(batch.timer);
    if (batch.waiters.length === 0) return; // its only records were refused: nothing to send
    const frame = batch.frame.finish();
    // The next batch starts at this one's size, so a steady stream of full batches never regrows its buffer.
    this.frameCapacityBytes = Math.max(
      MIN_FRAME_CAPACITY_BYTES,
      Math.min(frame.length, this.options.batchMaxBytes * 2),
    );
    const send = (): void => {
      this.batchesInFlight++;
      const answered = this.request(frame, WsOpCode.PRODUCED)
        .then((reply) => {
          const offsets = readProduced(reply);
          if (offsets.length !== batch.waiters.length)
            throw new PyralogClientError(
              'BAD_REPLY',
              `${offsets.length} offsets for ${batch.waiters.length} records`,
            );
          for (let i = 0; i < offsets.length; i++) batch.waiters[i]!.resolve(offsets[i]!);
        })
        .catch((error: Error) => {
          for (const waiter of batch.waiters) waiter.reject(error);
        })
        .finally(() => {
          this.batchesInFlight--;
          this.unacknowledged.delete(answered);
          this.queuedBatches.shift()?.();
        });
      this.unacknowledged.add(answered);
    };
    if (this.batchesInFlight < this.options.maxInFlightBatches) send();
    else this.queuedBatches.push(send);
  }

  // ---- subscriptions ---------------------------------------------------------------

  /** (Re)subscribes on the current connection, from the subscription's next offset once it has one. */
  private async startSubscription(subscription: Subscription): Promise<void> {
    // Not connected (or closing): the 'open' handler resubscribes, so a second SUBSCRIBE must not wait here.
    if (subscription.closed || this.socket === null || this.socket.readyState !== WebSocket.OPEN) return;
    subscription.confirmed = false;
    const frame = encodeSubscribe(
      0,
      subscription.topic,
      [subscription.partition],
      subscription.resumeFrom(),
      subscription.isolationLevel,
    );
    let reader: FrameReader;
    try {
      // The subscription id is the request id: registered before the first push can arrive.
      reader = await this.request(frame, WsOpCode.SUBSCRIBED, (id) => {
        subscription.serverId = id;
        this.bySubscriptionId.set(id, subscription);
      });
    } catch (error) {
      if (this.bySubscriptionId.get(subscription.serverId) === subscription)
        this.bySubscriptionId.delete(subscription.serverId);
      if (error instanceof PyralogClientError && error.code === 'DISCONNECTED') return; // retried on reconnect
      subscription.fail(error as Error);
      return;
    }
    const start = readSubscribed(reader).starts[0];
    subscription.started(start?.offset ?? -1);
    // Closed while the broker was subscribing: it could not be unsubscribed before it existed.
    if (subscription.closed) this.sendUnsubscribe(subscription);
  }

  private unsubscribe(subscription: Subscription): void {
    this.subscriptions.delete(subscription);
    if (subscription.confirmed) this.sendUnsubscribe(subscription);
  }

  private sendUnsubscribe(subscription: Subscription): void {
    const id = subscription.serverId;
    if (this.bySubscriptionId.get(id) !== subscription) return;
    this.bySubscriptionId.delete(id);
    subscription.confirmed = false;
    if (this.socket !== null) this.request(encodeUnsubscribe(0, id), WsOpCode.OK).catch(() => undefined);
  }

  private pauseReading(): void {
    if (this.pausedBy++ === 0) this.socket?.pause();
  }

  private resumeReading(): void {
    if (--this.pausedBy === 0) this.socket?.resume();
  }
}
