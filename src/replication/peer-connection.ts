import { connect, isIP, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import type { MessageCodec } from '../protocol/kafka/message/message-codec.js';
import { KafkaReader, KafkaWriter } from '../protocol/kafka/primitives.js';
import { authenticatePeer, type PeerSaslOptions } from './peer-sasl.js';

/**
 * One Kafka connection from this broker to another (a follower to its
 * leader), speaking the same protocol as any client: requests framed with
 * header v2 for flexible versions (Fetch v12, OffsetForLeaderEpoch v4,
 * SaslAuthenticate v2) and v1 otherwise (SaslHandshake v1), responses
 * matched by correlation id. Every
 * request is answered or rejected within `requestTimeoutMs`; a timeout, a
 * malformed frame or a closed socket rejects everything in flight and closes
 * the connection (the caller opens a new one). Frames larger than
 * `maxFrameBytes` close it too. On an inter-broker listener with TLS the
 * connection checks the peer's certificate against the given CA (and shows
 * a client certificate when one is given); with SASL it authenticates as the
 * broker principal (peer-sasl.ts) before it is handed out. Owned by the
 * acceptor thread.
 */
export interface PeerConnectionOptions {
  host: string;
  port: number;
  clientId: string;
  requestTimeoutMs: number;
  maxFrameBytes: number;
  /** TLS to the peer (SSL and SASL_SSL inter-broker listeners); null or absent: plain TCP. */
  tls?: PeerTlsOptions | null;
  /** SASL as the broker principal (SASL_* inter-broker listeners); null or absent: none. */
  sasl?: PeerSaslOptions | null;
}

/** PEM bytes: the CA the peer's certificate must chain to (absent: the system's), a client certificate and key. */
export interface PeerTlsOptions {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/** How a follower reaches other brokers: TLS and SASL settings shared by every peer connection. */
export interface PeerSecurity {
  tls: PeerTlsOptions | null;
  sasl: PeerSaslOptions | null;
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

  /** Connects (TLS handshake and SASL included) within the request timeout each. */
  static async open(options: PeerConnectionOptions): Promise<PeerConnection> {
    const connection = await PeerConnection.connect(options);
    if (options.sasl !== undefined && options.sasl !== null) {
      try {
        await authenticatePeer(connection, options.sasl);
      } catch (error) {
        connection.close();
        throw new PeerConnectionError(
          `SASL ${options.sasl.mechanism} to ${options.host}:${options.port} as ${options.sasl.username}: ${(error as Error).message}`,
        );
      }
    }
    return connection;
  }

  private static connect(options: PeerConnectionOptions): Promise<PeerConnection> {
    return new Promise((resolve, reject) => {
      const tls = options.tls ?? null;
      const socket =
        tls === null
          ? connect(options.port, options.host)
          : connectTls({
              host: options.host,
              port: options.port,
              ...(isIP(options.host) === 0 ? { servername: options.host } : {}),
              ...(tls.ca === undefined ? {} : { ca: tls.ca }),
              ...(tls.cert === undefined ? {} : { cert: tls.cert }),
              ...(tls.key === undefined ? {} : { key: tls.key }),
            });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new PeerConnectionError(`connect to ${options.host}:${options.port} timed out`));
      }, options.requestTimeoutMs);
      socket.once(tls === null ? 'connect' : 'secureConnect', () => {
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
   * Sends one request and resolves with its decoded response; rejects on
   * timeout or a lost connection. The headers follow the request's version
   * (flexible or not, e.g. SaslHandshake v1 during authentication).
   */
  send<Request, Response>(
    apiKey: number,
    version: number,
    request: MessageCodec<Request>,
    body: Request,
    response: MessageCodec<Response>,
    timeoutMs = this.options.requestTimeoutMs,
  ): Promise<Response> {
    // Request header v2 and response header v1 (tagged fields) for flexible versions; v1 and v0 otherwise.
    const flexibleHeaders = version >= request.firstFlexibleVersion;
    if (this.closedError !== null) return Promise.reject(this.closedError);
    const correlationId = this.nextCorrelationId;
    this.nextCorrelationId = (this.nextCorrelationId + 1) & 0x7fff_ffff || 1;
    const writer = new KafkaWriter(512);
    writer.beginFrame();
    writer.int16(apiKey).int16(version).int32(correlationId).nullableString(this.options.clientId);
    if (flexibleHeaders) writer.uvarint(0);
    request.encode(writer, body, version);
    const chunks = writer.finishFrame();
    return new Promise<Response>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.fail(new PeerConnectionError(`request ${apiKey} v${version} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.inFlight.set(correlationId, {
        resolve: (reader) => {
          try {
            if (flexibleHeaders) reader.taggedFields(null); // response header v1 (v0 has none)
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
