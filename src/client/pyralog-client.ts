import WebSocket from 'ws';
import type { Acks } from '../engine/engine-api.js';
import { FrameReader, FrameWriter, readFrameHeader, WsOpCode } from '../protocol/ws/binary-frame.js';
import { decodeRecordSet } from '../record/batch-reader.js';
import '../record/compression.js';
import type { ConsumedRecord, ProducedRecord } from '../record/record.js';
import { PyralogClientError } from './client-errors.js';
import { disconnectedError, Subscription } from './subscription.js';

/**
 * A TypeScript client for Pyralog's binary WebSocket protocol
 * (docs/websocket.md), for Node.
 *
 * - produce() batches records per topic and partition: a batch goes out when
 *   it reaches batchMaxRecords or batchMaxBytes, or lingerMs after its first
 *   record, as a Kafka producer's linger.ms does. Each call resolves with its
 *   record's partition and offset.
 * - subscribe() returns an async iterator of records, resumed after a
 *   reconnect from the last offset seen, with no gap or duplicate.
 * - The connection is re-established with exponential backoff; requests in
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
  /**
   * Produce batches sent and not yet acknowledged; further batches wait their
   * turn here, so the client never exceeds the broker's per-connection limit.
   */
  maxInFlightBatches?: number;
}

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
  resolve: (frame: FrameReader, op: number) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

interface Batch {
  topic: string;
  partition: number;
  records: ProducedRecord[];
  bytes: number;
  waiters: {
    resolve: (value: { partition: number; offset: number }) => void;
    reject: (error: Error) => void;
  }[];
  timer: NodeJS.Timeout | null;
}

