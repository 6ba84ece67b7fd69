import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ClusterView, IsrChanger, PartitionState } from '../../src/cluster/partition-state.js';
import type { PeerAddress } from '../../src/common/broker-config.js';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import type { ShardedEngine } from '../../src/engine/sharded-engine.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { peerEndpointResolver } from '../../src/replication/peer-endpoint.js';
import { ReplicaManager } from '../../src/replication/replica-manager.js';
import { startKafkaListener } from '../../src/server/kafka-listener.js';
import { FaultProxy } from '../../tools/chaos/fault-proxy.js';
import { startTestEngine } from '../support/engine-fixture.js';
import { testFrontDoorDeps } from '../support/front-door-deps.js';
import { InMemoryPartitionState } from '../support/in-memory-partition-state.js';
import { makeTempDir } from '../support/temp-dir.js';

/**
 * `--peer-address ID=HOST:PORT`: a follower reaches its leader where it is
 * told to, not at the address the leader advertises (which clients keep
 * using). Two brokers in one process: the leader advertises a port nobody
 * listens on, and the follower is pointed at a fault proxy in front of the
 * leader's real listener, so it replicates only if the override is used, and
 * stops when that one link is cut.
 */
const encoder = new TextEncoder();
const batchOf = (value: string): Uint8Array =>
  buildRecordBatch([{ key: null, value: encoder.encode(value) }]);

async function eventually(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('condition not reached in time');
}

/** A loopback port that was free a moment ago and has nothing listening on it. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('peer addresses', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('given an override for one peer, should answer it for that peer and the advertised address for others', () => {
    const advertised = new Map([
      [1, { host: 'b1.example', port: 9092 }],
      [2, { host: 'b2.example', port: 9092 }],
    ]);
    const resolve = peerEndpointResolver([{ brokerId: 2, host: '10.0.0.2', port: 19092 }], {
      brokerEndpoint: (id) => advertised.get(id),
    });
    expect(resolve(1)).toEqual({ host: 'b1.example', port: 9092 });
    expect(resolve(2)).toEqual({ host: '10.0.0.2', port: 19092 });
    expect(resolve(3)).toBeUndefined();
  });

  it('given the leader advertised at a dead port and the follower told its proxy, when the proxy link is cut, then the follower stops and resumes through it alone', async () => {
    const etcd = new InMemoryPartitionState([1, 2], 1, 1);
    const isrChanger: IsrChanger = {
      changeIsr: async (_topicId, _partition, leaderEpoch, newIsr) => etcd.changeIsr(leaderEpoch, newIsr),
    };
    const advertised = new Map<number, { host: string; port: number }>();
    const startBroker = async (
      id: number,
      peerAddresses: readonly PeerAddress[],
    ): Promise<{ engine: ShardedEngine; manager: ReplicaManager; port: number }> => {
      const temp = makeTempDir(`peer-address-${id}`);
      const engine = await startTestEngine(temp.dir);
      expect(await engine.createTopic('t', 1)).toBe(KafkaErrorCode.NONE);
      const cluster: ClusterView = {
        localBrokerId: id,
        brokerEndpoint: (broker) => advertised.get(broker),
        liveBrokers: () => [1, 2],
        leaseValid: () => true,
      };
      const manager = new ReplicaManager(engine, cluster, isrChanger, {
        lagTimeMaxMs: 60_000,
        requestTimeoutMs: 2000,
        fetchMaxWaitMs: 100,
        fetchMaxBytes: 1 << 20,
        partitionMaxBytes: 1 << 20,
        maxFrameBytes: 4 << 20,
        retryBackoffMs: 20,
        minInsyncReplicas: () => 1,
        onError: () => undefined,
        peerAddresses,
      });
      const deps = await testFrontDoorDeps(engine);
      const listener = await startKafkaListener({ ...deps, followerFetches: manager });
      // Clients (and, without an override, followers) are sent here, where nothing listens.
      advertised.set(id, { host: '127.0.0.1', port: await deadPort() });
      cleanups.push(async () => {
        await manager.stop();
        await listener.close();
        await deps.groups.close();
        await engine.stop();
        temp.cleanup();
      });
      return { engine, manager, port: listener.port };
    };
    const leader = await startBroker(1, []);
    const proxy = await FaultProxy.start({ targetPort: leader.port, name: 'b2->b1' });
    cleanups.push(() => proxy.close());
    const follower = await startBroker(2, [{ brokerId: 1, host: '127.0.0.1', port: proxy.port }]);
    const topicId = leader.engine.describeTopic('t')!.topicId;
    const state: PartitionState = { topicId, topic: 't', partition: 0, ...etcd.view() };
    for (const broker of [leader, follower]) await broker.manager.applyPartitionState(state);
    const followerEnd = async (): Promise<number> =>
      (await follower.engine.describePartitions('t'))?.[0]?.logEndOffset ?? -1;
    const produce = async (value: string): Promise<void> => {
      expect((await leader.engine.produce('t', 0, batchOf(value), 1)).errorCode).toBe(KafkaErrorCode.NONE);
    };

    await produce('a');
    await produce('b');
    await eventually(async () => (await followerEnd()) === 2, 10_000);
    expect(proxy.status().forwardedBytes).toBeGreaterThan(0);

    // Cut that one link: the follower gets nothing more, however long it tries.
    proxy.blackhole('both');
    await produce('c');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(await followerEnd()).toBe(2);

    // Healed, it catches up through the same link.
    proxy.heal();
    await eventually(async () => (await followerEnd()) === 3, 15_000);
  }, 30_000);
});
