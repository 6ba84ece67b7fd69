import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterAgent } from '../../src/cluster/cluster-agent.js';
import { silentClusterLog } from '../../src/cluster/cluster-log.js';
import { EtcdClient } from '../../src/cluster/etcd/etcd-client.js';
import { FaultProxy } from '../../tools/chaos/fault-proxy.js';
import { type EtcdCluster, etcdAvailable, startEtcd } from '../support/etcd.js';
import { RecordingRoleSink } from '../support/recording-role-sink.js';

/**
 * A leader cut off from etcd (every byte to and from etcd dropped, no reset) fences itself on its own clock
 * before its lease can expire in etcd, so no other broker can lead its partitions while it still thinks it
 * may; after the link heals it registers again under a new epoch and follows the new leader.
 */
describe.skipIf(!etcdAvailable)('fencing a broker cut off from etcd', () => {
  let etcd: EtcdCluster;
  let proxy: FaultProxy;
  const agents: ClusterAgent[] = [];

  beforeAll(async () => {
    etcd = await startEtcd();
    proxy = await FaultProxy.start({
      targetPort: Number(new URL(etcd.endpoints[0]!).port),
      name: 'broker1->etcd',
    });
  });
  afterAll(async () => {
    await Promise.all(agents.map((agent) => agent.stop()));
    proxy?.heal();
    await proxy?.close();
    await etcd?.stop();
  });

  it('given the leader loses etcd, should fence itself before its key expires, and rejoin under a new epoch after healing', async () => {
    const start = (id: number, endpoint: string, leaseTtlMs: number) =>
      ClusterAgent.start({
        client: new EtcdClient({ endpoints: [endpoint], requestTimeoutMs: 500 }),
        cluster: 'fencing',
        brokerId: id,
        host: '127.0.0.1',
        port: 9000 + id,
        sink: new RecordingRoleSink(),
        log: silentClusterLog,
        leaseTtlMs,
        retryDelayMs: 100,
      });
    const cutOff = await start(1, `http://127.0.0.1:${proxy.port}`, 3000);
    agents.push(cutOff);
    const observer = await start(2, etcd.endpoints[0]!, 2000);
    agents.push(observer);
    const topic = await observer.createTopic({
      name: 'fenced',
      partitionCount: 2,
      replicationFactor: 2,
      config: {},
    });
    const deadline = Date.now() + 5000;
    while ([0, 1].some((p) => cutOff.partition(topic.topicId, p) === undefined) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const led = [0, 1].find((p) => cutOff.partition(topic.topicId, p)!.leader === 1)!;
    expect(cutOff.isLeader('fenced', led)).toBe(true);
    const epochBefore = cutOff.brokerEpoch();

    proxy.blackhole('both');
    const cutAtMs = Date.now();
    let fencedAtMs = -1;
    let goneAtMs = -1;
    let liveWhenFenced: readonly number[] = [];
    while ((fencedAtMs < 0 || goneAtMs < 0) && Date.now() - cutAtMs < 15_000) {
      if (fencedAtMs < 0 && !cutOff.leaseValid()) {
        fencedAtMs = Date.now();
        liveWhenFenced = observer.liveBrokers();
      }
      if (goneAtMs < 0 && !observer.liveBrokers().includes(1)) goneAtMs = Date.now();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(fencedAtMs).toBeGreaterThan(0);
    expect(goneAtMs).toBeGreaterThan(0);
    // Fenced first, while etcd still held its key: nobody else could have been elected yet.
    expect(fencedAtMs).toBeLessThan(goneAtMs);
    expect(liveWhenFenced).toContain(1);
    expect(cutOff.isLeader('fenced', led)).toBe(false);

    // The controller (broker 2 now) moves the partition to the live ISR member under the next epoch.
    const moveDeadline = Date.now() + 10_000;
    while (observer.partition(topic.topicId, led)!.leader !== 2 && Date.now() < moveDeadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(observer.partition(topic.topicId, led)).toMatchObject({ leader: 2, isr: [2] });

    proxy.heal();
    const healDeadline = Date.now() + 15_000;
    while (
      (!cutOff.leaseValid() || cutOff.partition(topic.topicId, led)?.leader !== 2) &&
      Date.now() < healDeadline
    ) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(cutOff.leaseValid()).toBe(true);
    expect(cutOff.brokerEpoch()).toBeGreaterThan(epochBefore);
    expect(cutOff.isLeader('fenced', led)).toBe(false);
  });
});
