import { connect, type Socket } from 'node:net';
import { concatChunks, KafkaReader, KafkaWriter } from '../../src/protocol/kafka/primitives.js';

/**
 * A bare Kafka wire client for tests: sends hand-built requests (header v1)
 * and returns each response body with its correlation id, in arrival order.
 * Every wait is bounded.
 */
export class KafkaWire {
  private buffered = Buffer.alloc(0);
  private readonly responses: { correlationId: number; body: Uint8Array }[] = [];
  private waiters: (() => void)[] = [];
  closed = false;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      while (this.buffered.length >= 4) {
        const size = this.buffered.readInt32BE(0);
        if (this.buffered.length < 4 + size) break;
        const frame = this.buffered.subarray(4, 4 + size);
        this.responses.push({ correlationId: frame.readInt32BE(0), body: new Uint8Array(frame.subarray(4)) });
        this.buffered = this.buffered.subarray(4 + size);
      }
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  static open(port: number): Promise<KafkaWire> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => resolve(new KafkaWire(socket)));
      socket.once('error', reject);
    });
  }

  /** A full request frame: size, api key, version, correlation id, client id, then `body`. */
  static frame(
    apiKey: number,
    apiVersion: number,
    correlationId: number,
    body: (writer: KafkaWriter) => void,
  ): Uint8Array {
    const writer = new KafkaWriter();
    writer.int16(apiKey).int16(apiVersion).int32(correlationId).nullableString('wire-test');
    body(writer);
    const payload = concatChunks(writer.finish());
    const frame = new Uint8Array(4 + payload.length);
    new DataView(frame.buffer).setInt32(0, payload.length);
    frame.set(payload, 4);
    return frame;
  }

  send(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  request(
    apiKey: number,
    apiVersion: number,
    correlationId: number,
    body: (writer: KafkaWriter) => void,
  ): void {
    this.send(KafkaWire.frame(apiKey, apiVersion, correlationId, body));
  }

  /** The next response, or null when the connection closed first; waits up to `timeoutMs`. */
  async next(timeoutMs = 5000): Promise<{ correlationId: number; reader: KafkaReader } | null> {
    const deadline = Date.now() + timeoutMs;
    while (this.responses.length === 0) {
      if (this.closed) return null;
      if (Date.now() > deadline) throw new Error('no Kafka response in time');
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
    const response = this.responses.shift()!;
    return { correlationId: response.correlationId, reader: new KafkaReader(response.body) };
  }

  /** Whether the broker closes the connection within `timeoutMs`. */
  async closedWithin(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    return this.closed;
  }

  close(): void {
    this.socket.destroy();
  }

  private wake(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }
}
