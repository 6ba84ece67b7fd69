import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterKeys } from '../../src/cluster/cluster-records.js';
import { EtcdClient } from '../../src/cluster/etcd/etcd-client.js';
import { CLUSTER_PRODUCER_ID_BASE, ProducerIdBlocks } from '../../src/cluster/producer-id-blocks.js';
import { type EtcdCluster, etcdAvailable, startEtcd } from '../support/etcd.js';

/**
 * Producer ids in cluster mode come from one counter in etcd, in blocks, so
 * two brokers never hand out the same id (with each broker's own sequencer
 * they did, and an idempotent producer's write was then acknowledged as a
 * duplicate of another producer's record: the chaos checker's finding).
 */
describe.skipIf(!etcdAvailable)('producer id blocks in etcd', () => {
  let etcd: EtcdCluster;
  beforeAll(async () => {
    etcd = await startEtcd();
  });
  afterAll(async () => {
    await etcd?.stop();
  });

  it('given three brokers taking ids at once, should never hand out one twice, and a restarted broker should continue above them', async () => {
    const keys = new ClusterKeys('ids');
    const brokers = [1, 2, 3].map(
      () => new ProducerIdBlocks(new EtcdClient({ endpoints: etcd.endpoints }), keys, 50),
    );
    const taken = await Promise.all(
      brokers.map(async (blocks) => {
        const ids: number[] = [];
        for (let i = 0; i < 400; i++) ids.push(await blocks.take());
        return ids;
      }),
    );
    const all = taken.flat();
    expect(new Set(all).size).toBe(all.length);
    expect(Math.min(...all)).toBeGreaterThanOrEqual(CLUSTER_PRODUCER_ID_BASE);
    // Concurrent callers of one broker are served one at a time, without repeats either.
    const concurrent = await Promise.all(Array.from({ length: 120 }, () => brokers[0]!.take()));
    expect(new Set([...all, ...concurrent]).size).toBe(all.length + concurrent.length);
    const restarted = new ProducerIdBlocks(new EtcdClient({ endpoints: etcd.endpoints }), keys, 50);
    expect(await restarted.take()).toBeGreaterThan(Math.max(...all, ...concurrent));
  }, 60_000);
});
