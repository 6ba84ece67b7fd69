import type { Histogram } from 'hdr-histogram-js';
import {
  createLatencyHistogram,
  type OpenLoopLatency,
  summarizeAndDestroy,
} from '../../src/cli/bench/open-loop.js';
import { PyralogClient } from '../../src/client/index.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { type EndToEndRound, endToEndRound, type OnConsumed, type RunningConsumer } from './end-to-end.js';
import { KafkaEndToEnd } from './kafka-end-to-end.js';

/**
 * End to end over the WebSocket protocol (see end-to-end.ts): a producer
 * client sending each record at once (a batch of one, acks=1) and, on a
 * connection of its own, a subscriber client pushed the partition's records
 * by the broker, both through the TypeScript client.
 */
export class WsEndToEnd {
  private constructor(
    private readonly producer: PyralogClient,
    private readonly subscriber: PyralogClient,
    private readonly topic: string,
    private readonly partition: number,
    private readonly value: Uint8Array,
  ) {}

  static async connect(
    url: string,
    topic: string,
    partition: number,
    value: Uint8Array,
  ): Promise<WsEndToEnd> {
    const [producer, subscriber] = await Promise.all([
      // A batch of one record goes out as soon as it is made: no linger between the schedule and the send. As
      // many batches in flight as the broker takes on a connection (maxInFlightRequestsPerConnection, 64 by
      // default), as the lean Kafka producer of the baseline pipelines without a cap of its own: after a stall,
      // neither side's backlog waits in its client for earlier answers (the client's default is 32).
      PyralogClient.connect({ url, lingerMs: 0, batchMaxRecords: 1, acks: 1, maxInFlightBatches: 64 }),
      PyralogClient.connect({ url }),
    ]);
    return new WsEndToEnd(producer, subscriber, topic, partition, value);
  }

  /** A round at `ratePerSecond` (see endToEndRound), starting at the partition's current log end. */
  async round(
    ratePerSecond: number,
    seconds: number,
    warmupSeconds: number,
    pooled?: Histogram,
  ): Promise<EndToEndRound> {
    const { highWatermark } = await this.subscriber.fetch(this.topic, this.partition, 0, { maxBytes: 1 });
    return endToEndRound(
      async (index) => {
        const produced = await this.producer.produce(this.topic, {
          value: this.value,
          partition: this.partition,
        });
        if (produced.offset < 0) throw new Error(`produce ${index} got no offset`);
        return produced.offset;
      },
      (fromOffset, onRecord) => this.startSubscriber(fromOffset, onRecord),
      highWatermark,
      ratePerSecond,
      seconds,
      warmupSeconds,
      pooled,
    );
  }

  async close(): Promise<void> {
    await Promise.all([this.producer.close(), this.subscriber.close()]);
  }

  private startSubscriber(fromOffset: number, onRecord: OnConsumed): RunningConsumer {
    const subscription = this.subscriber.subscribe(this.topic, this.partition, fromOffset);
    const loop = (async () => {
      for await (const record of subscription) onRecord(record.offset, performance.now());
    })();
    let failure: unknown = null;
    loop.catch((error: unknown) => {
      failure = error;
    });
    return {
      stop: async () => {
        subscription.close();
        await loop.catch(() => undefined);
        if (failure !== null) throw failure;
      },
    };
  }
}

/** One round of each: the Kafka end to end (the baseline) and the WebSocket one, on the same partition. */
export interface WsAgainstKafkaRound {
  kafka: OpenLoopLatency;
  ws: OpenLoopLatency;
  /** Each reader's part: from the produce's acknowledgement to the reader having the record. */
  kafkaAfterAck: OpenLoopLatency;
  wsAfterAck: OpenLoopLatency;
}

/**
 * Issue 18's WebSocket end-to-end target compares the WebSocket path with
 * the Kafka one on the same broker in the same run: after a warm-up of each,
 * `rounds` rounds of `roundSeconds` each, Kafka and WebSocket back to back in
 * an alternating order, on one partition (each round starts at its log end).
 * Returns every round and both series pooled.
 */
export async function wsAgainstKafkaRounds(
  ports: { kafkaPort: number; httpPort: number },
  topic: string,
  value: Uint8Array,
  ratePerSecond: number,
  options: { warmupSeconds: number; rounds: number; roundSeconds: number },
): Promise<{ rounds: WsAgainstKafkaRound[]; kafka: OpenLoopLatency; ws: OpenLoopLatency }> {
  const kafka = await KafkaEndToEnd.connect(
    ports.kafkaPort,
    topic,
    0,
    buildRecordBatch([{ key: null, value }]),
  );
  const ws = await WsEndToEnd.connect(`ws://127.0.0.1:${ports.httpPort}/ws`, topic, 0, value);
  const pooled = { kafka: createLatencyHistogram(), ws: createLatencyHistogram() };
  try {
    await kafka.round(ratePerSecond, 0, options.warmupSeconds);
    await ws.round(ratePerSecond, 0, options.warmupSeconds);
    const rounds: WsAgainstKafkaRound[] = [];
    for (let r = 0; r < options.rounds; r++) {
      const kafkaRound = () => kafka.round(ratePerSecond, options.roundSeconds, 0, pooled.kafka);
      const wsRound = () => ws.round(ratePerSecond, options.roundSeconds, 0, pooled.ws);
      const [kafkaFigures, wsFigures] =
        r % 2 === 0
          ? [await kafkaRound(), await wsRound()]
          : await wsRound().then(async (wsFirst) => [await kafkaRound(), wsFirst]);
      rounds.push({
        kafka: kafkaFigures.endToEnd,
        ws: wsFigures.endToEnd,
        kafkaAfterAck: kafkaFigures.afterAck,
        wsAfterAck: wsFigures.afterAck,
      });
    }
    return { rounds, kafka: summarizeAndDestroy(pooled.kafka), ws: summarizeAndDestroy(pooled.ws) };
  } finally {
    kafka.close();
    await ws.close();
  }
}
