import { readdirSync, truncateSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { type Broker, startBroker } from '../../src/server/broker.js';
import { checkHistory, type ReplicaRead } from '../../tools/chaos/checker.js';
import { FaultProxy } from '../../tools/chaos/fault-proxy.js';
import { HistoryRecorder } from '../../tools/chaos/history.js';
import { linkFault, runNemesis } from '../../tools/chaos/nemesis.js';
import { readReplicaFromDataDir } from '../../tools/chaos/replica-reader.js';
import { outcomeOf, runWorkload } from '../../tools/chaos/workload.js';
import { testBrokerConfig } from '../support/engine-fixture.js';
import { makeTempDir } from '../support/temp-dir.js';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * The chaos pipeline end to end on one real broker: kafkajs producers (one
 * idempotent, one plain) write through a fault proxy while the nemesis resets,
 * blackholes and stalls the client link; then the broker stops, its data
 * directory is read, and the checker judges the history. One node cannot lose
 * acknowledged writes to a link fault, so the run must pass; cutting the log
 * afterwards (the negative control) must make it fail.
 */
describe('chaos run against a single broker', () => {
  const temp = makeTempDir('chaos-single');
  let broker: Broker | null = null;
  let proxy: FaultProxy | null = null;
  afterAll(async () => {
    await proxy?.close();
    await broker?.stop();
    temp.cleanup();
  });

  it('given link faults on the client link, every acknowledged write survives; a cut log fails the check', async () => {
    const kafkaPort = await freePort();
    proxy = await FaultProxy.start({ targetPort: kafkaPort, name: 'client->broker' });
    broker = await startBroker(testBrokerConfig(temp.dir, { kafkaPort, advertisedPort: proxy.port }), {
      http: false,
    });
    const bootstrap = [`127.0.0.1:${proxy.port}`];
    const admin = new Kafka({ clientId: 'setup', brokers: bootstrap, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'chaos', numPartitions: 2 }] });
    await admin.disconnect();

    const history = new HistoryRecorder();
    let stopped = false;
    const workload = runWorkload({
      brokers: bootstrap,
      topic: 'chaos',
      partitions: 2,
      producers: [
        { name: 'idem', idempotent: true },
        { name: 'plain', idempotent: false },
      ],
      history,
      stop: () => stopped,
      requestTimeoutMs: 1_000,
      pauseMs: 5,
    });
    const link = proxy;
    await runNemesis({
      faults: [
        linkFault(link, 'client->broker', 'reset'),
        linkFault(link, 'client->broker', 'blackhole'),
        linkFault(link, 'client->broker', 'stall'),
      ],
      healAll: async () => link.heal(),
      history,
      seed: 5,
      quietMs: 700,
      faultMs: 500,
      durationMs: 3_600,
    });
    // Writes must resume after the last heal before the run ends: wait for one acknowledgement, 10 s at most.
    const lastHealMs = Date.now();
    const resumed = (): boolean =>
      history
        .events()
        .some(
          (event) => event.kind === 'write' && event.outcome === 'ok' && event.completedAtMs >= lastHealMs,
        );
    for (let round = 0; round < 100 && !resumed(); round++)
      await new Promise((resolve) => setTimeout(resolve, 100));
    stopped = true;
    const counts = await workload;
    await broker.stop();
    broker = null;

    const reads = [0, 1].map((partition) => readReplicaFromDataDir(temp.dir, 0, 'chaos', partition));
    expect(reads.every((read) => read !== null)).toBe(true);
    const result = checkHistory(history.events(), reads as ReplicaRead[], { resumeWithinMs: 10_000 });
    expect(counts.ok).toBeGreaterThan(20);
    expect(result.acknowledged).toBe(counts.ok);
    expect({ lost: result.lost, duplicates: result.duplicates, unexpected: result.unexpected }).toEqual({
      lost: [],
      duplicates: [],
      unexpected: [],
    });
    expect(result.resumes.length).toBeGreaterThan(0);
    expect(result.valid).toBe(true);

    // Negative control: cut the tail of partition 0's newest segment, as a lost disk write would.
    const partitionDirs = readdirSync(join(temp.dir, 'topics'));
    const dir = join(temp.dir, 'topics', partitionDirs.find((name) => name.endsWith('-chaos'))!, '0');
    const newest = readdirSync(dir)
      .filter((name) => name.endsWith('.log'))
      .sort()
      .at(-1)!;
    truncateSync(join(dir, newest), 0);
    const cut = [0, 1].map((partition) =>
      readReplicaFromDataDir(temp.dir, 0, 'chaos', partition),
    ) as ReplicaRead[];
    const failed = checkHistory(history.events(), cut, { resumeWithinMs: 10_000 });
    expect(failed.valid).toBe(false);
    expect(failed.lost.length).toBeGreaterThan(0);
  });
});

describe('outcomeOf', () => {
  it('given a definite refusal, fail; given a timeout, a lost connection or retries exhausted, info', () => {
    expect(outcomeOf({ name: 'KafkaJSProtocolError', type: 'NOT_ENOUGH_REPLICAS' })).toBe('fail');
    expect(outcomeOf({ name: 'KafkaJSProtocolError', type: 'NOT_ENOUGH_REPLICAS_AFTER_APPEND' })).toBe(
      'info',
    );
    expect(outcomeOf({ name: 'KafkaJSRequestTimeoutError' })).toBe('info');
    expect(outcomeOf({ name: 'KafkaJSNumberOfRetriesExceeded', type: 'NOT_ENOUGH_REPLICAS' })).toBe('info');
    expect(outcomeOf(new Error('socket hang up'))).toBe('info');
  });
});
