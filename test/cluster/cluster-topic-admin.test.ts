import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigResourceTypes, Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrokerConfig } from '../../src/common/broker-config.js';
import { type Broker, startBroker } from '../../src/server/broker.js';
import { testBrokerConfig } from '../support/engine-fixture.js';
import { type EtcdCluster, etcdAvailable, startEtcd } from '../support/etcd.js';
import { makeTempDir } from '../support/temp-dir.js';

/**
 * Topic administration in cluster mode, through etcd: AlterConfigs on one
 * broker writes the topic's etcd record and every broker holding a replica
 * applies it from its watch, also one that was down during the change (from
 * its full read when it returns); CreatePartitions grows the topic in etcd and
 * every replica's broker creates the new partitions; DeleteTopics removes it
 * from etcd and every replica's broker removes its files, one that was down
 * when it returns, and a topic created again under the name starts empty.
 */
const LEASE_TTL_MS = 2000;
const TOPIC = 'configured';

async function eventually(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`not within ${timeoutMs} ms: ${what}`);
}

describe.skipIf(!etcdAvailable)('topic administration in cluster mode', () => {
  let etcd: EtcdCluster;
  const brokers = new Map<number, Broker>();
  const configs = new Map<number, BrokerConfig>();
  const temps: (() => void)[] = [];

  beforeAll(async () => {
    etcd = await startEtcd();
    for (const id of [1, 2, 3]) {
      const temp = makeTempDir(`topic-config-broker-${id}`);
      temps.push(temp.cleanup);
      const config = testBrokerConfig(temp.dir, {
        nodeId: id,
        shardCount: 1,
        etcdEndpoints: etcd.endpoints,
        clusterName: 'topicconfig',
        etcdLeaseTtlMs: LEASE_TTL_MS,
      });
      configs.set(id, config);
      brokers.set(id, await startBroker(config, {}));
    }
    await eventually(() => brokers.get(1)!.cluster!.liveBrokers().length === 3, 30_000, 'three live brokers');
  }, 120_000);

  afterAll(async () => {
    await Promise.all([...brokers.values()].map((broker) => broker.stop()));
    await etcd?.stop();
    for (const cleanup of temps) cleanup();
  });

  it('given a topic on three brokers, when AlterConfigs changes it on one while another is down, then etcd holds it and every replica applies it, the returning one too', async () => {
    const kafka = new Kafka({
      clientId: 'topic-config',
      brokers: [`127.0.0.1:${brokers.get(1)!.kafkaPort}`],
      logLevel: logLevel.NOTHING,
      retry: { retries: 10, initialRetryTime: 100 },
    });
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 2, replicationFactor: 3 }] });
      await eventually(
        () => [...brokers.values()].every((broker) => broker.engine.describeTopic(TOPIC) !== undefined),
        15_000,
        'the topic on every broker',
      );
      // Broker 3 is down during the change.
      await brokers.get(3)!.stop();
      brokers.delete(3);
      await admin.alterConfigs({
        validateOnly: false,
        resources: [
          {
            type: ConfigResourceTypes.TOPIC,
            name: TOPIC,
            configEntries: [
              { name: 'retention.ms', value: '123456' },
              { name: 'min.insync.replicas', value: '1' },
            ],
          },
        ],
      });
    } finally {
      await admin.disconnect();
    }
    const record = brokers.get(1)!.cluster!.topic(TOPIC)!;
    expect(record.config).toMatchObject({ 'retention.ms': '123456', 'min.insync.replicas': '1' });
    for (const id of [1, 2]) {
      await eventually(
        () => brokers.get(id)!.engine.describeTopic(TOPIC)!.config.retentionMs === 123456,
        10_000,
        `broker ${id} applying the change`,
      );
    }
    const returned = await startBroker(configs.get(3)!, {});
    brokers.set(3, returned);
    await eventually(
      () => returned.engine.describeTopic(TOPIC)?.config.retentionMs === 123456,
      20_000,
      'the returned broker applying the change',
    );
    expect(returned.engine.describeTopic(TOPIC)!.config.minInsyncReplicas).toBe(1);
  }, 120_000);

  it('given a topic on three brokers, when CreatePartitions grows it, then etcd holds the new partitions placed on live brokers, their replicas are created and an acks=all produce to a new one succeeds', async () => {
    const kafka = new Kafka({
      clientId: 'topic-partitions',
      brokers: [`127.0.0.1:${brokers.get(2)!.kafkaPort}`],
      logLevel: logLevel.NOTHING,
      retry: { retries: 10, initialRetryTime: 100 },
    });
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic: 'grown', numPartitions: 1, replicationFactor: 3 }] });
      await admin.createPartitions({ topicPartitions: [{ topic: 'grown', count: 3 }] });
    } finally {
      await admin.disconnect();
    }
    const view = brokers.get(1)!.cluster!;
    await eventually(() => view.topic('grown')?.partitionCount === 3, 10_000, 'three partitions in etcd');
    const topicId = view.topic('grown')!.topicId;
    for (const partition of [1, 2]) {
      await eventually(
        () => (view.partition(topicId, partition)?.leader ?? -1) >= 0,
        10_000,
        `a leader of ${partition}`,
      );
      expect(view.partition(topicId, partition)!.replicas).toHaveLength(3);
    }
    await eventually(
      () =>
        [...brokers.values()].every((broker) => broker.engine.describeTopic('grown')?.partitionCount === 3),
      15_000,
      'three local partitions on every broker',
    );
    const producer = kafka.producer();
    await producer.connect();
    try {
      const [result] = await producer.send({
        topic: 'grown',
        acks: -1,
        messages: [{ partition: 2, value: 'x' }],
      });
      expect(result!.errorCode).toBe(0);
    } finally {
      await producer.disconnect();
    }
  }, 60_000);

  it('given topics on three brokers, when DeleteTopics removes them (one broker down for the second), then etcd and every broker drop them, and a topic created again under the name starts empty', async () => {
    const kafka = new Kafka({
      clientId: 'topic-deletion',
      brokers: [`127.0.0.1:${brokers.get(1)!.kafkaPort}`],
      logLevel: logLevel.NOTHING,
      retry: { retries: 10, initialRetryTime: 100 },
    });
    const hasFiles = (broker: Broker, name: string): boolean =>
      readdirSync(join(broker.config.dataDir, 'topics')).some((entry) => entry.endsWith(`-${name}`));
    const admin = kafka.admin();
    const producer = kafka.producer();
    await admin.connect();
    await producer.connect();
    try {
      await admin.createTopics({
        topics: [
          { topic: 'doomed', numPartitions: 1, replicationFactor: 3 },
          { topic: 'doomed2', numPartitions: 1, replicationFactor: 3 },
        ],
      });
      await eventually(
        () =>
          [...brokers.values()].every(
            (broker) =>
              broker.engine.describeTopic('doomed') !== undefined &&
              broker.engine.describeTopic('doomed2') !== undefined,
          ),
        15_000,
        'both topics on every broker',
      );
      for (const topic of ['doomed', 'doomed2']) {
        for (let i = 0; i < 3; i++)
          await producer.send({ topic, acks: -1, messages: [{ partition: 0, value: `v${i}` }] });
      }
      await admin.deleteTopics({ topics: ['doomed'] });
      const view = brokers.get(1)!.cluster!;
      expect(view.topic('doomed')).toBeUndefined();
      await eventually(
        () => [...brokers.values()].every((broker) => broker.engine.describeTopic('doomed') === undefined),
        15_000,
        'doomed gone from every broker',
      );
      await eventually(
        () => [...brokers.values()].every((broker) => !hasFiles(broker, 'doomed')),
        15_000,
        "doomed's files gone from every broker",
      );
      // Broker 3 is down while doomed2 is deleted: it removes its copy when it returns.
      await brokers.get(3)!.stop();
      brokers.delete(3);
      await admin.deleteTopics({ topics: ['doomed2'] });
      await eventually(() => view.topic('doomed2') === undefined, 10_000, 'doomed2 gone from etcd');
      const returned = await startBroker(configs.get(3)!, {});
      brokers.set(3, returned);
      await eventually(
        () => returned.engine.describeTopic('doomed2') === undefined && !hasFiles(returned, 'doomed2'),
        20_000,
        'the returned broker dropping doomed2',
      );
      await eventually(() => view.liveBrokers().length === 3, 20_000, 'three live brokers again');
      // Created again under the same name: a new topic, empty, on all three.
      await admin.createTopics({ topics: [{ topic: 'doomed', numPartitions: 1, replicationFactor: 3 }] });
      await eventually(
        () => [...brokers.values()].every((broker) => broker.engine.describeTopic('doomed') !== undefined),
        15_000,
        'doomed again on every broker',
      );
      const [result] = await producer.send({
        topic: 'doomed',
        acks: -1,
        messages: [{ partition: 0, value: 'fresh' }],
      });
      expect(result!.errorCode).toBe(0);
      expect(Number(result!.baseOffset)).toBe(0);
    } finally {
      await producer.disconnect();
      await admin.disconnect();
    }
  }, 120_000);

  it('given the HTTP API of one broker, when a topic is created, configured, grown and deleted there, then every replica broker follows, and /metrics shows the replication of what it leads', async () => {
    const http = (broker: Broker, method: string, path: string, body?: unknown) =>
      fetch(`http://127.0.0.1:${broker.httpPort}${path}`, {
        method,
        headers: { 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    const first = brokers.get(1)!;
    const all = () => [...brokers.values()];
    await eventually(() => first.cluster!.liveBrokers().length === 3, 20_000, 'three live brokers');
    expect(
      (await http(first, 'POST', '/topics', { name: 'viahttp', partitions: 1, replicationFactor: 3 })).status,
    ).toBe(201);
    await eventually(
      () => all().every((broker) => broker.engine.describeTopic('viahttp') !== undefined),
      15_000,
      'the topic on every broker',
    );
    const configured = await http(first, 'POST', '/topics/viahttp/config', {
      config: { 'retention.ms': '7777' },
    });
    expect(configured.status).toBe(200);
    await eventually(
      () => all().every((broker) => broker.engine.describeTopic('viahttp')!.config.retentionMs === 7777),
      10_000,
      'the config on every broker',
    );
    expect((await http(first, 'POST', '/topics/viahttp/partitions', { partitions: 2 })).status).toBe(200);
    await eventually(
      () => all().every((broker) => broker.engine.describeTopic('viahttp')?.partitionCount === 2),
      10_000,
      'two partitions on every broker',
    );
    const view = first.cluster!;
    const topicId = view.topic('viahttp')!.topicId;
    const leader = brokers.get(view.partition(topicId, 0)!.leader)!;
    await eventually(
      async () =>
        /pyralog_partition_isr_size\{topic="viahttp",partition="0"\} 3\n/.test(
          await (await http(leader, 'GET', '/metrics')).text(),
        ),
      10_000,
      "the leader's /metrics showing the partition's ISR",
    );
    expect((await http(first, 'DELETE', '/topics/viahttp')).status).toBe(200);
    await eventually(
      () => all().every((broker) => broker.engine.describeTopic('viahttp') === undefined),
      15_000,
      'the topic gone from every broker',
    );
  }, 60_000);
});
