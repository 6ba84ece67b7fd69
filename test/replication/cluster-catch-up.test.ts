import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrokerConfig } from '../../src/common/broker-config.js';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { type Broker, startBroker } from '../../src/server/broker.js';
import { testBrokerConfig } from '../support/engine-fixture.js';
import { type EtcdCluster, etcdAvailable, startEtcd } from '../support/etcd.js';
import { makeTempDir } from '../support/temp-dir.js';

/**
 * Three brokers on a real etcd, one partition with three replicas. A follower
 * stops; the leader takes more records and deletes the older ones
 * (DeleteRecords), so its log start passes the stopped follower's log end.
 * When the follower comes back it cannot fetch what it lacks (the leader
 * answers OFFSET_OUT_OF_RANGE): it restarts its log, empty, at the leader's
 * log start, catches up to the leader's log end, and rejoins the ISR.
 */
const LEASE_TTL_MS = 2000;
const TOPIC = 'catchup';

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

const batchOf = (value: string): Uint8Array =>
  buildRecordBatch([{ key: null, value: new TextEncoder().encode(value) }]);

describe.skipIf(!etcdAvailable)('a follower catching up past the leader log start', () => {
  let etcd: EtcdCluster;
  const brokers = new Map<number, Broker>();
  const configs = new Map<number, BrokerConfig>();
  const temps: (() => void)[] = [];

  beforeAll(async () => {
    etcd = await startEtcd();
    for (const id of [1, 2, 3]) {
      const temp = makeTempDir(`catch-up-broker-${id}`);
      temps.push(temp.cleanup);
      const config = testBrokerConfig(temp.dir, {
        nodeId: id,
        shardCount: 1,
        etcdEndpoints: etcd.endpoints,
        clusterName: 'catchup',
        etcdLeaseTtlMs: LEASE_TTL_MS,
        replicaLagTimeMaxMs: 1000,
      });
      configs.set(id, config);
      brokers.set(id, await startBroker(config, { http: false }));
    }
    await eventually(() => brokers.get(1)!.cluster!.liveBrokers().length === 3, 30_000, 'three live brokers');
  }, 120_000);

  afterAll(async () => {
    await Promise.all([...brokers.values()].map((broker) => broker.stop()));
    await etcd?.stop();
    for (const cleanup of temps) cleanup();
  });

  it('given a follower whose log ends below the leader log start, when it returns, then it restarts at the leader log start, reaches the leader log end and rejoins the ISR', async () => {
    const first = brokers.get(1)!;
    const view = first.cluster!;
    await view.createTopic({ name: TOPIC, partitionCount: 1, replicationFactor: 3, config: {} });
    await eventually(() => view.topic(TOPIC) !== undefined, 10_000, 'the topic in the cache');
    const topicId = view.topic(TOPIC)!.topicId;
    const state = () => view.partition(topicId, 0);
    await eventually(
      () => (state()?.leader ?? -1) >= 0 && state()!.isr.length === 3,
      15_000,
      'a leader, ISR of 3',
    );
    const leaderId = state()!.leader;
    const leader = brokers.get(leaderId)!;
    const produce = async (count: number, prefix: string): Promise<void> => {
      for (let i = 0; i < count; i++) {
        const outcome = await leader.engine.produce(TOPIC, 0, batchOf(`${prefix}-${i}`), 1);
        expect(outcome.errorCode).toBe(KafkaErrorCode.NONE);
      }
    };
    const endOf = async (broker: Broker) => (await broker.engine.describePartitions(TOPIC))![0]!;
    await produce(5, 'early');
    const [followerId, otherId] = [1, 2, 3].filter((id) => id !== leaderId) as [number, number];
    await eventually(
      async () => (await endOf(brokers.get(followerId)!)).logEndOffset === 5,
      10_000,
      'replicated 5',
    );

    await brokers.get(followerId)!.stop();
    brokers.delete(followerId);
    await eventually(() => !state()!.isr.includes(followerId), 15_000, 'the stopped follower out of the ISR');
    await produce(20, 'late');
    await eventually(
      async () => (await endOf(leader)).highWatermark === 25,
      10_000,
      'the high watermark at 25',
    );
    expect((await leader.engine.deleteRecords(TOPIC, 0, 15)).errorCode).toBe(KafkaErrorCode.NONE);
    expect((await endOf(leader)).logStartOffset).toBe(15);

    const returned = await startBroker(configs.get(followerId)!, { http: false });
    brokers.set(followerId, returned);
    await eventually(
      async () => {
        const described = await endOf(returned);
        return described.logStartOffset === 15 && described.logEndOffset === 25;
      },
      20_000,
      'the returned follower holding 15..25',
    );
    await eventually(
      () => state()!.isr.includes(followerId),
      20_000,
      'the returned follower back in the ISR',
    );
    expect([...state()!.isr].sort()).toEqual([leaderId, followerId, otherId].sort());
  }, 120_000);
});
