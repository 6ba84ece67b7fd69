import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ClusterAgent, type ClusterAgentOptions } from '../../src/cluster/cluster-agent.js';
import { silentClusterLog } from '../../src/cluster/cluster-log.js';
import { EtcdClient } from '../../src/cluster/etcd/etcd-client.js';
import { type EtcdCluster, etcdAvailable, startEtcd } from '../support/etcd.js';
import { RecordingRoleSink } from '../support/recording-role-sink.js';
import { startTcpProxy } from '../support/tcp-proxy.js';

/**
 * The control plane against a real etcd: brokers are ClusterAgents in this
 * process (each with its own lease), data path replaced by a recording sink.
 * Leases are 2 s (etcd's minimum with default timings), so a crashed broker's
 * key goes within about 2-3 s.
 */

const LEASE_TTL_MS = 2000;
const FAILOVER_WAIT_MS = 10_000;

async function eventually(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`not within ${timeoutMs} ms: ${what}`);
}

describe.skipIf(!etcdAvailable)('cluster agent: membership, controller, failover against a real etcd', () => {
  let etcd: EtcdCluster;
  let cluster = 0;
  const running: ClusterAgent[] = [];

  beforeAll(async () => {
    etcd = await startEtcd();
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((agent) => agent.stop()));
  });
  afterAll(async () => {
    await etcd?.stop();
  });

  async function startBrokers(
    ids: readonly number[],
    overrides: Partial<ClusterAgentOptions> = {},
  ): Promise<{ agents: Map<number, ClusterAgent>; sinks: Map<number, RecordingRoleSink>; name: string }> {
    const name = `test${++cluster}`;
    const agents = new Map<number, ClusterAgent>();
    const sinks = new Map<number, RecordingRoleSink>();
    for (const id of ids) {
      const sink = new RecordingRoleSink();
      const agent = await ClusterAgent.start({
        client: new EtcdClient({ endpoints: etcd.endpoints, requestTimeoutMs: 2000 }),
        cluster: name,
        brokerId: id,
        host: '127.0.0.1',
        port: 9000 + id,
        sink,
        log: silentClusterLog,
        leaseTtlMs: LEASE_TTL_MS,
        retryDelayMs: 100,
        ...overrides,
      });
      running.push(agent);
      agents.set(id, agent);
      sinks.set(id, sink);
    }
    for (const agent of agents.values()) {
      await eventually(() => agent.liveBrokers().length === ids.length, 5000, 'every broker sees the others');
    }
    await eventually(
      () => [...agents.values()].some((agent) => agent.controller.isController()),
      5000,
      'a controller',
    );
    return { agents, sinks, name };
  }

  /** Waits until every agent has seen every partition of the topic. */
  async function seenByAll(
    agents: Map<number, ClusterAgent>,
    topicId: number,
    partitionCount: number,
  ): Promise<void> {
    for (const agent of agents.values()) {
      await eventually(
        () =>
          Array.from({ length: partitionCount }, (_, p) => agent.partition(topicId, p)).every(
            (p) => p !== undefined,
          ),
        5000,
        `broker ${agent.localBrokerId} sees the partitions`,
      );
    }
  }

  function crash(agent: ClusterAgent): void {
    agent.crash();
    running.splice(running.indexOf(agent), 1);
  }

  it('given three brokers, should list all three with endpoints and elect exactly one controller', async () => {
    const { agents } = await startBrokers([1, 2, 3]);
    const controllers = [...agents.values()].filter((agent) => agent.controller.isController());
    expect(controllers).toHaveLength(1);
    for (const agent of agents.values()) {
      expect(agent.liveBrokers()).toEqual([1, 2, 3]);
      expect(agent.brokerEndpoint(2)).toEqual({ host: '127.0.0.1', port: 9002 });
      expect(agent.controllerId()).toBe(controllers[0]!.localBrokerId);
      expect(agent.leaseValid()).toBe(true);
    }
    // Broker epochs are create revisions: distinct and increasing in start order.
    const epochs = [1, 2, 3].map((id) => agents.get(id)!.brokerEpoch());
    expect([...epochs].sort((a, b) => a - b)).toEqual(epochs);
  });

  it('given a second broker with the same id, should refuse to register it', async () => {
    const { name } = await startBrokers([1]);
    const failure = await ClusterAgent.start({
      client: new EtcdClient({ endpoints: etcd.endpoints }),
      cluster: name,
      brokerId: 1,
      host: '127.0.0.1',
      port: 1,
      sink: new RecordingRoleSink(),
      log: silentClusterLog,
      leaseTtlMs: LEASE_TTL_MS,
      registerTimeoutMs: 500,
    }).catch((error: unknown) => error);
    expect(String(failure)).toMatch(/broker id 1 is registered/);
  });

  it('given a topic created on one broker, should tell every replica its role and refuse duplicates and bad factors', async () => {
    const { agents, sinks } = await startBrokers([1, 2, 3]);
    const topic = await agents
      .get(2)!
      .createTopic({ name: 'orders', partitionCount: 3, replicationFactor: 3, config: {} });
    for (const sink of sinks.values()) {
      await eventually(
        () => [0, 1, 2].every((p) => sink.latest(topic.topicId, p) !== undefined),
        5000,
        'roles',
      );
    }
    const leaders = [0, 1, 2].map((p) => sinks.get(1)!.latest(topic.topicId, p)!.leader);
    expect(new Set(leaders).size).toBe(3); // leaders spread over the brokers
    for (let p = 0; p < 3; p++) {
      const state = sinks.get(3)!.latest(topic.topicId, p)!;
      expect(state.leaderEpoch).toBe(0);
      expect(state.replicas[0]).toBe(state.leader);
      expect([...state.isr].sort()).toEqual([1, 2, 3]);
    }
    const again = await agents
      .get(1)!
      .createTopic({ name: 'orders', partitionCount: 1, replicationFactor: 1, config: {} })
      .catch((error: unknown) => error);
    expect((again as { code: string }).code).toBe('TOPIC_ALREADY_EXISTS');
    const tooMany = await agents
      .get(1)!
      .createTopic({ name: 'wide', partitionCount: 1, replicationFactor: 4, config: {} })
      .catch((error: unknown) => error);
    expect((tooMany as { code: string }).code).toBe('INVALID_REPLICATION_FACTOR');
  });

  it('given two brokers creating the same topic at once, should create it once with one topic id', async () => {
    const { agents } = await startBrokers([1, 2]);
    const results = await Promise.allSettled(
      [1, 2].map((id) =>
        agents.get(id)!.createTopic({ name: 'race', partitionCount: 2, replicationFactor: 2, config: {} }),
      ),
    );
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.find((result) => result.status === 'rejected') as PromiseRejectedResult;
    expect((rejected.reason as { code: string }).code).toBe('TOPIC_ALREADY_EXISTS');
  });

  it('given an ISR change, should succeed only for the leader under its current epoch', async () => {
    const { agents } = await startBrokers([1, 2, 3]);
    const topic = await agents
      .get(1)!
      .createTopic({ name: 'isr', partitionCount: 1, replicationFactor: 3, config: {} });
    await seenByAll(agents, topic.topicId, 1);
    const state = agents.get(1)!.partition(topic.topicId, 0)!;
    const leader = agents.get(state.leader)!;
    const follower = agents.get(state.replicas[1]!)!;
    const shrunk = [state.leader, state.replicas[1]!];
    expect(await follower.changeIsr(topic.topicId, 0, 0, shrunk)).toBe(false); // not the leader
    expect(await leader.changeIsr(topic.topicId, 0, 1, shrunk)).toBe(false); // wrong epoch
    expect(await leader.changeIsr(topic.topicId, 0, 0, shrunk)).toBe(true);
    await eventually(() => follower.partition(topic.topicId, 0)?.isr.length === 2, 5000, 'ISR shrink seen');
    expect(follower.partition(topic.topicId, 0)!.leaderEpoch).toBe(0); // an ISR change keeps the epoch
    await expect(leader.changeIsr(topic.topicId, 0, 0, [state.replicas[1]!])).rejects.toThrow(
      /must hold the leader/,
    );
  });

  it('given the leader crashes, should move leadership to a live ISR member with the next epoch', async () => {
    const { agents, sinks } = await startBrokers([1, 2, 3]);
    const topic = await agents
      .get(1)!
      .createTopic({ name: 'fail', partitionCount: 3, replicationFactor: 3, config: {} });
    await seenByAll(agents, topic.topicId, 3);
    // Crash a broker that is not the controller, and find a partition it leads.
    const victim = [...agents.values()].find((agent) => !agent.controller.isController())!;
    const led = [0, 1, 2].find(
      (p) => agents.get(1)!.partition(topic.topicId, p)!.leader === victim.localBrokerId,
    )!;
    const before = agents.get(1)!.partition(topic.topicId, led)!;
    const crashedAtMs = Date.now();
    crash(victim);
    const survivor = [...agents.values()].find((agent) => agent !== victim)!;
    await eventually(
      () => survivor.partition(topic.topicId, led)!.leaderEpoch === before.leaderEpoch + 1,
      FAILOVER_WAIT_MS,
      'a new leader',
    );
    const after = survivor.partition(topic.topicId, led)!;
    expect(after.leader).not.toBe(victim.localBrokerId);
    expect(before.isr).toContain(after.leader);
    expect(after.isr).not.toContain(victim.localBrokerId);
    expect(Date.now() - crashedAtMs).toBeLessThan(LEASE_TTL_MS + 4000);
    // The new leader's data path was told, and nobody ever saw an epoch go back.
    await eventually(
      () => sinks.get(after.leader)!.latest(topic.topicId, led)?.leaderEpoch === after.leaderEpoch,
      5000,
      'sink told',
    );
    for (const sink of sinks.values()) expect(sink.regressions).toEqual([]);
  });

  it('given the only ISR member crashes, should take the partition offline rather than elect outside the ISR', async () => {
    const { agents } = await startBrokers([1, 2]);
    const topic = await agents
      .get(1)!
      .createTopic({ name: 'clean', partitionCount: 1, replicationFactor: 2, config: {} });
    await seenByAll(agents, topic.topicId, 1);
    const state = agents.get(1)!.partition(topic.topicId, 0)!;
    const leader = agents.get(state.leader)!;
    const other = agents.get(state.replicas[1]!)!;
    expect(await leader.changeIsr(topic.topicId, 0, 0, [state.leader])).toBe(true);
    await eventually(() => other.partition(topic.topicId, 0)!.isr.length === 1, 5000, 'shrink seen');
    crash(leader);
    await eventually(
      () => other.partition(topic.topicId, 0)!.leaderEpoch === 1,
      FAILOVER_WAIT_MS,
      'an epoch change',
    );
    const offline = other.partition(topic.topicId, 0)!;
    expect(offline.leader).toBe(-1);
    expect(offline.isr).toEqual([state.leader]); // kept, so that it can lead again when it returns
  });

  it('given unclean.leader.election.enable, should elect a live replica outside the ISR', async () => {
    const { agents } = await startBrokers([1, 2]);
    const topic = await agents.get(1)!.createTopic({
      name: 'unclean',
      partitionCount: 1,
      replicationFactor: 2,
      config: { 'unclean.leader.election.enable': 'true' },
    });
    await seenByAll(agents, topic.topicId, 1);
    const state = agents.get(1)!.partition(topic.topicId, 0)!;
    const leader = agents.get(state.leader)!;
    const other = agents.get(state.replicas[1]!)!;
    expect(await leader.changeIsr(topic.topicId, 0, 0, [state.leader])).toBe(true);
    await eventually(() => other.partition(topic.topicId, 0)!.isr.length === 1, 5000, 'shrink seen');
    crash(leader);
    await eventually(
      () => other.partition(topic.topicId, 0)!.leader === other.localBrokerId,
      FAILOVER_WAIT_MS,
      'unclean',
    );
    expect(other.partition(topic.topicId, 0)!.isr).toEqual([other.localBrokerId]);
  });

  it('given the controller crashes, should elect another controller that still fails partitions over', async () => {
    const { agents } = await startBrokers([1, 2, 3]);
    const topic = await agents
      .get(1)!
      .createTopic({ name: 'ctl', partitionCount: 3, replicationFactor: 3, config: {} });
    await seenByAll(agents, topic.topicId, 3);
    const controller = [...agents.values()].find((agent) => agent.controller.isController())!;
    const led = [0, 1, 2].filter(
      (p) => controller.partition(topic.topicId, p)!.leader === controller.localBrokerId,
    );
    crash(controller);
    const rest = [...agents.values()].filter((agent) => agent !== controller);
    await eventually(
      () =>
        rest.some((agent) => agent.controller.isController()) &&
        rest[0]!.controllerId() !== controller.localBrokerId,
      FAILOVER_WAIT_MS,
      'a new controller',
    );
    for (const p of led) {
      await eventually(
        () => rest[0]!.partition(topic.topicId, p)!.leader !== controller.localBrokerId,
        FAILOVER_WAIT_MS,
        `partition ${p} moved off the dead controller`,
      );
    }
  });

  it('given a broker that restarts under the same id, should re-elect what it led under a new epoch', async () => {
    const { agents, name } = await startBrokers([1, 2]);
    const topic = await agents
      .get(1)!
      .createTopic({ name: 'bounce', partitionCount: 2, replicationFactor: 2, config: {} });
    await seenByAll(agents, topic.topicId, 2);
    const first = agents.get(1)!;
    const led = [0, 1].find((p) => first.partition(topic.topicId, p)!.leader === 1)!;
    const epochBefore = first.partition(topic.topicId, led)!.leaderEpoch;
    crash(first);
    const sink = new RecordingRoleSink();
    const restarted = await ClusterAgent.start({
      client: new EtcdClient({ endpoints: etcd.endpoints }),
      cluster: name,
      brokerId: 1,
      host: '127.0.0.1',
      port: 9001,
      sink,
      log: silentClusterLog,
      leaseTtlMs: LEASE_TTL_MS,
      retryDelayMs: 100,
      registerTimeoutMs: 10_000,
    });
    running.push(restarted);
    expect(restarted.brokerEpoch()).toBeGreaterThan(first.brokerEpoch());
    await eventually(
      () => (restarted.partition(topic.topicId, led)?.leaderEpoch ?? 0) > epochBefore,
      FAILOVER_WAIT_MS,
      're-election after the restart',
    );
    // Never told it leads under its old epoch.
    expect(
      sink.calls.filter((s) => s.partition === led && s.leader === 1 && s.leaderEpoch === epochBefore),
    ).toEqual([]);
  });

  it('given etcd compacts while a broker is cut off, should re-read everything and see the changes it missed', async () => {
    const proxy = await startTcpProxy(Number(new URL(etcd.endpoints[0]!).port));
    try {
      const { agents } = await startBrokers([1]);
      const name = `test${cluster}`;
      const sink = new RecordingRoleSink();
      const cutOff = await ClusterAgent.start({
        client: new EtcdClient({ endpoints: [`http://127.0.0.1:${proxy.port}`], requestTimeoutMs: 1000 }),
        cluster: name,
        brokerId: 2,
        host: '127.0.0.1',
        port: 9002,
        sink,
        log: silentClusterLog,
        leaseTtlMs: 6000,
        retryDelayMs: 3000,
      });
      running.push(cutOff);
      const resyncsBefore = cutOff.resyncCount;
      proxy.dropAll();
      // While its watch is down: a topic appears and the history is compacted past it.
      const topic = await agents
        .get(1)!
        .createTopic({ name: 'missed', partitionCount: 1, replicationFactor: 2, config: {} });
      const direct = new EtcdClient({ endpoints: etcd.endpoints });
      const revision = await direct.put('/unrelated', 'x');
      await direct.compact(revision);
      await eventually(() => cutOff.resyncCount > resyncsBefore, 10_000, 'a full re-read');
      await eventually(
        () => sink.latest(topic.topicId, 0) !== undefined,
        5000,
        'the missed topic reaches the sink',
      );
      expect(cutOff.topic('missed')?.topicId).toBe(topic.topicId);
    } finally {
      await proxy.close();
    }
  });
  it('given etcd restarts, should keep every broker registered, resume watching, and still fail over after', async () => {
    const { agents } = await startBrokers([1, 2, 3], { leaseTtlMs: 4000 });
    const topic = await agents
      .get(1)!
      .createTopic({ name: 'restart', partitionCount: 3, replicationFactor: 3, config: {} });
    await seenByAll(agents, topic.topicId, 3);
    const epochs = [1, 2, 3].map((id) => agents.get(id)!.brokerEpoch());
    const member = etcd.members[0]!;
    await member.kill('SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 500));
    await member.restart();
    // Leases survive a restart (etcd extends them when it comes back): same epochs, nobody re-registered.
    for (const agent of agents.values()) {
      await eventually(
        () => agent.liveBrokers().length === 3 && agent.leaseValid(),
        10_000,
        'back to normal',
      );
    }
    expect([1, 2, 3].map((id) => agents.get(id)!.brokerEpoch())).toEqual(epochs);
    // The watches resumed: a change made after the restart reaches every broker.
    const after = await agents
      .get(2)!
      .createTopic({ name: 'after-restart', partitionCount: 1, replicationFactor: 3, config: {} });
    await seenByAll(agents, after.topicId, 1);
    const victim = [...agents.values()].find((agent) => !agent.controller.isController())!;
    const led = [0, 1, 2].find(
      (p) => agents.get(1)!.partition(topic.topicId, p)!.leader === victim.localBrokerId,
    )!;
    const before = agents.get(1)!.partition(topic.topicId, led)!;
    crash(victim);
    const survivor = [...agents.values()].find((agent) => agent !== victim)!;
    await eventually(
      () => survivor.partition(topic.topicId, led)!.leaderEpoch === before.leaderEpoch + 1,
      FAILOVER_WAIT_MS + 4000,
      'failover after the restart',
    );
  });
});
