import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import type { Offset } from '../../src/common/offset.js';
import { decodeRecordSet } from '../../src/record/batch-reader.js';
import type { Broker } from '../../src/server/broker.js';
import { type BrokerCluster, eventually, startBrokerCluster } from '../support/broker-cluster.js';
import { etcdAvailable } from '../support/etcd.js';

/**
 * Replication end to end: three brokers on one real etcd, a topic with three
 * replicas, kafkajs producing with acks=all; the partition's leader is
 * stopped; after the failover every record acknowledged before and after is
 * read back from the new leader at the offset it was acknowledged at, in
 * order, and the surviving replicas hold the same log.
 */
/** Every record of partition 0 below the high watermark, as a consumer of `broker` reads it. */
async function readAll(broker: Broker): Promise<Map<number, string>> {
  const found = new Map<number, string>();
  let offset = 0;
  for (let round = 0; round < 1000; round++) {
    const outcome = await broker.engine.fetch({
      partitions: [{ topic: 'failover', partition: 0, offset: offset as Offset, maxBytes: 1 << 20 }],
      maxWaitMs: 0,
      minBytes: 1,
      maxBytes: 1 << 20,
    });
    const part = outcome.partitions[0]!;
    expect(part.errorCode).toBe(KafkaErrorCode.NONE);
    const records = decodeRecordSet(part.records).filter((record) => record.offset >= offset);
    if (records.length === 0) return found;
    for (const record of records) found.set(record.offset, new TextDecoder().decode(record.value!));
    offset = records.at(-1)!.offset + 1;
  }
  return found;
}

describe.skipIf(!etcdAvailable)('replication failover with acks=all', () => {
  let cluster: BrokerCluster | undefined;
  /** The cluster's live brokers; a test that stops one removes it. */
  let brokers = new Map<number, Broker>();

  beforeAll(async () => {
    cluster = await startBrokerCluster({ name: 'failover' });
    brokers = cluster.brokers;
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  const kafka = (port: number): Kafka =>
    new Kafka({
      clientId: 'failover',
      brokers: [`127.0.0.1:${port}`],
      logLevel: logLevel.NOTHING,
      retry: { retries: 10, initialRetryTime: 100 },
    });

  it('given acks=all records on three replicas, when the leader stops, then the new leader serves every acknowledged record at its offset and the survivors agree', async () => {
    const admin = kafka(brokers.get(1)!.kafkaPort).admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic: 'failover', numPartitions: 1, replicationFactor: 3 }] });
    } finally {
      await admin.disconnect();
    }
    const observer = brokers.get(1)!.cluster!;
    await eventually(() => observer.topic('failover') !== undefined, 10_000, 'the topic in the cache');
    const topicId = observer.topic('failover')!.topicId;
    const acknowledged = new Map<number, string>();
    const produce = async (port: number, prefix: string, count: number): Promise<void> => {
      const producer = kafka(port).producer();
      await producer.connect();
      try {
        for (let i = 0; i < count; i++) {
          const value = `${prefix}-${i}`;
          const [result] = await producer.send({
            topic: 'failover',
            acks: -1,
            messages: [{ partition: 0, value }],
          });
          expect(result!.errorCode).toBe(0);
          acknowledged.set(Number(result!.baseOffset), value);
        }
      } finally {
        await producer.disconnect();
      }
    };
    await produce(brokers.get(1)!.kafkaPort, 'before', 20);
    const leader = observer.partition(topicId, 0)!.leader;
    const epochBefore = observer.partition(topicId, 0)!.leaderEpoch;
    await brokers.get(leader)!.stop();
    brokers.delete(leader);
    const survivor = [...brokers.values()][0]!;
    const watcher = survivor.cluster!;
    await eventually(
      () =>
        (watcher.partition(topicId, 0)?.leaderEpoch ?? -1) > epochBefore &&
        watcher.partition(topicId, 0)!.leader >= 0,
      15_000,
      'a new leader',
    );
    await produce(survivor.kafkaPort, 'after', 10);
    const newLeader = brokers.get(watcher.partition(topicId, 0)!.leader)!;
    const read = await readAll(newLeader);
    expect(acknowledged.size).toBe(30);
    for (const [offset, value] of acknowledged) expect(read.get(offset)).toBe(value);
    // Offsets acknowledged are dense and in order: nothing was skipped or acknowledged twice.
    expect([...acknowledged.keys()].sort((a, b) => a - b)).toEqual([...Array(30).keys()]);
    // The surviving follower catches up to the same log end.
    const follower = [...brokers.values()].find((broker) => broker !== newLeader)!;
    await eventually(
      async () => {
        const [a] = (await newLeader.engine.describePartitions('failover'))!;
        const [b] = (await follower.engine.describePartitions('failover'))!;
        return a!.logEndOffset === b!.logEndOffset && a!.logEndOffset === 30;
      },
      10_000,
      'the follower at the leader log end',
    );
  }, 120_000);
});
