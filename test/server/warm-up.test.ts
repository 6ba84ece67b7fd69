import { cpSync, mkdirSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { type Logger, pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LeanKafkaProducer } from '../../src/cli/bench/lean-kafka-producer.js';
import type { BrokerConfig } from '../../src/common/broker-config.js';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import type { Offset } from '../../src/common/offset.js';
import { WARM_UP_TOPIC_NAME } from '../../src/engine/warm-up-scratch.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { type Broker, startBroker } from '../../src/server/broker.js';
import { testBrokerConfig } from '../support/engine-fixture.js';
import { makeTempDir } from '../support/temp-dir.js';

/**
 * The start-up warm-up (src/server/warm-up.ts) runs real Kafka traffic
 * through the broker before its listeners open, and must leave nothing
 * behind: no topic, no file in the data directory or the temp directory, no
 * count in the metrics, no offset moved; and the broker serves as usual.
 */
const MIB = 1024 * 1024;

/** Every path under `dir`, relative to it, sorted. */
function treeOf(dir: string): string[] {
  const paths: string[] = [];
  const walk = (at: string): void => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const path = join(at, entry.name);
      paths.push(relative(dir, path));
      if (entry.isDirectory()) walk(path);
    }
  };
  walk(dir);
  return paths.sort();
}

