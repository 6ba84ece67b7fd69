import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterCache } from '../../src/cluster/cluster-cache.js';
import { silentClusterLog } from '../../src/cluster/cluster-log.js';
import {
  ClusterKeys,
  decodePartitionRecord,
  encodeRecord,
  type PartitionRecord,
} from '../../src/cluster/cluster-records.js';
import { Controller } from '../../src/cluster/controller.js';
import { EtcdClient } from '../../src/cluster/etcd/etcd-client.js';
import { type EtcdCluster, etcdAvailable, startEtcd } from '../support/etcd.js';

/**
 * A controller that was deposed but has not heard of it yet (its copy of etcd still names it) must change
 * nothing: every election it writes compares the controller key's create revision with its own epoch.
 */
describe.skipIf(!etcdAvailable)('a deposed controller', () => {
  let etcd: EtcdCluster;

  beforeAll(async () => {
    etcd = await startEtcd();
  });
  afterAll(async () => {
    await etcd?.stop();
  });

  it('given a stale view naming it controller, should write no election; with the current epoch it should', async () => {
    const client = new EtcdClient({ endpoints: etcd.endpoints });
    const keys = new ClusterKeys('deposed');
    const orphan: PartitionRecord = {
      topicId: 1,
      topic: 't',
      partition: 0,
      replicas: [5, 6],
      leader: 5,
      leaderEpoch: 2,
      isr: [5, 6],
      leaderBrokerEpoch: 1,
    };
    await client.put(keys.partition(1, 0), encodeRecord(orphan));
    await client.put(keys.broker(6), encodeRecord({ brokerId: 6, host: 'h', port: 1, startedMs: 0 }));
    // The real controller now: broker 7, elected after broker 1 was.
    const currentEpoch = await client.put(keys.controller, encodeRecord({ brokerId: 7, brokerEpoch: 3 }));

    const cache = new ClusterCache(keys, () => {});
    const snapshot = await client.range(keys.root, { prefix: true });
    cache.reset(snapshot.kvs, snapshot.revision);
    // Broker 1's stale belief: it is the controller, under an earlier controller epoch.
    cache.controller = { record: { brokerId: 1, brokerEpoch: 100 }, epoch: currentEpoch - 1 };
    const controller = new Controller(
      client,
      keys,
      cache,
      { brokerId: 1, brokerEpoch: () => 100, leaseId: () => '0', leaseValid: () => true },
      silentClusterLog,
      100,
    );
    expect(controller.isController()).toBe(true);
    controller.reconcile();
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(controller.electionsWritten).toBe(0);
    expect(decodePartitionRecord((await client.get(keys.partition(1, 0)))!.value)).toEqual(orphan);

    // The same controller under the epoch etcd holds elects broker 6.
    cache.controller = { record: { brokerId: 1, brokerEpoch: 100 }, epoch: currentEpoch };
    controller.reconcile();
    const deadline = Date.now() + 5000;
    while (controller.electionsWritten === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(decodePartitionRecord((await client.get(keys.partition(1, 0)))!.value)).toMatchObject({
      leader: 6,
      leaderEpoch: 3,
      isr: [6],
    });
    controller.stop();
  });
});
