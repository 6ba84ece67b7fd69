import { afterEach, describe, expect, it } from 'vitest';
import type { ClusterView, IsrChanger, PartitionState } from '../../src/cluster/partition-state.js';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import type { ShardedEngine } from '../../src/engine/sharded-engine.js';
import type { FrontDoor } from '../../src/protocol/front-door-deps.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { ReplicaManager } from '../../src/replication/replica-manager.js';
import { startKafkaListener } from '../../src/server/kafka-listener.js';
import { renderReplicationMetrics } from '../../src/server/replication-metrics.js';
import { startTestEngine } from '../support/engine-fixture.js';
import { testFrontDoorDeps } from '../support/front-door-deps.js';
import { InMemoryPartitionState } from '../support/in-memory-partition-state.js';
import { makeTempDir } from '../support/temp-dir.js';

/**
 * Three brokers in one process (sharded engine, Kafka listener, replica
 * manager each), driven by an in-memory stand-in for etcd's partition state:
 * acks=all is answered once the followers hold the batch; a follower that
 * stops fetching leaves the ISR by the leader's CAS under its epoch (and a
 * CAS under a stale epoch is refused); below min.insync.replicas acks=all is
 * refused; a follower that returns catches up and rejoins.
 */
const LAG_TIME_MAX_MS = 400;
const encoder = new TextEncoder();
const batchOf = (value: string): Uint8Array =>
  buildRecordBatch([{ key: null, value: encoder.encode(value) }]);

interface Broker {
  id: number;
  engine: ShardedEngine;
  listener: FrontDoor;
  manager: ReplicaManager;
}

async function eventually(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('condition not reached in time');
}

