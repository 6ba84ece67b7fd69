import type { Socket } from 'node:net';
import { KafkaErrorCode } from '../common/kafka-error-code.js';
import type { FrontDoorDeps } from '../protocol/front-door-deps.js';
import { ApiKey, type KafkaRequestContext } from '../protocol/kafka/api.js';
import { kafkaApis, kafkaApisByKey } from '../protocol/kafka/api-registry.js';
import { apiVersions } from '../protocol/kafka/api-versions.js';
import { KafkaReader, KafkaWriter, MalformedRequestError } from '../protocol/kafka/primitives.js';

/**
 * One Kafka client connection, on the acceptor thread.
 *
 * Framing: each request is `INT32 size` then `size` bytes: the request header
 * v1 (api_key INT16, api_version INT16, correlation_id INT32, client_id
 * NULLABLE_STRING) and the body. A frame larger than maxRequestBytes, or one
 * that does not decode, closes the connection: the stream cannot be trusted
 * past it. Responses are `INT32 size`, correlation_id INT32 (response header
 * v0), body.
 *
 * Clients pipeline requests and match responses in order, so responses are
 * written in the order requests arrived even when handlers finish out of
 * order; acks=0 produces hold a place in that order but send nothing. At most
 * maxInFlightRequestsPerConnection requests are in progress: past that the
 * socket is paused and frames already received wait unparsed, which pushes
 * back on the client through TCP. Every response is encoded into the
 * connection's one writer (see KafkaWriter.beginFrame).
 */
const SIZE_BYTES = 4;
const REQUEST_HEADER_MIN_BYTES = 8;

interface Slot {
  correlationId: number;
  done: boolean;
  chunks: Uint8Array[] | null;
}

export interface ConnectionLog {
  warn(details: object, message: string): void;
}

export class KafkaConnection {
  private readonly chunks: Buffer[] = [];
  private bufferedBytes = 0;
  private readonly slots: Slot[] = [];
  private paused = false;
  private parsing = false;
  private closed = false;
  private flushScheduled = false;
  private readonly flushNow = (): void => {
    this.flushScheduled = false;
    this.flush();
  };
  private readonly writer = new KafkaWriter(16 * 1024);
  /** The peer's address, read once: `socket.remoteAddress` is a getter through `_getpeername`. */
  private readonly clientHost: string;

