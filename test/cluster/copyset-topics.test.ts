import { afterAll, describe, expect, it } from 'vitest';
import { ClusterAgent } from '../../src/cluster/cluster-agent.js';
import { silentClusterLog } from '../../src/cluster/cluster-log.js';
import { EtcdClient } from '../../src/cluster/etcd/etcd-client.js';
import { type EtcdCluster, etcdAvailable, startEtcd } from '../support/etcd.js';
import { RecordingRoleSink } from '../support/recording-role-sink.js';

/**
 * Topic creation in a cluster places replicas by copysets by default: with six
 * brokers, R = 3 and scatter width 2 there are two disjoint copysets, and every
 * partition of every topic (each topic with its own seed, its id) uses one of
 * them. Round-robin placement would use six different sets here.
 */
describe.skipIf(!etcdAvailable)('cluster topic creation places replicas by copysets', () => {
  let etcd: EtcdCluster | undefined;
  const agents: ClusterAgent[] = [];
  afterAll(async () => {
    await Promise.all(agents.map((agent) => agent.stop()));
    await etcd?.stop();
  });

  it('given six brokers and scatter width 2, every topic draws its replica sets from two disjoint copysets', async () => {
    etcd = await startEtcd();
    for (const id of [1, 2, 3, 4, 5, 6]) {
      agents.push(
        await ClusterAgent.start({
          client: new EtcdClient({ endpoints: etcd.endpoints, requestTimeoutMs: 2000 }),
          cluster: 'copysets',
          brokerId: id,
          host: '127.0.0.1',
          port: 9000 + id,
          sink: new RecordingRoleSink(),
          log: silentClusterLog,
          leaseTtlMs: 2000,
          retryDelayMs: 100,
          scatterWidth: 2,
        }),
      );
    }
    const creator = agents[0]!;
    const deadline = Date.now() + 10_000;
    while (creator.liveBrokers().length < 6 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(creator.liveBrokers()).toHaveLength(6);

    const replicaSets = new Set<string>();
    const leaders = new Map<number, number>();
    for (const name of ['a', 'b', 'c', 'd', 'e']) {
      const topic = await creator.createTopic({ name, partitionCount: 6, replicationFactor: 3, config: {} });
      for (let p = 0; p < 6; p++) {
        let state = creator.partition(topic.topicId, p);
        for (let round = 0; state === undefined && round < 100; round++) {
          await new Promise((resolve) => setTimeout(resolve, 50));
          state = creator.partition(topic.topicId, p);
        }
        expect(state).toBeDefined();
        replicaSets.add([...state!.replicas].sort((x, y) => x - y).join(','));
        leaders.set(state!.leader, (leaders.get(state!.leader) ?? 0) + 1);
      }
    }
    expect(replicaSets.size).toBe(2);
    const [first, second] = [...replicaSets].map((key) => key.split(','));
    expect(new Set([...first!, ...second!]).size).toBe(6);
    // Within each topic leaders rotate over all six brokers: 5 topics × 6 partitions = 5 leaderships each.
    expect([...leaders.values()]).toEqual([5, 5, 5, 5, 5, 5]);
  });
});
