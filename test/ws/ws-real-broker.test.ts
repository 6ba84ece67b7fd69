import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PyralogClient } from '../../src/client/index.js';
import { type Broker, startBroker } from '../../src/server/broker.js';
import { SUBSCRIBE_POLL_MS } from '../../src/server/ws-subscription.js';
import { partitionDir } from '../../src/storage/partition-dirs.js';
import { testBrokerConfig } from '../support/engine-fixture.js';
import { makeTempDir } from '../support/temp-dir.js';

/** The WebSocket front door on the real broker: a subscription follows a partition across segment rolls. */
describe('WebSocket subscription on the real broker', () => {
  let broker: Broker;
  const temp = makeTempDir('ws-broker');
  beforeAll(async () => {
    const config = testBrokerConfig(temp.dir);
    broker = await startBroker(
      { ...config, topicDefaults: { ...config.topicDefaults, segmentBytes: 4096 } },
      { kafka: false },
    );
    await broker.engine.createTopic('rolling', 1);
  });
  afterAll(async () => {
    await broker.stop();
    temp.cleanup();
  });

  it('sees every record produced after it started, in order, across segment rolls', async () => {
    const client = await PyralogClient.connect({ url: `ws://127.0.0.1:${broker.httpPort}/ws`, lingerMs: 1 });
    try {
      const subscription = client.subscribe('rolling', 0, 'latest');
      await new Promise((resolve) => setTimeout(resolve, 200));
      const values = Array.from({ length: 400 }, (_, i) => `record-${i}-${'y'.repeat(100)}`);
      for (let i = 0; i < values.length; i += 20) {
        await Promise.all(
          values.slice(i, i + 20).map((value) => client.produce('rolling', { value, partition: 0 })),
        );
      }
      const received: string[] = [];
      const decoder = new TextDecoder();
      const deadline = Date.now() + 20_000;
      while (received.length < values.length && Date.now() < deadline) {
        const next = await subscription.next();
        if (next.done) break;
        received.push(decoder.decode(next.value.value!));
      }
      subscription.close();
      expect(received).toEqual(values);
      const described = await broker.engine.describePartitions('rolling');
      expect(described?.[0]?.logEndOffset).toBe(400);
      // 400 records of ~170 bytes is ~68 KB: with 4 KiB segments that is many rolls.
      const segments = readdirSync(
        partitionDir(temp.dir, broker.engine.describeTopic('rolling')!.topicId, 'rolling', 0),
      ).filter((name) => name.endsWith('.log'));
      expect(segments.length).toBeGreaterThan(5);
    } finally {
      await client.close();
    }
  }, 60_000);

  it('pushes a record to a waiting subscription as it is appended, not at its next long-poll round', async () => {
    await broker.engine.createTopic('prompt', 1);
    const client = await PyralogClient.connect({
      url: `ws://127.0.0.1:${broker.httpPort}/ws`,
      lingerMs: 0,
      acks: 1,
    });
    try {
      const subscription = client.subscribe('prompt', 0, 'latest');
      const delaysMs: number[] = [];
      for (let i = 0; i < 8; i++) {
        // Idle long enough that the subscription's fetch is parked on the shard, waiting for data.
        await new Promise((resolve) => setTimeout(resolve, 60));
        const sentMs = performance.now();
        const [next] = await Promise.all([
          subscription.next(),
          client.produce('prompt', { value: `r${i}`, partition: 0 }),
        ]);
        delaysMs.push(performance.now() - sentMs);
        expect(next.done).toBe(false);
        expect(next.value!.offset).toBe(i);
      }
      subscription.close();
      // A subscription that only found new records when its long poll ended would wait up to
      // SUBSCRIBE_POLL_MS for each; woken by the append, it takes a few ms (generous bound for a loaded machine).
      const sorted = [...delaysMs].sort((a, b) => a - b);
      expect(sorted[4]!).toBeLessThan(SUBSCRIBE_POLL_MS / 5);
    } finally {
      await client.close();
    }
  }, 30_000);
});
