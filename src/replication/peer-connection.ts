import { connect, type Socket } from 'node:net';
import type { MessageCodec } from '../protocol/kafka/message/message-codec.js';
import { KafkaReader, KafkaWriter } from '../protocol/kafka/primitives.js';

/**
 * One Kafka connection from this broker to another (a follower to its
 * leader), speaking the same protocol as any client: requests framed with
 * header v2 (flexible versions only; the callers use Fetch v12 and
 * OffsetForLeaderEpoch v4), responses matched by correlation id. Every
 * request is answered or rejected within `requestTimeoutMs`; a timeout, a
 * malformed frame or a closed socket rejects everything in flight and closes
 * the connection (the caller opens a new one). Frames larger than
 * `maxFrameBytes` close it too. Owned by the acceptor thread.
 */
export interface PeerConnectionOptions {
  host: string;
  port: number;
  clientId: string;
  requestTimeoutMs: number;
  maxFrameBytes: number;
}

interface InFlight {
  resolve: (reader: KafkaReader) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

export class PeerConnectionError extends Error {}

export class PeerConnection {
  private readonly inFlight = new Map<number, InFlight>();
  private nextCorrelationId = 1;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private closedError: Error | null = null;

  private constructor(
    private readonly socket: Socket,
    private readonly options: PeerConnectionOptions,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => this.fail(new PeerConnectionError(`connection error: ${error.message}`)));
    socket.on('close', () => this.fail(new PeerConnectionError('connection closed')));
  }

  /** Connects within the request timeout. */
  static open(options: PeerConnectionOptions): Promise<PeerConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect(options.port, options.host);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new PeerConnectionError(`connect to ${options.host}:${options.port} timed out`));
      }, options.requestTimeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new PeerConnection(socket, options));
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        socket.destroy();
        reject(new PeerConnectionError(`connect to ${options.host}:${options.port}: ${error.message}`));
      });
    });
  }

  get closed(): boolean {
    return this.closedError !== null;
  }

  /**
   * Sends one request (a flexible version of `request`'s API) and resolves
   * with its decoded response; rejects on timeout or a lost connection.
   */
  send<Request, Response>(
    apiKey: number,
    version: number,
    request: MessageCodec<Request>,
    body: Request,
    response: MessageCodec<Response>,
    timeoutMs = this.options.requestTimeoutMs,
  ): Promise<Response> {
    if (this.closedError !== null) return Promise.reject(this.closedError);
    const correlationId = this.nextCorrelationId;
    this.nextCorrelationId = (this.nextCorrelationId + 1) & 0x7fff_ffff || 1;
    const writer = new KafkaWriter(512);
    writer.beginFrame();
    writer.int16(apiKey).int16(version).int32(correlationId).nullableString(this.options.clientId).uvarint(0);
    request.encode(writer, body, version);
    const chunks = writer.finishFrame();
    return new Promise<Response>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.fail(new PeerConnectionError(`request ${apiKey} v${version} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.inFlight.set(correlationId, {
        resolve: (reader) => {
          try {
            reader.taggedFields(null); // response header v1
            resolve(response.decode(reader, version));
          } catch (error) {
            reject(error instanceof Error ? error : new Error(String(error)));
          }
        },
        reject,
        timer,
      });
      for (const chunk of chunks) this.socket.write(chunk);
    });
  }

  close(): void {
    this.fail(new PeerConnectionError('connection closed by this broker'));
  }

  private onData(chunk: Buffer): void {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    while (this.pendingBytes >= 4) {
      const joined = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
      this.pending = [joined];
      const size = joined.readInt32BE(0);
      if (size < 4 || size > this.options.maxFrameBytes) {
        this.fail(new PeerConnectionError(`response frame of ${size} bytes refused`));
        return;
      }
      if (joined.length < 4 + size) return;
      const frame = new Uint8Array(joined.buffer, joined.byteOffset + 4, size);
      const rest = joined.subarray(4 + size);
      this.pending = rest.length > 0 ? [rest] : [];
      this.pendingBytes = rest.length;
      const correlationId = new DataView(frame.buffer, frame.byteOffset).getInt32(0);
      const waiting = this.inFlight.get(correlationId);
      if (waiting === undefined) continue; // answered after its timeout: dropped
      this.inFlight.delete(correlationId);
      clearTimeout(waiting.timer);
      // The response keeps views into the frame (records): copy it out of the shared socket chunk.
      const own = frame.slice();
      waiting.resolve(new KafkaReader(own, 4));
    }
  }

  private fail(error: Error): void {
    if (this.closedError === null) this.closedError = error;
    for (const waiting of this.inFlight.values()) {
      clearTimeout(waiting.timer);
      waiting.reject(error);
    }
    this.inFlight.clear();
    this.socket.destroy();
  }
}