  constructor(
    private readonly socket: Socket,
    private readonly deps: FrontDoorDeps,
    private readonly log: ConnectionLog,
  ) {
    this.clientHost = socket.remoteAddress ?? '';
    socket.setNoDelay(true);
    socket.setTimeout(deps.config.idleTimeoutMs, () => this.close('idle timeout'));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => this.close('socket error'));
    socket.on('close', () => {
      this.closed = true;
    });
  }

  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    if (reason !== 'socket error' && reason !== 'idle timeout')
      this.log.warn({ reason }, 'closing Kafka connection');
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.bufferedBytes += chunk.length;
    this.parse();
  }

  /** Handles every whole frame received, until the in-flight limit pauses the connection. */
  private parse(): void {
    // A response finishing synchronously inside onFrame may unpause and call back here: the loop below
    // already continues, so the nested call does nothing.
    if (this.parsing) return;
    this.parsing = true;
    try {
      while (!this.closed && !this.paused && this.bufferedBytes >= SIZE_BYTES) {
        const size = this.peekSize();
        if (size < REQUEST_HEADER_MIN_BYTES || size > this.deps.config.maxRequestBytes) {
          this.close(
            `request size ${size} outside ${REQUEST_HEADER_MIN_BYTES}..${this.deps.config.maxRequestBytes}`,
          );
          return;
        }
        if (this.bufferedBytes < SIZE_BYTES + size) return;
        this.advance(SIZE_BYTES);
        const pieces: Buffer[] = [];
        this.advance(size, pieces);
        this.onFrame(pieces);
      }
    } finally {
      this.parsing = false;
    }
  }

  private peekSize(): number {
    const first = this.chunks[0]!;
    if (first.length >= SIZE_BYTES) return first.readInt32BE(0);
    return Buffer.concat(this.chunks, SIZE_BYTES).readInt32BE(0);
  }

  /**
   * Removes `byteCount` bytes from the front; with `pieces`, keeps them there
   * as views of the chunks they sit in (no copy: Node gives every socket read
   * a buffer of its own).
   */
  private advance(byteCount: number, pieces?: Buffer[]): void {
    let taken = 0;
    while (taken < byteCount) {
      const chunk = this.chunks[0]!;
      const wanted = byteCount - taken;
      if (chunk.length <= wanted) {
        pieces?.push(chunk);
        taken += chunk.length;
        this.chunks.shift();
      } else {
        pieces?.push(chunk.subarray(0, wanted));
        this.chunks[0] = chunk.subarray(wanted);
        taken = byteCount;
      }
    }
    this.bufferedBytes -= byteCount;
  }

  /** Handles one request, given as the pieces of the socket reads it arrived in. */
  private onFrame(pieces: Buffer[]): void {
    const reader = KafkaReader.overPieces(pieces);
    let apiKey: number;
    let apiVersion: number;
    let correlationId: number;
    let clientId: string;
    try {
      apiKey = reader.int16();
      apiVersion = reader.int16();
      correlationId = reader.int32();
      clientId = reader.nullableString() ?? '';
    } catch {
      this.close('malformed request header');
      return;
    }
    const api = kafkaApisByKey[apiKey];
    if (api === undefined) {
      this.close(`unknown API key ${apiKey}`);
      return;
    }
    const slot: Slot = { correlationId, done: false, chunks: null };
    if (apiVersion < api.minVersion || apiVersion > api.maxVersion) {
      if (apiKey !== ApiKey.API_VERSIONS) {
        this.close(`${api.name} v${apiVersion} is not supported (${api.minVersion}..${api.maxVersion})`);
        return;
      }
      // A newer client's ApiVersions: answer in the v0 layout with the list, so it can fall back.
      this.slots.push(slot);
      this.complete(slot, (writer) =>
        apiVersions.encode(writer, { errorCode: KafkaErrorCode.UNSUPPORTED_VERSION, apis: kafkaApis }, 0),
      );
      return;
    }
    const context: KafkaRequestContext = {
      deps: this.deps,
      apiVersion,
      clientId,
      clientHost: this.clientHost,
      apis: kafkaApis,
    };
    let running: Promise<((writer: KafkaWriter) => void) | null>;
    try {
      running = api.run(reader, context);
    } catch (error) {
      this.close(
        error instanceof MalformedRequestError ? `malformed ${api.name}: ${error.message}` : String(error),
      );
      return;
    }
    this.slots.push(slot);
    if (this.slots.length >= this.deps.config.maxInFlightRequestsPerConnection && !this.paused) {
      this.paused = true;
      this.socket.pause();
    }
    running.then(
      (encode) => {
        if (encode === null) {
          slot.done = true;
          this.scheduleFlush();
          return;
        }
        try {
          this.complete(slot, encode);
        } catch (error) {
          this.fail(api.name, error);
        }
      },
      (error: unknown) => this.fail(api.name, error),
    );
  }

  /** A handler or encoder that fails has a bug: the client cannot be answered sensibly, so it is dropped. */
  private fail(apiName: string, error: unknown): void {
    this.log.warn({ api: apiName, error: String(error) }, 'Kafka handler failed');
    this.close(`${apiName} handler failed`);
  }

  /** Encodes the response (header v0: correlation_id, then the body) as one frame and queues it. */
  private complete(slot: Slot, encode: (writer: KafkaWriter) => void): void {
    const writer = this.writer.beginFrame().int32(slot.correlationId);
    encode(writer);
    slot.chunks = writer.finishFrame();
    slot.done = true;
    this.scheduleFlush();
  }

  /**
   * Flushes once the microtasks queued so far have run (process.nextTick runs
   * after the microtask queue drains): responses that finish in the same
   * burst of shard replies leave in one write instead of one syscall each.
   */
  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    process.nextTick(this.flushNow);
  }

  /** Writes every finished response at the head of the queue, in arrival order. */
  private flush(): void {
    if (this.closed) return;
    let wrote = false;
    while (this.slots.length > 0 && this.slots[0]!.done) {
      const slot = this.slots.shift()!;
      if (slot.chunks === null) continue;
      if (!wrote) this.socket.cork();
      wrote = true;
      for (const chunk of slot.chunks) this.socket.write(chunk);
    }
    if (wrote) this.socket.uncork();
    if (this.paused && this.slots.length < this.deps.config.maxInFlightRequestsPerConnection) {
      this.paused = false;
      this.socket.resume();
      this.parse();
    }
  }
}
