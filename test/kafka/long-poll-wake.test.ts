import { afterEach, describe, expect, it } from 'vitest';
import { LeanKafkaConsumer } from '../../src/cli/bench/lean-kafka-consumer.js';
import { LeanKafkaProducer } from '../../src/cli/bench/lean-kafka-producer.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { type Broker, startBroker } from '../../src/server/broker.js';
import { testBrokerConfig } from '../support/engine-fixture.js';
import { makeTempDir } from '../support/temp-dir.js';

/**
 * A consumer keeping up with a partition waits in a long-poll Fetch at the
 * log end; end-to-end latency rests on that fetch being answered when a
 * record lands, not when its max wait runs out (or a poll timer fires).
 */
const MAX_WAIT_MS = 10_000;
const ROUNDS = 8;
/** A fetch answered by its timer would take MAX_WAIT_MS: anything near it is a failure, not a slow machine. */
const ANSWER_BOUND_MS = 2_000;

async function heldFetches(httpPort: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  let held = 0;
  for (const line of text.split('\n'))
    if (line.startsWith('pyralog_fetches_held')) held += Number(line.slice(line.lastIndexOf(' ') + 1));
  return held;
}

describe('a long-poll Kafka fetch at the log end', () => {
  let broker: Broker | null = null;
  let cleanup = (): void => {};
  afterEach(async () => {
    await broker?.stop();
    broker = null;
    cleanup();
  });

  // fsync never: the append itself wakes the fetch; fsync always: the sync that makes the record visible does.
  it.each(['never', 'always'] as const)(
    'given fsync %s and a fetch held with max wait 10 s when a record is produced then it is answered within a few ms of the produce',
    async (fsync) => {
      const temp = makeTempDir('long-poll-wake');
      cleanup = temp.cleanup;
      broker = await startBroker(testBrokerConfig(temp.dir, { fsync }));
      await broker.engine.createTopic('wake', 1);
      const consumer = await LeanKafkaConsumer.connect(broker.kafkaPort);
      const producer = await LeanKafkaProducer.connect(broker.kafkaPort);
      const batch = buildRecordBatch([{ key: null, value: new Uint8Array(1024).fill(1) }]);
      const answerMs: number[] = [];
      try {
        for (let round = 0; round < ROUNDS; round++) {
          const fetching = consumer.fetch('wake', new Map([[0, round]]), MAX_WAIT_MS, 1 << 20);
          // Produce only once the shard holds the fetch: the test is about the held path.
          for (let poll = 0; poll < 200 && (await heldFetches(broker.httpPort)) === 0; poll++)
            await new Promise((resolve) => setTimeout(resolve, 10));
          expect(await heldFetches(broker.httpPort)).toBe(1);
          const producedMs = performance.now();
          const ack = await producer.produce('wake', 0, batch, 1);
          expect(ack).toEqual({ errorCode: 0, baseOffset: round });
          const timeout = new Promise<'timed out'>((resolve) =>
            setTimeout(() => resolve('timed out'), ANSWER_BOUND_MS).unref(),
          );
          const fetched = await Promise.race([fetching, timeout]);
          if (fetched === 'timed out')
            throw new Error(`round ${round}: no answer ${ANSWER_BOUND_MS} ms after a produce`);
          answerMs.push(performance.now() - producedMs);
          expect(fetched).toHaveLength(1);
          expect(fetched[0]!.errorCode).toBe(0);
          expect(fetched[0]!.highWatermark).toBe(round + 1);
          expect(fetched[0]!.records.length).toBe(batch.length);
        }
      } finally {
        consumer.close();
        producer.close();
      }
      answerMs.sort((a, b) => a - b);
      // From the produce's send to the fetch's answer: one append and two replies. A few ms on a quiet machine;
      // the median leaves room for a loaded one, and is far from any timer.
      expect(
        answerMs[ROUNDS >> 1]!,
        `answer times (ms): ${answerMs.map((ms) => ms.toFixed(1)).join(', ')}`,
      ).toBeLessThan(50);
    },
  );
});
