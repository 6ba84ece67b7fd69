import type { Histogram } from 'hdr-histogram-js';
import { type FetchedPartition, LeanKafkaConsumer } from '../../src/cli/bench/lean-kafka-consumer.js';
import { LeanKafkaProducer } from '../../src/cli/bench/lean-kafka-producer.js';
import { readInt64 } from '../../src/common/offset.js';
import { BatchHeader } from '../../src/record/batch-header.js';
import { nextBatchBytes } from '../../src/record/batch-walk.js';
import { type EndToEndRound, endToEndRound, type OnConsumed, type RunningConsumer } from './end-to-end.js';

/**
 * End to end over Kafka (see end-to-end.ts): the lean producer (acks=1, one
 * record per request) and, on a connection of its own, a consumer that
 * long-polls Fetch on the same partition with min bytes 1 and a max wait of
 * CONSUMER_MAX_WAIT_MS (the Java consumer's default fetch.max.wait.ms), as a
 * consumer keeping up with a topic does: each answer is followed at once by
 * the next fetch from the next offset.
 */
export const CONSUMER_MAX_WAIT_MS = 500;
const CONSUMER_MAX_BYTES = 1 << 20;

export class KafkaEndToEnd {
  private constructor(
    private readonly producer: LeanKafkaProducer,
    private readonly consumer: LeanKafkaConsumer,
    private readonly topic: string,
    private readonly partition: number,
    private readonly batch: Uint8Array,
  ) {}

  /** Connects its producer and consumer to the broker's Kafka port; `batch` holds the one record each request sends. */
  static async connect(
    kafkaPort: number,
    topic: string,
    partition: number,
    batch: Uint8Array,
  ): Promise<KafkaEndToEnd> {
    const [producer, consumer] = await Promise.all([
      LeanKafkaProducer.connect(kafkaPort),
      LeanKafkaConsumer.connect(kafkaPort),
    ]);
    return new KafkaEndToEnd(producer, consumer, topic, partition, batch);
  }

  /** A round at `ratePerSecond` (see endToEndRound), starting at the partition's current log end. */
  async round(
    ratePerSecond: number,
    seconds: number,
    warmupSeconds: number,
    pooled?: Histogram,
  ): Promise<EndToEndRound> {
    const firstOffset = await this.logEnd();
    return endToEndRound(
      (index) => this.produceOne(index),
      (fromOffset, onRecord) => this.startConsumer(fromOffset, onRecord),
      firstOffset,
      ratePerSecond,
      seconds,
      warmupSeconds,
      pooled,
    );
  }

  close(): void {
    this.producer.close();
    this.consumer.close();
  }

  private async produceOne(index: number): Promise<number> {
    const ack = await this.producer.produce(this.topic, this.partition, this.batch, 1);
    if (ack.errorCode !== 0) throw new Error(`produce ${index} failed with Kafka error ${ack.errorCode}`);
    return ack.baseOffset;
  }

  /** The partition's high watermark: where a round's first record will land (acks=1 leaves nothing in flight). */
  private async logEnd(): Promise<number> {
    const [part] = await this.consumer.fetch(this.topic, new Map([[this.partition, 0]]), 0, 1);
    if (part === undefined || part.errorCode !== 0)
      throw new Error(`cannot read the log end of ${this.topic}-${this.partition}: ${part?.errorCode}`);
    return part.highWatermark;
  }

  private startConsumer(fromOffset: number, onRecord: OnConsumed): RunningConsumer {
    const offsets = new Map([[this.partition, fromOffset]]);
    let stopping = false;
    const loop = (async () => {
      while (!stopping) {
        const fetched = await this.consumer.fetch(
          this.topic,
          offsets,
          CONSUMER_MAX_WAIT_MS,
          CONSUMER_MAX_BYTES,
        );
        const receivedMs = performance.now();
        for (const part of fetched) {
          if (part.errorCode !== 0) throw new Error(`fetch failed with Kafka error ${part.errorCode}`);
          offsets.set(
            part.partition,
            deliverRecords(part, offsets.get(part.partition)!, receivedMs, onRecord),
          );
        }
      }
    })();
    // Kept until stop() collects it, so a failure mid-round is never an unhandled rejection.
    let failure: unknown = null;
    loop.catch((error: unknown) => {
      failure = error;
    });
    return {
      stop: async () => {
        stopping = true;
        await loop.catch(() => undefined);
        if (failure !== null) throw failure;
      },
    };
  }
}

/**
 * Calls `onRecord` for every offset from `nextOffset` on in the whole
 * batches of `part` and returns the offset after the last one. The batches
 * of these runs hold one record each, but any batch counts all its offsets.
 */
function deliverRecords(
  part: FetchedPartition,
  nextOffset: number,
  receivedMs: number,
  onRecord: OnConsumed,
): number {
  const records = part.records;
  const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
  let next = nextOffset;
  for (let position = 0; ; ) {
    const sizeBytes = nextBatchBytes(view, position, records.length);
    if (sizeBytes < 0) return next;
    const baseOffset = readInt64(view, position + BatchHeader.BASE_OFFSET);
    const lastOffset = baseOffset + view.getInt32(position + BatchHeader.LAST_OFFSET_DELTA);
    for (let offset = Math.max(baseOffset, next); offset <= lastOffset; offset++)
      onRecord(offset, receivedMs);
    if (lastOffset + 1 > next) next = lastOffset + 1;
    position += sizeBytes;
  }
}
