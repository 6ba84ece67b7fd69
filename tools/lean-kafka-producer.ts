import { connect, type Socket } from 'node:net';

/**
 * A lean Kafka producer for load generation: it sends ready RecordBatches
 * in Produce v7 requests with many in flight on one connection, and matches
 * responses by correlation id (Kafka answers in order). kafkajs would be the
 * bottleneck of a benchmark; this does as little as the protocol allows.
 */
export interface ProduceAck {
  errorCode: number;
  baseOffset: number;
}

const PRODUCE = 0;
const VERSION = 7;
const CLIENT_ID = 'pyralog-bench';

export class LeanKafkaProducer {
  private nextCorrelationId = 1;
  private readonly waiting = new Map<number, (ack: ProduceAck) => void>();
  private buffered: Buffer = Buffer.alloc(0);

  private constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
  }

  static connect(port: number, host = '127.0.0.1'): Promise<LeanKafkaProducer> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, host, () => resolve(new LeanKafkaProducer(socket)));
      socket.once('error', reject);
    });
  }

  /** Sends one batch to one partition; resolves with the partition's error code and base offset (acks 1 or -1). */
  produce(topic: string, partition: number, batch: Uint8Array, acks: 1 | -1): Promise<ProduceAck> {
    const correlationId = this.nextCorrelationId++;
    const topicBytes = Buffer.byteLength(topic);
    const size = 2 + 2 + 4 + 2 + CLIENT_ID.length + 2 + 2 + 4 + 4 + 2 + topicBytes + 4 + 4 + 4 + batch.length;
    const frame = Buffer.allocUnsafe(4 + size - batch.length);
    let at = frame.writeInt32BE(size, 0);
    at = frame.writeInt16BE(PRODUCE, at);
    at = frame.writeInt16BE(VERSION, at);
    at = frame.writeInt32BE(correlationId, at);
    at = frame.writeInt16BE(CLIENT_ID.length, at);
    at += frame.write(CLIENT_ID, at);
    at = frame.writeInt16BE(-1, at); // transactional_id: null
    at = frame.writeInt16BE(acks, at);
    at = frame.writeInt32BE(30_000, at);
    at = frame.writeInt32BE(1, at);
    at = frame.writeInt16BE(topicBytes, at);
    at += frame.write(topic, at);
    at = frame.writeInt32BE(1, at);
    at = frame.writeInt32BE(partition, at);
    frame.writeInt32BE(batch.length, at);
    const done = new Promise<ProduceAck>((resolve) => this.waiting.set(correlationId, resolve));
    this.socket.cork();
    this.socket.write(frame);
    this.socket.write(batch);
    this.socket.uncork();
    return done;
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    while (this.buffered.length >= 4) {
      const size = this.buffered.readInt32BE(0);
      if (this.buffered.length < 4 + size) return;
      const correlationId = this.buffered.readInt32BE(4);
      // responses[1] → name, partitions[1] → index, error_code, base_offset
      let at = 8 + 4;
      const nameBytes = this.buffered.readInt16BE(at);
      at += 2 + nameBytes + 4 + 4;
      const errorCode = this.buffered.readInt16BE(at);
      const baseOffset = Number(this.buffered.readBigInt64BE(at + 2));
      this.buffered = this.buffered.subarray(4 + size);
      const resolve = this.waiting.get(correlationId);
      this.waiting.delete(correlationId);
      resolve?.({ errorCode, baseOffset });
    }
  }
}
