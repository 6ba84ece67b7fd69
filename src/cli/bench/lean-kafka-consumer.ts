import { connect, type Socket } from 'node:net';
import { concatChunks, KafkaReader, KafkaWriter } from '../../protocol/kafka/primitives.js';

/**
 * A lean Kafka fetcher for load generation: Fetch v4 long-polls for a set of
 * partitions, returning each partition's raw RecordBatch bytes. Offsets are
 * the caller's to keep. One fetch at a time. A fetch in flight when the
 * connection closes or fails rejects, so a run against a broker that went
 * away ends with an error instead of waiting for ever.
 */
export interface FetchedPartition {
  partition: number;
  errorCode: number;
  highWatermark: number;
  records: Uint8Array;
}

export class LeanKafkaConsumer {
  private nextCorrelationId = 1;
  private buffered: Buffer = Buffer.alloc(0);
  private waiting: { resolve: (body: Uint8Array) => void; reject: (error: Error) => void } | null = null;
  private closedBy: Error | null = null;

  private constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    const fail = (error: Error): void => {
      this.closedBy ??= error;
      const waiting = this.waiting;
      this.waiting = null;
      waiting?.reject(this.closedBy);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('the connection to the broker closed')));
    socket.on('data', (chunk: Buffer) => {
      this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
      if (this.buffered.length < 4) return;
      const size = this.buffered.readInt32BE(0);
      if (this.buffered.length < 4 + size) return;
      const body = new Uint8Array(this.buffered.subarray(8, 4 + size));
      this.buffered = this.buffered.subarray(4 + size);
      const waiting = this.waiting;
      this.waiting = null;
      waiting?.resolve(body);
    });
  }

  static connect(port: number, host = '127.0.0.1'): Promise<LeanKafkaConsumer> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, host, () => resolve(new LeanKafkaConsumer(socket)));
      socket.once('error', reject);
    });
  }

  /** One Fetch v4 for `offsets` (partition → next offset) of `topic`. */
  fetch(
    topic: string,
    offsets: ReadonlyMap<number, number>,
    maxWaitMs: number,
    maxBytes: number,
  ): Promise<FetchedPartition[]> {
    const writer = new KafkaWriter(256);
    writer
      .int16(1)
      .int16(4)
      .int32(this.nextCorrelationId++)
      .nullableString('pyralog-bench');
    writer.int32(-1).int32(maxWaitMs).int32(1).int32(maxBytes).int8(0);
    writer.int32(1).string(topic).int32(offsets.size);
    for (const [partition, offset] of offsets) writer.int32(partition).int64(offset).int32(maxBytes);
    const payload = concatChunks(writer.finish());
    const frame = Buffer.allocUnsafe(4 + payload.length);
    frame.writeInt32BE(payload.length, 0);
    frame.set(payload, 4);
    if (this.closedBy !== null) return Promise.reject(this.closedBy);
    const reply = new Promise<Uint8Array>((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
    this.socket.write(frame);
    return reply.then((body) => {
      const reader = new KafkaReader(body);
      reader.int32(); // throttle_time_ms
      const out: FetchedPartition[] = [];
      const topics = reader.int32();
      for (let t = 0; t < topics; t++) {
        reader.string();
        const partitions = reader.int32();
        for (let p = 0; p < partitions; p++) {
          const partition = reader.int32();
          const errorCode = reader.int16();
          const highWatermark = reader.int64();
          reader.int64(); // last_stable_offset
          reader.nullableArray((r) => [r.int64(), r.int64()]); // aborted_transactions
          out.push({
            partition,
            errorCode,
            highWatermark,
            records: reader.nullableBytes() ?? new Uint8Array(0),
          });
        }
      }
      return out;
    });
  }

  close(): void {
    this.socket.destroy();
  }
}