describe('replica manager', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('given three replicas, when followers stop and return, then acks=all follows the ISR the leader commits under its epoch', async () => {
    const etcd = new InMemoryPartitionState([1, 2, 3], 1, 1);
    const endpoints = new Map<number, { host: string; port: number }>();
    const isrChanges: string[] = [];
    const isrChanger: IsrChanger = {
      async changeIsr(_topicId, _partition, leaderEpoch, newIsr) {
        const committed = etcd.changeIsr(leaderEpoch, newIsr);
        isrChanges.push(`${leaderEpoch}:${newIsr.join(',')}:${committed}`);
        return committed;
      },
    };
    const brokers: Broker[] = [];
    const managers: ReplicaManager[] = [];
    const newManager = (engine: ShardedEngine, cluster: ClusterView): ReplicaManager => {
      const manager = new ReplicaManager(engine, cluster, isrChanger, {
        lagTimeMaxMs: LAG_TIME_MAX_MS,
        requestTimeoutMs: 5000,
        fetchMaxWaitMs: 100,
        fetchMaxBytes: 1 << 20,
        partitionMaxBytes: 1 << 20,
        maxFrameBytes: 4 << 20,
        retryBackoffMs: 20,
        minInsyncReplicas: () => 2,
        onError: () => undefined,
      });
      managers.push(manager);
      return manager;
    };
    cleanups.push(async () => {
      for (const manager of managers) await manager.stop();
    });
    const clusters: ClusterView[] = [];
    for (const id of [1, 2, 3]) {
      const temp = makeTempDir(`rm${id}`);
      const engine = await startTestEngine(temp.dir);
      expect(await engine.createTopic('t', 1)).toBe(KafkaErrorCode.NONE);
      const cluster: ClusterView = {
        localBrokerId: id,
        brokerEndpoint: (broker) => endpoints.get(broker),
        liveBrokers: () => [1, 2, 3],
        leaseValid: () => true,
      };
      clusters.push(cluster);
      const manager = newManager(engine, cluster);
      const deps = await testFrontDoorDeps(engine);
      const listener = await startKafkaListener({ ...deps, followerFetches: manager });
      endpoints.set(id, { host: '127.0.0.1', port: listener.port });
      brokers.push({ id, engine, listener, manager });
      cleanups.push(async () => {
        await manager.stop();
        await listener.close();
        await deps.groups.close();
        await engine.stop();
        temp.cleanup();
      });
    }
    const topicId = brokers[0]!.engine.describeTopic('t')!.topicId;
    const publish = async (): Promise<void> => {
      const state: PartitionState = { topicId, topic: 't', partition: 0, ...etcd.view() };
      for (const broker of brokers) await broker.manager.applyPartitionState(state);
    };
    await publish();
    const leader = brokers[0]!;
    for (const value of ['a', 'b', 'c']) {
      expect((await leader.engine.produce('t', 0, batchOf(value), -1)).errorCode).toBe(KafkaErrorCode.NONE);
    }
    // Broker 3 stops fetching: after the lag time the leader shrinks the ISR to [1, 2] under epoch 1.
    await brokers[2]!.manager.stop();
    await eventually(() => etcd.isr.join(',') === '1,2', 5000);
    expect(isrChanges).toContain('1:1,2:true');
    expect((await leader.engine.produce('t', 0, batchOf('d'), -1)).errorCode).toBe(KafkaErrorCode.NONE);
    // Broker 2 stops too: the ISR is the leader alone, below min.insync.replicas 2.
    await brokers[1]!.manager.stop();
    await eventually(() => etcd.isr.join(',') === '1', 5000);
    await eventually(
      async () =>
        (await leader.engine.produce('t', 0, batchOf('e'), -1)).errorCode ===
        KafkaErrorCode.NOT_ENOUGH_REPLICAS,
      5000,
    );
    expect((await leader.engine.produce('t', 0, batchOf('f'), 1)).errorCode).toBe(KafkaErrorCode.NONE);
    // A stale leader's CAS (an older epoch) is refused.
    expect(etcd.changeIsr(0, [1, 2, 3])).toBe(false);
    // Broker 3 returns: it catches up and the leader takes it back into the ISR; acks=all works again.
    const returned = newManager(brokers[2]!.engine, clusters[2]!);
    await returned.applyPartitionState({ topicId, topic: 't', partition: 0, ...etcd.view() });
    await eventually(() => etcd.isr.join(',') === '1,3', 5000);
    await eventually(
      async () => (await leader.engine.produce('t', 0, batchOf('g'), -1)).errorCode === KafkaErrorCode.NONE,
      5000,
    );
    // What /metrics shows of it on the leader: two shrinks, one expand, under-replicated with an ISR of
    // two, broker 2 lagging (it stopped before 'd'), broker 3 caught up.
    // (A fetch broker 3 sent just before it stopped is answered after the shrink and takes it back in for
    // a while, and under load a follower can miss the 400 ms lag time: the ISR may have shrunk and grown
    // back more often than the two shrinks and one expand above.)
    const counts = leader.manager.replicationCounts();
    expect(counts.isrShrinks).toBeGreaterThanOrEqual(2);
    expect(counts.isrExpands).toBeGreaterThanOrEqual(1);
    expect(counts.leaderElections).toBe(1);
    expect(counts.logStartResets).toBe(0);
    await eventually(() => leader.manager.ledPartitionMetrics()[0]!.isrSize === 2, 5000);
    const [led] = leader.manager.ledPartitionMetrics();
    expect(led).toMatchObject({ topic: 't', partition: 0, replicaCount: 3 });
    const lagOf = (replica: number) =>
      led!.followerLagOffsets.find((entry) => entry.replica === replica)!.lagOffsets;
    expect(lagOf(2)).toBeGreaterThan(0);
    await eventually(
      () => leader.manager.ledPartitionMetrics()[0]!.followerLagOffsets[1]!.lagOffsets === 0,
      5000,
    );
    const text = renderReplicationMetrics(leader.manager);
    expect(text).toContain('pyralog_under_replicated_partitions 1\n');
    expect(text).toMatch(/pyralog_partition_isr_size\{topic="t",partition="0"\} [12]\n/);
    expect(text).toMatch(/pyralog_isr_shrinks_total \d+\n/);
    expect(text).toMatch(/pyralog_follower_lag_offsets\{topic="t",partition="0",replica="2"\} [1-9]/);
    expect(renderReplicationMetrics(brokers[1]!.manager)).toContain(
      'pyralog_under_replicated_partitions 0\n',
    );
  }, 30_000);

  it('given a leader whose lease renewal was late, when the lease is valid again and etcd said nothing new, then it leads again', async () => {
    const etcd = new InMemoryPartitionState([1], 1, 1);
    const isrChanger: IsrChanger = {
      changeIsr: async (_topicId, _partition, leaderEpoch, newIsr) => etcd.changeIsr(leaderEpoch, newIsr),
    };
    const temp = makeTempDir('rm-fence');
    const engine = await startTestEngine(temp.dir);
    expect(await engine.createTopic('t', 1)).toBe(KafkaErrorCode.NONE);
    let leaseOk = true;
    const cluster: ClusterView = {
      localBrokerId: 1,
      brokerEndpoint: () => undefined,
      liveBrokers: () => [1],
      leaseValid: () => leaseOk,
    };
    const manager = new ReplicaManager(engine, cluster, isrChanger, {
      lagTimeMaxMs: 400,
      requestTimeoutMs: 5000,
      fetchMaxWaitMs: 100,
      fetchMaxBytes: 1 << 20,
      partitionMaxBytes: 1 << 20,
      maxFrameBytes: 4 << 20,
      retryBackoffMs: 20,
      minInsyncReplicas: () => 1,
      onError: () => undefined,
    });
    cleanups.push(async () => {
      await manager.stop();
      await engine.stop();
      temp.cleanup();
    });
    const topicId = engine.describeTopic('t')!.topicId;
    await manager.applyPartitionState({ topicId, topic: 't', partition: 0, ...etcd.view() });
    expect((await engine.produce('t', 0, batchOf('a'), -1)).errorCode).toBe(KafkaErrorCode.NONE);
    // Renewals fail for a while: the leader fences itself.
    leaseOk = false;
    await eventually(
      async () =>
        (await engine.produce('t', 0, batchOf('b'), -1)).errorCode === KafkaErrorCode.NOT_LEADER_OR_FOLLOWER,
      5000,
    );
    // A renewal on the same lease succeeds; etcd's state never changed, so no new word comes.
    leaseOk = true;
    await eventually(
      async () => (await engine.produce('t', 0, batchOf('c'), -1)).errorCode === KafkaErrorCode.NONE,
      5000,
    );
  }, 30_000);
});
