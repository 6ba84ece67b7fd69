import { afterEach, describe, expect, it } from 'vitest';
import { CONSUMER_MAX_WAIT_MS, KafkaEndToEnd } from '../../bench/support/kafka-end-to-end.js';
import { WsEndToEnd } from '../../bench/support/ws-end-to-end.js';
import { LeanKafkaProducer } from '../../src/cli/bench/lean-kafka-producer.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { SUBSCRIBE_POLL_MS } from '../../src/server/ws-subscription.js';
import { type ServeProcess, startServe } from '../support/serve-process.js';
import { makeTempDir } from '../support/temp-dir.js';

/**
 * The end-to-end rows of the Kafka and WebSocket suites (issue 18 targets 5
 * and 6b) rest on these rounds: every record sent is counted once, by its
 * offset, from its scheduled send time to its arrival at the reader. The
 * broker runs in its own process, as in the suites, so that the generator
 * does not share the acceptor's thread.
 */
const RATE_PER_S = 400;
const SECONDS = 0.5;
const WARMUP_SECONDS = 0.25;
const value = new Uint8Array(1024).fill(4);
const batch = buildRecordBatch([{ key: null, value }]);

describe('end-to-end latency rounds', () => {
  let serve: ServeProcess | null = null;
  let cleanup = (): void => {};
  afterEach(async () => {
    if (serve !== null) {
      serve.child.kill('SIGKILL');
      await serve.exited;
      serve = null;
    }
    cleanup();
  });
  const start = async (): Promise<ServeProcess> => {
    const temp = makeTempDir('e2e-rounds');
    cleanup = temp.cleanup;
    serve = await startServe(['--data', temp.dir, '--fsync', 'never']);
    const created = await fetch(`http://127.0.0.1:${serve.httpPort}/topics`, {
      method: 'POST',
      body: JSON.stringify({ name: 'e2e', partitions: 1 }),
    });
    expect(created.status).toBe(201);
    return serve;
  };

  it('given a Kafka round then every record after the warm-up is counted once, and long before the max wait', async () => {
    const { kafkaPort } = await start();
    const e2e = await KafkaEndToEnd.connect(kafkaPort, 'e2e', 0, batch);
    try {
      for (let round = 0; round < 2; round++) {
        // The second round starts at the log end the first left: its offsets map to its own requests.
        const { endToEnd, produce, afterAck } = await e2e.round(RATE_PER_S, SECONDS, WARMUP_SECONDS);
        expect(endToEnd.count).toBe(RATE_PER_S * SECONDS);
        expect(produce.count).toBe(RATE_PER_S * SECONDS);
        // The consumer's part of each record's way never exceeds the whole way.
        expect(afterAck.count).toBe(RATE_PER_S * SECONDS);
        expect(afterAck.max).toBeLessThanOrEqual(endToEnd.max);
        expect(endToEnd.p50).toBeGreaterThan(0);
        // Answered by its max wait instead of the append, a record would wait ~CONSUMER_MAX_WAIT_MS / 2 on average.
        expect(endToEnd.p50).toBeLessThan((CONSUMER_MAX_WAIT_MS / 5) * 1000);
      }
    } finally {
      e2e.close();
    }
  });

  it('given another writer on the partition during a round then the round fails instead of timing the wrong records', async () => {
    const { kafkaPort } = await start();
    const e2e = await KafkaEndToEnd.connect(kafkaPort, 'e2e', 0, batch);
    const intruder = await LeanKafkaProducer.connect(kafkaPort);
    try {
      const round = e2e.round(RATE_PER_S, SECONDS, 0);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect((await intruder.produce('e2e', 0, batch, 1)).errorCode).toBe(0);
      await expect(round).rejects.toThrow(/not given offset|outside the/);
    } finally {
      intruder.close();
      e2e.close();
    }
  });

  it('given a WebSocket round then every record after the warm-up reaches the subscriber and is counted once', async () => {
    const { httpPort } = await start();
    const e2e = await WsEndToEnd.connect(`ws://127.0.0.1:${httpPort}/ws`, 'e2e', 0, value);
    try {
      const { endToEnd, produce } = await e2e.round(RATE_PER_S, SECONDS, WARMUP_SECONDS);
      expect(endToEnd.count).toBe(RATE_PER_S * SECONDS);
      expect(produce.count).toBe(RATE_PER_S * SECONDS);
      expect(endToEnd.p50).toBeGreaterThan(0);
      // Pushed on the subscription's long poll (SUBSCRIBE_POLL_MS) instead of on the append, ~half of it on average.
      expect(endToEnd.p50).toBeLessThan((SUBSCRIBE_POLL_MS / 5) * 1000);
    } finally {
      await e2e.close();
    }
  });
});