/** The metrics a request moves (counters, stage histogram counts, partition gauges), by series. */
async function trafficMetrics(broker: Broker): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${broker.httpPort}/metrics`)).text();
  const series = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!/^pyralog_(produce|fetch|ring_wait|append|fsync_wait|sync|partitions|shard_other)/.test(line))
      continue;
    // How long the broker's own start-up requests took differs from run to run; how many there were does not.
    if (/_(bucket|sum)[{ ]/.test(line)) continue;
    const at = line.lastIndexOf(' ');
    series.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return series;
}

/** A logger whose lines the test can read. */
function capturedLogger(): { logger: Logger; lines: () => Record<string, unknown>[] } {
  const written: string[] = [];
  return {
    logger: pino({ level: 'info' }, { write: (line: string) => written.push(line) }),
    lines: () =>
      written
        .join('')
        .split('\n')
        .filter((line) => line.length > 0)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

describe('the start-up warm-up', () => {
  /** The warm-up's scratch directories left in the temp directory (tsx keeps its own cache there too). */
  const scratchDirs = (): string[] =>
    readdirSync(scratchParent).filter((name) => name.startsWith('pyralog-warm-up-'));
  let temp: { dir: string; cleanup: () => void };
  let scratchParent: string;
  let savedTmpDir: string | undefined;
  const brokers: Broker[] = [];

  beforeEach(() => {
    temp = makeTempDir('warm-up');
    // The warm-up makes its scratch directory under os.tmpdir(): here, a directory this test watches.
    scratchParent = join(temp.dir, 'tmp');
    mkdirSync(scratchParent);
    savedTmpDir = process.env.TMPDIR;
    process.env.TMPDIR = scratchParent;
  });
  afterEach(async () => {
    for (const broker of brokers.splice(0)) await broker.stop();
    if (savedTmpDir === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmpDir;
    temp.cleanup();
  });

  const config = (name: string, overrides: Partial<BrokerConfig> = {}): BrokerConfig =>
    testBrokerConfig(join(temp.dir, name), {
      fsync: 'never',
      ringBytes: 4 * MIB,
      ...overrides,
    });

  async function start(brokerConfig: BrokerConfig, logger = pino({ level: 'silent' })): Promise<Broker> {
    const broker = await startBroker(brokerConfig, { logger });
    brokers.push(broker);
    return broker;
  }

  it('given a broker whose ACLs deny by default when it warms up then its warm-up requests still succeed on the scratch topic', async () => {
    const log = capturedLogger();
    await start(config('acl', { warmUp: true, allowEveryoneIfNoAclFound: false }), log.logger);
    const started = log.lines().find((line) => line.msg === 'pyralog started');
    expect(started?.warmUpRequests).toBeGreaterThan(100);
    // No 'warm-up requests answered with errors' and no 'warm-up failed'.
    expect(log.lines().filter((line) => String(line.msg).startsWith('warm-up'))).toEqual([]);
  });

  it('given warm-up on when a fresh broker starts then it ran warm-up requests and left no topic, file or metric behind', async () => {
    const log = capturedLogger();
    const warm = await start(config('warm', { warmUp: true }), log.logger);
    const cold = await start(config('cold', { warmUp: false }));

    const started = log.lines().find((line) => line.msg === 'pyralog started');
    expect(started?.warmUpRequests).toBeGreaterThan(100);
    expect(started?.warmUpMs).toBeGreaterThan(0);
    expect(log.lines().filter((line) => String(line.msg).startsWith('warm-up'))).toEqual([]);

    // The broker's own topics (__consumer_offsets), as an unwarmed broker has them, and nothing else.
    expect(warm.engine.listTopics().map((topic) => topic.name)).toEqual(
      cold.engine.listTopics().map((topic) => topic.name),
    );
    expect(warm.engine.describeTopic(WARM_UP_TOPIC_NAME)).toBeUndefined();
    expect(treeOf(warm.config.dataDir)).toEqual(treeOf(cold.config.dataDir));
    expect(scratchDirs()).toEqual([]);
    expect(await trafficMetrics(warm)).toEqual(await trafficMetrics(cold));
    expect(warm.engine.offlinePartitions().size).toBe(0);

    // The scratch topic is no longer routed: a produce naming it is refused like any unknown topic.
    const batch = buildRecordBatch([{ key: null, value: new Uint8Array(10) }]);
    const refused = await warm.engine.produce(WARM_UP_TOPIC_NAME, 0, batch, 1);
    expect(refused.errorCode).toBe(KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  }, 60_000);

  it('given warm-up on when a client produces right after start then its records get offsets from 0 and read back', async () => {
    const broker = await start(config('data', { warmUp: true }));
    expect(await broker.engine.createTopic('first', 2)).toBe(KafkaErrorCode.NONE);
    const producer = await LeanKafkaProducer.connect(broker.kafkaPort);
    try {
      const batch = buildRecordBatch([{ key: null, value: new Uint8Array(100).fill(3) }]);
      const acks = await Promise.all(
        [0, 1, 0, 1].map((partition) => producer.produce('first', partition, batch, 1)),
      );
      expect(acks).toEqual([
        { errorCode: 0, baseOffset: 0 },
        { errorCode: 0, baseOffset: 0 },
        { errorCode: 0, baseOffset: 1 },
        { errorCode: 0, baseOffset: 1 },
      ]);
      const read = await broker.engine.fetch({
        partitions: [{ topic: 'first', partition: 0, offset: 0 as Offset, maxBytes: MIB }],
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: MIB,
      });
      expect(read.partitions[0]!.errorCode).toBe(KafkaErrorCode.NONE);
      expect(read.partitions[0]!.highWatermark).toBe(2);
      expect(read.partitions[0]!.records.length).toBe(2 * batch.length);
    } finally {
      producer.close();
    }
    const metrics = await trafficMetrics(broker);
    // Only the client's four produces count (summed over both shards).
    const produced = [...metrics]
      .filter(([series]) => series.startsWith('pyralog_produce_requests_total'))
      .reduce((sum, [, value]) => sum + value, 0);
    expect(produced).toBe(4);
  }, 60_000);

  it('given a restarted broker with data when it warms up then its topics, offsets and files are as it left them', async () => {
    const brokerConfig = config('restart', { warmUp: true });
    const first = await start(brokerConfig);
    expect(await first.engine.createTopic('kept', 1)).toBe(KafkaErrorCode.NONE);
    const batch = buildRecordBatch([{ key: null, value: new Uint8Array(100).fill(4) }]);
    for (let i = 0; i < 3; i++) expect((await first.engine.produce('kept', 0, batch, -1)).errorCode).toBe(0);
    await first.stop();
    brokers.splice(brokers.indexOf(first), 1);
    // The same data directory restarted without the warm-up is what the warmed one must look like.
    const copyDir = join(temp.dir, 'restart-copy');
    cpSync(brokerConfig.dataDir, copyDir, { recursive: true });

    const second = await start(brokerConfig);
    const unwarmed = await start({ ...brokerConfig, dataDir: copyDir, warmUp: false });
    expect(second.engine.listTopics().map((topic) => topic.name)).toEqual(
      unwarmed.engine.listTopics().map((topic) => topic.name),
    );
    expect(second.engine.describeTopic('kept')).toBeDefined();
    expect(treeOf(brokerConfig.dataDir)).toEqual(treeOf(copyDir));
    expect(await trafficMetrics(second)).toEqual(await trafficMetrics(unwarmed));
    expect(scratchDirs()).toEqual([]);
    const next = await second.engine.produce('kept', 0, batch, 1);
    expect(next).toMatchObject({ errorCode: 0, baseOffset: 3 });
  }, 60_000);
});
