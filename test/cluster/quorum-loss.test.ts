import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterAgent } from '../../src/cluster/cluster-agent.js';
import { silentClusterLog } from '../../src/cluster/cluster-log.js';
import { EtcdClient } from '../../src/cluster/etcd/etcd-client.js';
import { type EtcdCluster, etcdAvailable, startEtcd, waitForQuorum } from '../support/etcd.js';
import { RecordingRoleSink } from '../support/recording-role-sink.js';

/**
 * Two brokers on a 3-member etcd that loses two members: no change can be made (topic creation fails with an
 * etcd error), what the brokers know stays readable, the brokers fence themselves when renewals keep failing,
 * and after healing they renew the same leases (same epochs) and changes go through again.
 */
describe.skipIf(!etcdAvailable)('etcd quorum loss under the control plane', () => {
  let etcd: EtcdCluster;
  const agents: ClusterAgent[] = [];

  beforeAll(async () => {
    etcd = await startEtcd({ members: 3 });
  });
  afterAll(async () => {
    await Promise.all(agents.map((agent) => agent.stop()));
    await etcd?.stop();
  });

  it('given two of three etcd members down, should stop changes, keep its view, fence, and recover after healing', async () => {
    for (const id of [1, 2]) {
      agents.push(
        await ClusterAgent.start({
          client: new EtcdClient({ endpoints: etcd.endpoints, requestTimeoutMs: 800 }),
          cluster: 'quorum',
          brokerId: id,
          host: '127.0.0.1',
          port: 9000 + id,
          sink: new RecordingRoleSink(),
          log: silentClusterLog,
          leaseTtlMs: 3000,
          retryDelayMs: 100,
        }),
      );
    }
    const [first, second] = agents as [ClusterAgent, ClusterAgent];
    // The first broker learns of the second through its watch: a replication factor of 2 needs both live.
    const liveDeadline = Date.now() + 10_000;
    while (first.liveBrokers().length < 2 && Date.now() < liveDeadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const topic = await first.createTopic({
      name: 'kept',
      partitionCount: 1,
      replicationFactor: 2,
      config: {},
    });
    const deadline = Date.now() + 5000;
    while (second.partition(topic.topicId, 0) === undefined && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const epochs = agents.map((agent) => agent.brokerEpoch());

    await etcd.members[1]!.kill('SIGKILL');
    await etcd.members[2]!.kill('SIGKILL');
    const failure = await first
      .createTopic({ name: 'during', partitionCount: 1, replicationFactor: 2, config: {} })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(Error);
    // What the brokers know stays readable.
    expect(second.topic('kept')?.topicId).toBe(topic.topicId);
    expect(second.partition(topic.topicId, 0)?.replicas).toHaveLength(2);
    // Renewals cannot succeed without a quorum: every broker fences itself on its own clock.
    const fenceDeadline = Date.now() + 10_000;
    while (agents.some((agent) => agent.leaseValid()) && Date.now() < fenceDeadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(agents.map((agent) => agent.leaseValid())).toEqual([false, false]);

    await etcd.members[1]!.restart();
    await etcd.members[2]!.restart();
    await waitForQuorum(etcd.members[0]!.clientUrl);
    const healDeadline = Date.now() + 15_000;
    while (agents.some((agent) => !agent.leaseValid()) && Date.now() < healDeadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(agents.map((agent) => agent.leaseValid())).toEqual([true, true]);
    // etcd extends leases when it regains a leader, so nobody had to register again.
    expect(agents.map((agent) => agent.brokerEpoch())).toEqual(epochs);
    const after = await first.createTopic({
      name: 'after',
      partitionCount: 1,
      replicationFactor: 2,
      config: {},
    });
    expect(after.topicId).toBeGreaterThan(topic.topicId);
  });
});
