import { SeededRandom } from '../../src/cluster/placement/index.js';
import { ClusterProbe } from './cluster-probe.js';
import type { Fault } from './nemesis.js';
import type { ProcessCluster } from './process-cluster.js';

/**
 * The faults of the chaos checker against a ProcessCluster (3
 * brokers, 3 etcd members, every link proxied), and the heal that undoes
 * them all:
 *
 * - SIGKILL or SIGSTOP the leader of a partition;
 * - cut the leader from etcd (its links to every member), or from its followers (every replica link to or
 *   from it, while clients and etcd still reach it), or from its clients;
 * - kill one etcd member (restarted on heal), or stop all of etcd (SIGSTOP every member; SIGCONT on heal);
 * - SIGKILL the controller.
 *
 * "The leader" is asked of etcd when the fault starts, so faults follow
 * failovers; when no partition has a leader for a while, a live broker is
 * picked instead (a fault is still a fault). Killed brokers and etcd
 * members come back on their own data when the faults heal.
 */
export interface ClusterFaults {
  faults: Fault[];
  healAll(): Promise<void>;
}

/** How long a fault waits for etcd to name a leader or controller before picking a broker itself. */
const TARGET_WAIT_MS = 8_000;

export function clusterFaults(
  cluster: ProcessCluster,
  topic: string,
  partitions: number,
  seed: number,
): ClusterFaults {
  const probe = new ClusterProbe(
    cluster.etcd.members.map((member) => member.clientUrl),
    cluster.options.clusterName,
  );
  const random = new SeededRandom(seed ^ 0x5a5a);
  const killed = new Set<number>();
  const stopped = new Set<number>();
  const killedEtcd = new Set<number>();
  let etcdStopped = false;

  const anyLiveBroker = (): number => {
    const live = cluster.options.brokerIds.filter((id) => cluster.running(id));
    if (live.length === 0) throw new Error('no broker is running');
    return live[random.nextBelow(live.length)]!;
  };
  const leader = async (): Promise<number> => {
    const partition = random.nextBelow(partitions);
    const found = await ClusterProbe.until(() => probe.leader(topic, partition), TARGET_WAIT_MS);
    return found !== undefined && cluster.running(found) ? found : anyLiveBroker();
  };
  const killBroker = async (id: number): Promise<void> => {
    await cluster.signal(id, 'SIGKILL');
    killed.add(id);
  };

  // In this order, so that a short run cycling through them (the CI form) covers the list first.
  const faults: Fault[] = [
    { action: 'SIGKILL', target: 'leader', apply: async () => killBroker(await leader()) },
    {
      action: 'blackhole',
      target: 'leader<->followers',
      apply: async () => {
        for (const link of cluster.peerLinksOf(await leader())) link.blackhole('both');
      },
    },
    {
      action: 'SIGKILL',
      target: 'one etcd member',
      apply: async () => {
        const index = random.nextBelow(cluster.etcd.members.length);
        await cluster.etcd.members[index]!.kill('SIGKILL');
        killedEtcd.add(index);
      },
    },
    {
      action: 'blackhole',
      target: 'leader<->etcd',
      apply: async () => {
        for (const link of cluster.etcdLinksOf(await leader())) link.blackhole('both');
      },
    },
    {
      action: 'SIGSTOP',
      target: 'all etcd',
      apply: async () => {
        etcdStopped = true;
        for (const member of cluster.etcd.members) await member.kill('SIGSTOP');
      },
    },
    {
      action: 'SIGKILL',
      target: 'controller',
      apply: async () => {
        const found = await ClusterProbe.until(() => probe.controller(), TARGET_WAIT_MS);
        await killBroker(found !== undefined && cluster.running(found) ? found : anyLiveBroker());
      },
    },
    {
      action: 'SIGSTOP',
      target: 'leader',
      apply: async () => {
        const id = await leader();
        await cluster.signal(id, 'SIGSTOP');
        stopped.add(id);
      },
    },
    {
      action: 'blackhole',
      target: 'clients->leader',
      apply: async () => cluster.link(`clients->b${await leader()}`).blackhole('both'),
    },
  ];

  const healAll = async (): Promise<void> => {
    cluster.healLinks();
    if (etcdStopped) {
      for (const member of cluster.etcd.members) member.resume();
      etcdStopped = false;
    }
    for (const index of killedEtcd) await cluster.etcd.members[index]!.restart();
    killedEtcd.clear();
    for (const id of stopped) await cluster.signal(id, 'SIGCONT');
    stopped.clear();
    for (const id of killed) await cluster.startBroker(id);
    killed.clear();
  };
  return { faults, healAll };
}
