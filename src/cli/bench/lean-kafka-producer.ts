import { connect, type Socket } from 'node:net';

/**
 * A lean Kafka producer for load generation: it sends ready RecordBatches
 * in Produce v7 requests (one partition each, or one batch for each of
 * several partitions as a Kafka client sends) with many in flight on one
 * connection, and matches responses by correlation id (Kafka answers in
 * order). kafkajs would be the bottleneck of a benchmark; this does as little
 * as the protocol allows. Requests in flight when the connection closes or
 * fails reject, so a run against a broker that went away ends with an error.
 */
export interface ProduceAck {
  errorCode: number;
  baseOffset: number;
}

const PRODUCE = 0;
const VERSION = 7;
const CLIENT_ID = 'pyralog-bench';
/** Where the correlation id sits in a request frame: after size INT32, api_key INT16, api_version INT16. */
const CORRELATION_ID_AT = 8;
/** index INT32, then the records' length INT32, before each batch. */
const PARTITION_HEAD_BYTES = 4 + 4;
/** index INT32, error_code INT16, base_offset INT64, log_append_time_ms INT64, log_start_offset INT64. */
const PARTITION_RESPONSE_BYTES = 4 + 2 + 8 + 8 + 8;

/** A Produce request built by LeanKafkaProducer.prepare. */
export interface PreparedProduce {
  readonly frame: Buffer;
}

/**
 * Bytes after the size prefix of a request `produceToPartitions` sends: the
 * request header, the Produce body head, and a batch for each partition.
 */
export function produceRequestBytes(topic: string, partitionCount: number, batchBytes: number): number {
  const headBytes = 2 + 2 + 4 + 2 + CLIENT_ID.length + 2 + 2 + 4 + 4 + 2 + Buffer.byteLength(topic) + 4;
  return headBytes + partitionCount * (PARTITION_HEAD_BYTES + batchBytes);
}

export class LeanKafkaProducer {
  private nextCorrelationId = 1;
  private readonly waiting = new Map<
    number,
    { resolve: (ack: ProduceAck) => void; reject: (error: Error) => void }
  >();
  private buffered: Buffer = Buffer.alloc(0);
  private readonly partitionsOfOne = [0];
  private closedBy: Error | null = null;

  private constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    const fail = (error: Error): void => {
      this.closedBy ??= error;
      const waiting = [...this.waiting.values()];
      this.waiting.clear();
      for (const request of waiting) request.reject(this.closedBy);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('the connection to the broker closed')));
  }

  /** Over a socket already connected (and, for TLS or SASL listeners, already authenticated). */
  static over(socket: Socket): LeanKafkaProducer {
    return new LeanKafkaProducer(socket);
  }

  static connect(port: number, host = '127.0.0.1'): Promise<LeanKafkaProducer> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, host, () => resolve(new LeanKafkaProducer(socket)));
      socket.once('error', reject);
    });
  }

  /** Sends one batch to one partition; resolves with the partition's error code and base offset (acks 1 or -1). */
  produce(topic: string, partition: number, batch: Uint8Array, acks: 1 | -1): Promise<ProduceAck> {
    this.partitionsOfOne[0] = partition;
    return this.produceToPartitions(topic, this.partitionsOfOne, batch, acks);
  }

  /**
   * Sends `batch` to each of `partitions` in one request, as a Kafka client
   * does with the batches ready for one broker. Resolves with the first
   * non-zero error code (0 when all succeeded) and the first partition's base
   * offset. Builds the request anew (copying the batch); a load generator
   * sending the same request again and again should `prepare` it once.
   */
  produceToPartitions(
    topic: string,
    partitions: readonly number[],
    batch: Uint8Array,
    acks: 1 | -1,
  ): Promise<ProduceAck> {
    return this.send(this.prepare(topic, partitions, batch, acks));
  }

  /**
   * Builds a whole Produce request (size, header, body, `batch` for each of
   * `partitions`) once, for `send` to write again and again with a new
   * correlation id each time: one write of ready bytes per request, as a
   * raw TCP baseline does.
   */
  prepare(topic: string, partitions: readonly number[], batch: Uint8Array, acks: 1 | -1): PreparedProduce {
    const size = produceRequestBytes(topic, partitions.length, batch.length);
    const frame = Buffer.allocUnsafe(4 + size);
    let at = frame.writeInt32BE(size, 0);
    at = frame.writeInt16BE(PRODUCE, at);
    at = frame.writeInt16BE(VERSION, at);
    at = frame.writeInt32BE(0, at); // correlation id, set by send()
    at = frame.writeInt16BE(CLIENT_ID.length, at);
    at += frame.write(CLIENT_ID, at);
    at = frame.writeInt16BE(-1, at); // transactional_id: null
    at = frame.writeInt16BE(acks, at);
    at = frame.writeInt32BE(30_000, at);
    at = frame.writeInt32BE(1, at);
    at = frame.writeInt16BE(Buffer.byteLength(topic), at);
    at += frame.write(topic, at);
    at = frame.writeInt32BE(partitions.length, at);
    for (const partition of partitions) {
      at = frame.writeInt32BE(partition, at);
      at = frame.writeInt32BE(batch.length, at);
      frame.set(batch, at);
      at += batch.length;
    }
    return { frame };
  }

  /**
   * Sends a prepared request under the next correlation id. A prepared
   * request is rewritten in place, so send it again only after its previous
   * send was answered (the broker answers only what it has fully received).
   */
  send(prepared: PreparedProduce): Promise<ProduceAck> {
    if (this.closedBy !== null) return Promise.reject(this.closedBy);
    const correlationId = this.nextCorrelationId++;
    prepared.frame.writeInt32BE(correlationId, CORRELATION_ID_AT);
    const done = new Promise<ProduceAck>((resolve, reject) =>
      this.waiting.set(correlationId, { resolve, reject }),
    );
    this.socket.write(prepared.frame);
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
      // responses[1] → name, partition_responses[n] → index, error_code, base_offset, log_append_time_ms,
      // log_start_offset (v5+)
      let at = 8 + 4;
      const nameBytes = this.buffered.readInt16BE(at);
      at += 2 + nameBytes;
      const partitionCount = this.buffered.readInt32BE(at);
      at += 4;
      let errorCode = 0;
      let baseOffset = -1;
      for (let i = 0; i < partitionCount; i++) {
        const partitionErrorCode = this.buffered.readInt16BE(at + 4);
        if (errorCode === 0) errorCode = partitionErrorCode;
        if (i === 0) baseOffset = Number(this.buffered.readBigInt64BE(at + 6));
        at += PARTITION_RESPONSE_BYTES;
      }
      this.buffered = this.buffered.subarray(4 + size);
      const request = this.waiting.get(correlationId);
      this.waiting.delete(correlationId);
      request?.resolve({ errorCode, baseOffset });
    }
  }
}