const encoder = new TextEncoder();

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
  private pausedBy = 0;
  private batchesInFlight = 0;
  private readonly waitingBatches: (() => void)[] = [];
  private readonly options: Required<PyralogClientOptions>;

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
      ...options,
    };
  }

  static async connect(options: PyralogClientOptions): Promise<PyralogClient> {
    const client = new PyralogClient(options);
    await client.open();
    return client;
  }

  /** Queues a record; resolves when its batch is acknowledged. */
  produce(topic: string, record: ClientRecord): Promise<{ partition: number; offset: number }> {
    if (this.closed) return Promise.reject(new PyralogClientError('CLOSED', 'the client is closed'));
    const key = bytesOf(record.key);
    const partition = record.partition ?? -1;
    // Records without a partition are batched by key, so the broker's key hash sends each batch where its key goes.
    const batchKey = `${topic}\u0000${partition}\u0000${partition < 0 && key !== null ? Buffer.from(key).toString('hex') : ''}`;
    let batch = this.batches.get(batchKey);
    if (batch === undefined) {
      batch = { topic, partition, records: [], bytes: 0, waiters: [], timer: null };
      this.batches.set(batchKey, batch);
      const created = batch;
      batch.timer = setTimeout(() => this.sendBatch(batchKey, created), this.options.lingerMs);
    }
    const produced: ProducedRecord = {
      key,
      value: bytesOf(record.value),
      headers: Object.entries(record.headers ?? {}).map(([name, value]) => ({
        key: name,
        value: bytesOf(value),
      })),
      ...(record.timestampMs === undefined ? {} : { timestampMs: record.timestampMs }),
    };
    batch.records.push(produced);
    batch.bytes += (produced.key?.length ?? 0) + (produced.value?.length ?? 0) + 32;
    const result = new Promise<{ partition: number; offset: number }>((resolve, reject) =>
      batch.waiters.push({ resolve, reject }),
    );
    if (batch.records.length >= this.options.batchMaxRecords || batch.bytes >= this.options.batchMaxBytes) {
      this.sendBatch(batchKey, batch);
    }
    return result;
  }

  /** Sends every batch still lingering and waits for their acknowledgements. */
  async flush(): Promise<void> {
    const waits: Promise<unknown>[] = [];
    for (const [batchKey, batch] of [...this.batches]) {
      waits.push(
        ...batch.waiters.map(
          (w) =>
            new Promise((resolve) => {
              const original = w.resolve;
              const originalReject = w.reject;
              w.resolve = (value) => {
                original(value);
                resolve(undefined);
              };
              w.reject = (error) => {
                originalReject(error);
                resolve(undefined);
              };
            }),
        ),
      );
      this.sendBatch(batchKey, batch);
    }
    await Promise.all(waits);
  }

  async fetch(
    topic: string,
    partition: number,
    offset: number,
    options: { maxBytes?: number; maxWaitMs?: number } = {},
  ): Promise<FetchResult> {
    const frame = new FrameWriter(WsOpCode.FETCH, 0)
      .str(topic)
      .i32(partition)
      .f64(offset)
      .u32(options.maxBytes ?? 1024 * 1024)
      .u32(options.maxWaitMs ?? 0);
    const reply = await this.request(frame, WsOpCode.FETCHED);
    reply.i32();
    const highWatermark = reply.f64();
    const nextOffset = reply.f64();
    const records = decodeRecordSet(reply.rest()).filter((record) => record.offset >= offset);
    return { records, highWatermark, nextOffset };
  }

  /** Records of `partition` from `from` on, as they are appended. */
  subscribe(topic: string, partition: number, from: 'earliest' | 'latest' | number = 'latest'): Subscription {
    const start = typeof from === 'number' ? from : -1;
    const subscription = new Subscription(
      topic,
      partition,
      start,
      {
        pause: () => this.pauseReading(),
        resume: () => this.resumeReading(),
        unsubscribe: (s) => this.unsubscribe(s),
      },
      this.options.subscriptionHighWaterRecords,
    );
    this.subscriptions.add(subscription);
    void this.startSubscription(subscription, from).catch((error: Error) => subscription.fail(error));
    return subscription;
  }

  async commit(consumer: string, topic: string, partition: number, offset: number): Promise<void> {
    await this.request(
      new FrameWriter(WsOpCode.COMMIT, 0).str(consumer).str(topic).i32(partition).f64(offset),
      WsOpCode.OK,
    );
  }

  async committedOffset(consumer: string, topic: string, partition: number): Promise<number> {
    const reply = await this.request(
      new FrameWriter(WsOpCode.OFFSET, 0).str(consumer).str(topic).i32(partition),
      WsOpCode.OFFSET_REPLY,
    );
    return reply.f64();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush().catch(() => undefined);
    this.closed = true;
    for (const subscription of this.subscriptions) subscription.close();
    this.socket?.close(1000, 'client closing');
    this.failPending(new PyralogClientError('CLOSED', 'the client is closed'));
  }

  // ---- connection -------------------------------------------------------------

  private open(): Promise<void> {
    this.connecting ??= new Promise<void>((resolve, reject) => {
      const socket = new WebSocket(this.options.url, { maxPayload: 0 });
      socket.binaryType = 'nodebuffer';
      socket.once('open', () => {
        this.socket = socket;
        this.connecting = null;
        if (this.pausedBy > 0) socket.pause();
        resolve();
        for (const subscription of this.subscriptions) {
          if (!subscription.closed)
            void this.startSubscription(subscription, subscription.nextOffset).catch((error: Error) =>
              subscription.fail(error),
            );
        }
      });
      socket.once('error', (error) => {
        if (this.socket !== socket) {
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
    this.failPending(disconnectedError());
    if (!this.closed) void this.reconnect();
  }

  private async reconnect(): Promise<void> {
    let delayMs = this.options.reconnectDelayMs;
    while (!this.closed && this.socket === null) {
      await new Promise((resolve) => setTimeout(resolve, delayMs));
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

  private request(frame: FrameWriter, expectedOp: number): Promise<FrameReader> {
    return new Promise<FrameReader>((resolve, reject) => {
      const socket = this.socket;
      if (socket === null || socket.readyState !== WebSocket.OPEN) {
        reject(disconnectedError());
        return;
      }
      const id = this.nextId;
      this.nextId = (this.nextId % 0xffff_fff0) + 1;
      const bytes = frame.finish();
      new DataView(bytes.buffer, bytes.byteOffset).setUint32(4, id);
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new PyralogClientError('TIMEOUT', `no answer within ${this.options.requestTimeoutMs} ms`));
      }, this.options.requestTimeoutMs);
      this.pending.set(id, {
        resolve: (reader, op) => {
          if (op === expectedOp) resolve(reader);
          else
            reject(
              new PyralogClientError(
                'BAD_REPLY',
                `expected op 0x${expectedOp.toString(16)}, got 0x${op.toString(16)}`,
              ),
            );
        },
        reject,
        timer,
      });
      socket.send(bytes);
    });
  }

  private onFrame(bytes: Uint8Array): void {
    let header: { op: number; id: number };
    try {
      header = readFrameHeader(bytes);
    } catch {
      return;
    }
    const reader = new FrameReader(bytes, header.id).at(8);
    if (header.op === WsOpCode.RECORDS) {
      const subscription = this.bySubscriptionId.get(header.id);
      if (subscription === undefined) return;
      reader.i32();
      reader.f64();
      const nextOffset = reader.f64();
      subscription.deliver(decodeRecordSet(reader.rest()), nextOffset);
      return;
    }
    if (header.op === WsOpCode.ERROR) {
      const code = reader.str();
      const message = reader.str();
      const subscription = this.bySubscriptionId.get(header.id);
      const pending = this.pending.get(header.id);
      if (pending !== undefined) {
        this.pending.delete(header.id);
        clearTimeout(pending.timer);
        pending.reject(new PyralogClientError(code, message));
      } else if (subscription !== undefined) {
        subscription.fail(new PyralogClientError(code, message));
      }
      return;
    }
    const pending = this.pending.get(header.id);
    if (pending === undefined) return;
    this.pending.delete(header.id);
    clearTimeout(pending.timer);
    pending.resolve(reader, header.op);
  }

  // ---- produce batching -------------------------------------------------------------

  private sendBatch(batchKey: string, batch: Batch): void {
    if (this.batches.get(batchKey) !== batch) return;
    this.batches.delete(batchKey);
    if (batch.timer !== null) clearTimeout(batch.timer);
    const frame = new FrameWriter(WsOpCode.PRODUCE, 0, 64 + batch.bytes)
      .str(batch.topic)
      .i32(batch.partition)
      .i8(this.options.acks)
      .u8(0)
      .u32(batch.records.length);
    for (const record of batch.records) {
      frame
        .nullableBytes(record.key)
        .nullableBytes(record.value)
        .f64(record.timestampMs ?? -1);
      const headers = record.headers ?? [];
      frame.u16(headers.length);
      for (const header of headers) frame.str(header.key).nullableBytes(header.value);
    }
    // Backpressure: past maxInFlightBatches a batch waits for an earlier one to be acknowledged.
    const send = (): void => {
      this.batchesInFlight++;
      this.request(frame, WsOpCode.PRODUCED)
        .then(
          (reply) => {
            const partition = reply.i32();
            const baseOffset = reply.f64();
            batch.waiters.forEach((waiter, i) => {
              waiter.resolve({ partition, offset: baseOffset < 0 ? -1 : baseOffset + i });
            });
          },
          (error: Error) => {
            for (const waiter of batch.waiters) waiter.reject(error);
          },
        )
        .finally(() => {
          this.batchesInFlight--;
          this.waitingBatches.shift()?.();
        });
    };
    if (this.batchesInFlight < this.options.maxInFlightBatches) send();
    else this.waitingBatches.push(send);
  }

  // ---- subscriptions ---------------------------------------------------------------

  private async startSubscription(
    subscription: Subscription,
    from: 'earliest' | 'latest' | number,
  ): Promise<void> {
    if (this.socket === null) return; // resubscribed on reconnect
    const fromKind = typeof from === 'number' && from >= 0 ? 0 : from === 'earliest' ? 1 : 2;
    const frame = new FrameWriter(WsOpCode.SUBSCRIBE, 0)
      .str(subscription.topic)
      .i16(1)
      .i32(subscription.partition)
      .u8(fromKind)
      .f64(typeof from === 'number' ? Math.max(0, from) : 0);
    const bytes = frame.finish();
    const id = this.nextId;
    // The subscription id is the request id: register before the first push can arrive.
    this.bySubscriptionId.set(id, subscription);
    subscription.serverId = id;
    let reply: FrameReader;
    try {
      reply = await this.request(rewrap(bytes), WsOpCode.SUBSCRIBED);
    } catch (error) {
      this.bySubscriptionId.delete(id);
      if (error instanceof PyralogClientError && error.code === 'DISCONNECTED') return; // retried on reconnect
      throw error;
    }
    reply.u32();
    reply.u16();
    reply.i32();
    const startOffset = reply.f64();
    // 'earliest' and 'latest' become a real offset, so a resubscription after a reconnect resumes, not restarts.
    if (subscription.nextOffset < startOffset) subscription.nextOffset = startOffset;
  }

  private unsubscribe(subscription: Subscription): void {
    this.subscriptions.delete(subscription);
    const id = subscription.serverId;
    if (this.bySubscriptionId.get(id) !== subscription) return;
    this.bySubscriptionId.delete(id);
    this.request(new FrameWriter(WsOpCode.UNSUBSCRIBE, 0).u32(id), WsOpCode.OK).catch(() => undefined);
  }

  private pauseReading(): void {
    if (this.pausedBy++ === 0) this.socket?.pause();
  }

  private resumeReading(): void {
    if (--this.pausedBy === 0) this.socket?.resume();
  }
}

/** A FrameWriter over already-built bytes, so request() can stamp its id into them. */
function rewrap(bytes: Uint8Array): FrameWriter {
  const writer = new FrameWriter(bytes[1]!, 0, bytes.length);
  writer.raw(bytes.subarray(8));
  return writer;
}
