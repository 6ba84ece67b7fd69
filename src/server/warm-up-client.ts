import { connect, type Socket } from 'node:net';
import { concatChunks, KafkaReader, KafkaWriter } from '../protocol/kafka/primitives.js';

/**
 * The start-up warm-up's Kafka client (warm-up.ts): one loopback connection
 * to the broker's private warm-up listener, requests pipelined and matched to
 * their responses in order (a Kafka broker answers a connection's requests in
 * the order they came). Frames are built once and sent again as they are: the
 * broker echoes the correlation id, and nothing here needs it to be unique.
 *
 * Request frame: INT32 size, then header v1 (api_key INT16, api_version INT16,
 * correlation_id INT32, client_id NULLABLE_STRING), plus an empty tagged-field
 * section (header v2) for a flexible version, then the body. A response frame:
 * INT32 size, correlation_id INT32, an empty tagged-field section for a
 * flexible version, then the body, which the caller decodes.
 */
const CLIENT_ID = 'pyralog-warm-up';
const SIZE_BYTES = 4;

/** A request frame ready to send, with what its response needs to be read. */
export interface WarmUpRequest {
  readonly frame: Uint8Array;
  readonly flexible: boolean;
}

export function warmUpRequest(
  apiKey: number,
  version: number,
  flexible: boolean,
  writeBody: (writer: KafkaWriter) => void,
): WarmUpRequest {
  const writer = new KafkaWriter(1024);
  writer.beginFrame().int16(apiKey).int16(version).int32(1).nullableString(CLIENT_ID);
  if (flexible) writer.uvarint(0);
  writeBody(writer);
  return { frame: concatChunks(writer.finishFrame()), flexible };
}

interface Waiting {
  readonly flexible: boolean;
  resolve(body: KafkaReader): void;
  reject(error: Error): void;
}

export class WarmUpClient {
  private readonly waiting: Waiting[] = [];
  private pending: Buffer = Buffer.alloc(0);
  private failure: Error | null = null;

  private constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => this.fail(error));
    socket.on('close', () => this.fail(new Error('warm-up connection closed')));
  }

  static connect(port: number, host: string): Promise<WarmUpClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, host, () => {
        socket.off('error', reject);
        resolve(new WarmUpClient(socket));
      });
      socket.once('error', reject);
    });
  }

  /** Sends a request; resolves with a reader at the start of its response body. */
  send(request: WarmUpRequest): Promise<KafkaReader> {
    if (this.failure !== null) return Promise.reject(this.failure);
    return new Promise<KafkaReader>((resolve, reject) => {
      this.waiting.push({ flexible: request.flexible, resolve, reject });
      this.socket.write(request.frame);
    });
  }

  /** Closes the connection; requests still waiting are rejected. */
  close(): void {
    this.fail(new Error('warm-up client closed'));
    this.socket.destroy();
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const waiting of this.waiting.splice(0)) waiting.reject(this.failure);
  }

  private onData(chunk: Buffer): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    let at = 0;
    while (this.pending.length - at >= SIZE_BYTES) {
      const frameBytes = this.pending.readInt32BE(at);
      if (this.pending.length - at - SIZE_BYTES < frameBytes) break;
      const frame = this.pending.subarray(at + SIZE_BYTES, at + SIZE_BYTES + frameBytes);
      at += SIZE_BYTES + frameBytes;
      const waiting = this.waiting.shift();
      if (waiting === undefined) {
        this.fail(new Error('a warm-up response nobody asked for'));
        return;
      }
      const reader = new KafkaReader(frame);
      reader.int32(); // correlation id
      if (waiting.flexible) reader.taggedFields(null);
      waiting.resolve(reader);
    }
    this.pending = this.pending.subarray(at);
  }
}
