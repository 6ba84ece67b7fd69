import { afterEach, describe, expect, it } from 'vitest';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import type { Offset } from '../../src/common/offset.js';
import type { FollowerFetchObserver } from '../../src/engine/engine-api.js';
import type { ShardedEngine } from '../../src/engine/sharded-engine.js';
import type { FrontDoor } from '../../src/protocol/front-door-deps.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { FollowerFetcher } from '../../src/replication/follower-fetcher.js';
import { LeaderReplicas } from '../../src/replication/leader-replicas.js';
import { startKafkaListener } from '../../src/server/kafka-listener.js';
import { startTestEngine } from '../support/engine-fixture.js';
import { testFrontDoorDeps } from '../support/front-door-deps.js';
import { makeTempDir } from '../support/temp-dir.js';

/**
 * Two brokers in one process, each a sharded engine behind a real Kafka
 * listener: the follower's fetcher replicates over the Kafka protocol
 * (OffsetForLeaderEpoch v4, Fetch v12 with its replica id), appends through
 * its shard's ring, and the leader raises its high watermark from the
 * follower's fetch offsets, which releases acks=all produces. Then the roles
 * swap and the old leader, holding a batch the new one never got, truncates
 * it away and catches up.
 */
const encoder = new TextEncoder();
const batchOf = (value: string): Uint8Array =>
  buildRecordBatch([{ key: null, value: encoder.encode(value) }]);

interface Broker {
  id: number;
  engine: ShardedEngine;
  listener: FrontDoor;
  view: LeaderReplicas | null;
}

async function eventually(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('condition not reached in time');
}

/** Everything in the partition's log, as a follower would read it (the broker must lead it). */
async function logBytes(engine: ShardedEngine): Promise<string> {
  const outcome = await engine.fetch({
    partitions: [{ topic: 't', partition: 0, offset: 0 as Offset, maxBytes: 1 << 20 }],
    maxWaitMs: 0,
    minBytes: 1,
    maxBytes: 1 << 20,
    replicaId: 99,
  });
  expect(outcome.partitions[0]!.errorCode).toBe(KafkaErrorCode.NONE);
  return Buffer.from(outcome.partitions[0]!.records).toString('base64');
}

describe('follower fetcher over the Kafka protocol', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function broker(id: number): Promise<Broker> {
    const temp = makeTempDir(`broker${id}`);
    const engine = await startTestEngine(temp.dir, { shardCount: 1 });
    expect(await engine.createTopic('t', 1)).toBe(KafkaErrorCode.NONE);
    const self: Broker = { id, engine, listener: null as unknown as FrontDoor, view: null };
    let sentBound = -1;
    const observer: FollowerFetchObserver = {
      onFollowerFetch(topic, partition, replicaId, fetchOffset, outcome) {
        const view = self.view;
        if (view === null || outcome.errorCode !== KafkaErrorCode.NONE) return;
        view.onFollowerFetch(replicaId, fetchOffset, outcome.logEndOffset ?? fetchOffset, Date.now());
        view.noteHighWatermark(outcome.highWatermark);
        const bound = view.highWatermarkBound();
        if (bound !== sentBound) {
          sentBound = bound;
          engine.advanceHighWatermark(topic, partition, bound);
        }
      },
    };
    const deps = await testFrontDoorDeps(engine);
    self.listener = await startKafkaListener({ ...deps, followerFetches: observer });
    cleanups.push(async () => {
      await self.listener.close();
      await deps.groups.close();
      await engine.stop();
      temp.cleanup();
    });
    return self;
  }

  async function lead(leader: Broker, follower: Broker, epoch: number): Promise<void> {
    leader.view = new LeaderReplicas({
      localBrokerId: leader.id,
      leaderEpoch: epoch,
      replicas: [leader.id, follower.id],
      isr: [leader.id, follower.id],
      startHighWatermark: 0,
      lagTimeMaxMs: 10_000,
      nowMs: Date.now(),
    });
    follower.view = null;
    const role = { leaderEpoch: epoch, isrCount: 2, minInsyncReplicas: 2, highWatermarkBound: 0 };
    expect(await leader.engine.applyReplicaRole('t', 0, { ...role, role: 'leader' })).toBe(
      KafkaErrorCode.NONE,
    );
    expect(await follower.engine.applyReplicaRole('t', 0, { ...role, role: 'follower' })).toBe(
      KafkaErrorCode.NONE,
    );
  }

  function fetcher(follower: Broker, leader: Broker): FollowerFetcher {
    const errors: string[] = [];
    const started = new FollowerFetcher(follower.engine, {
      localBrokerId: follower.id,
      leaderBrokerId: leader.id,
      endpoint: () => ({ host: '127.0.0.1', port: leader.listener.port }),
      requestTimeoutMs: 5000,
      fetchMaxWaitMs: 100,
      fetchMaxBytes: 1 << 20,
      partitionMaxBytes: 1 << 20,
      maxFrameBytes: 4 << 20,
      retryBackoffMs: 20,
      onError: (message) => errors.push(message),
    });
    cleanups.push(() => started.stop());
    return started;
  }

  it('given a leader and a follower, when acks=all produces, then the follower replicates, the high watermark follows it, and after a failover the old leader truncates its unreplicated batch', async () => {
    const a = await broker(1);
    const b = await broker(2);
    await lead(a, b, 1);
    const fromA = fetcher(b, a);
    fromA.follow('t', 0, 1);
    for (const value of ['m1', 'm2', 'm3']) {
      const outcome = await a.engine.produce('t', 0, batchOf(value), -1);
      expect(outcome.errorCode).toBe(KafkaErrorCode.NONE);
    }
    await eventually(async () => fromA.fetchOffsetOf('t', 0) === 3, 5000);
    expect((await a.engine.listOffsets('t', 0, -1)).offset).toBe(3);
    // B stops fetching; A takes one more batch that only it will ever hold.
    await fromA.stop();
    expect((await a.engine.produce('t', 0, batchOf('lost'), 1)).errorCode).toBe(KafkaErrorCode.NONE);
    // Failover: B leads epoch 2 and takes new batches; A follows and must cut 'lost' at offset 3.
    await lead(b, a, 2);
    const fromB = fetcher(a, b);
    fromB.follow('t', 0, 2);
    const acked = b.engine.produce('t', 0, batchOf('n4'), -1);
    expect((await acked).errorCode).toBe(KafkaErrorCode.NONE);
    await eventually(async () => fromB.fetchOffsetOf('t', 0) === 4, 5000);
    await fromB.stop();
    const expected = await logBytes(b.engine);
    // Read A's log as its leader now (epoch 3), with nothing new appended.
    await lead(a, b, 3);
    expect(await logBytes(a.engine)).toBe(expected);
  }, 30_000);
});
