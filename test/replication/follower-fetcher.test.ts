import { afterEach, describe, expect, it } from 'vitest';
import type { TopicConfig } from '../../src/common/broker-config.js';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import type { Offset } from '../../src/common/offset.js';
import type { FollowerFetchObserver } from '../../src/engine/engine-api.js';
import type { ShardedEngine } from '../../src/engine/sharded-engine.js';
import type { FrontDoor } from '../../src/protocol/front-door-deps.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { BatchHeader } from '../../src/record/batch-header.js';
import { decodeRecordSet } from '../../src/record/batch-reader.js';
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

/**
 * Everything in the partition's log from `fromOffset`, as a follower would read it (the broker must lead
 * it), one fetch per segment.
 */
async function logBytes(engine: ShardedEngine, fromOffset = 0): Promise<string> {
  const parts: Buffer[] = [];
  let offset = fromOffset;
  for (let round = 0; round < 1000; round++) {
    const outcome = await engine.fetch({
      partitions: [{ topic: 't', partition: 0, offset: offset as Offset, maxBytes: 1 << 20 }],
      maxWaitMs: 0,
      minBytes: 1,
      maxBytes: 1 << 20,
      replicaId: 99,
    });
    expect(outcome.partitions[0]!.errorCode).toBe(KafkaErrorCode.NONE);
    const records = outcome.partitions[0]!.records;
    if (records.length === 0) break;
    parts.push(Buffer.from(records));
    const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
    for (let at = 0; at + BatchHeader.SIZE_BYTES <= records.length; ) {
      offset =
        Number(view.getBigInt64(at + BatchHeader.BASE_OFFSET)) +
        view.getInt32(at + BatchHeader.LAST_OFFSET_DELTA) +
        1;
      at += view.getInt32(at + BatchHeader.BATCH_LENGTH) + BatchHeader.LOG_OVERHEAD_BYTES;
    }
  }
  return Buffer.concat(parts).toString('base64');
}

describe('follower fetcher over the Kafka protocol', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function broker(
    id: number,
    settings: Partial<TopicConfig> = {},
    retentionCheckMs?: number,
  ): Promise<Broker> {
    const temp = makeTempDir(`broker${id}`);
    const engine = await startTestEngine(temp.dir, { shardCount: 1 }, retentionCheckMs);
    expect(await engine.createTopic('t', 1, settings)).toBe(KafkaErrorCode.NONE);
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

  /** `leader` leads alone (its ISR is itself): nothing waits for the follower, the high watermark is its own. */
  async function leadAlone(leader: Broker, follower: Broker, epoch: number): Promise<void> {
    leader.view = null;
    follower.view = null;
    const role = { leaderEpoch: epoch, isrCount: 1, minInsyncReplicas: 1 };
    expect(
      await leader.engine.applyReplicaRole('t', 0, { ...role, role: 'leader', highWatermarkBound: Infinity }),
    ).toBe(KafkaErrorCode.NONE);
    expect(
      await follower.engine.applyReplicaRole('t', 0, { ...role, role: 'follower', highWatermarkBound: 0 }),
    ).toBe(KafkaErrorCode.NONE);
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

  it('given a follower whose log ends below the leader log start (DeleteRecords there), when it fetches, then it restarts its log at the leader log start and catches up with identical batches', async () => {
    const a = await broker(1);
    const b = await broker(2);
    await leadAlone(a, b, 1);
    for (const value of ['m0', 'm1'])
      expect((await a.engine.produce('t', 0, batchOf(value), -1)).errorCode).toBe(0);
    const first = fetcher(b, a);
    first.follow('t', 0, 1);
    await eventually(async () => first.fetchOffsetOf('t', 0) === 2, 5000);
    await first.stop();
    // While B is away, A takes more and deletes the records B never fetched: B's log (0..2) ends below 6.
    for (let i = 2; i < 10; i++)
      expect((await a.engine.produce('t', 0, batchOf(`m${i}`), -1)).errorCode).toBe(0);
    expect((await a.engine.deleteRecords('t', 0, 6)).errorCode).toBe(KafkaErrorCode.NONE);
    await leadAlone(a, b, 2);
    const again = fetcher(b, a);
    again.follow('t', 0, 2);
    await eventually(async () => again.fetchOffsetOf('t', 0) === 10, 10_000);
    expect(again.logStartResets).toBe(1);
    // The leader deletes more: the follower's log start follows (up to its high watermark), so the records
    // would not come back if it led.
    expect((await a.engine.deleteRecords('t', 0, 8)).errorCode).toBe(KafkaErrorCode.NONE);
    await eventually(async () => (await b.engine.describePartitions('t'))![0]!.logStartOffset === 8, 5000);
    await again.stop();
    const expected = await logBytes(a.engine, 8);
    await leadAlone(b, a, 3);
    const [described] = (await b.engine.describePartitions('t'))!;
    expect(described).toMatchObject({ logStartOffset: 8, logEndOffset: 10 });
    expect(await logBytes(b.engine, 8)).toBe(expected);
  }, 30_000);

  it('given a compacted leader log with offset gaps, when a new follower replicates it, then the follower holds the same batches at the same offsets', async () => {
    const compacted = { cleanupPolicy: 'compact' as const, segmentBytes: 2048, minCleanableDirtyRatio: 0.01 };
    const a = await broker(1, compacted, 50);
    // The follower's own topic does not compact: what it holds is exactly what it replicated.
    const b = await broker(2);
    await leadAlone(a, b, 1);
    const value = new Uint8Array(300);
    for (let i = 0; i < 80; i++) {
      const batch = buildRecordBatch([{ key: encoder.encode(`k${i % 3}`), value: value.fill(i) }]);
      expect((await a.engine.produce('t', 0, batch, 1)).errorCode).toBe(0);
    }
    // Wait (bounded) until the cleaner has removed records: the log then has offset gaps.
    const holds = async (engine: ShardedEngine): Promise<number> => {
      const chunk = Buffer.from(await logBytes(engine), 'base64');
      return decodeRecordSet(new Uint8Array(chunk)).length;
    };
    await eventually(async () => (await holds(a.engine)) < 40, 15_000);
    // No more cleaning from here on (a job still out finishes meanwhile): the leader's bytes stay as they are.
    expect(await a.engine.alterTopicConfig('t', { cleanupPolicy: 'delete' })).toBe(KafkaErrorCode.NONE);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const expected = await logBytes(a.engine);
    const fromA = fetcher(b, a);
    fromA.follow('t', 0, 1);
    await eventually(async () => fromA.fetchOffsetOf('t', 0) === 80, 10_000);
    await fromA.stop();
    expect(await logBytes(a.engine)).toBe(expected);
    // Reading the follower as the leader of a later epoch, with nothing new appended: the same bytes, offsets
    // and all.
    const [leaderEnd] = (await a.engine.describePartitions('t'))!;
    await leadAlone(b, a, 2);
    expect(await logBytes(b.engine)).toBe(expected);
    const [followerEnd] = (await b.engine.describePartitions('t'))!;
    expect(followerEnd!.logEndOffset).toBe(leaderEnd!.logEndOffset);
  }, 40_000);

  it('given a follower told of a new leader before that leader has taken its role, when the leader answers NOT_LEADER_OR_FOLLOWER, then the follower keeps asking and replicates once it leads', async () => {
    const a = await broker(1);
    const b = await broker(2);
    // A restarted and has not applied its new role yet: it still follows (no one) in epoch 0, while etcd
    // already names it leader of epoch 1 and B heard first.
    const notYet = { leaderEpoch: 0, isrCount: 1, minInsyncReplicas: 1, highWatermarkBound: 0 };
    const errors: string[] = [];
    const fromA = new FollowerFetcher(b.engine, {
      localBrokerId: b.id,
      leaderBrokerId: a.id,
      endpoint: () => ({ host: '127.0.0.1', port: a.listener.port }),
      requestTimeoutMs: 5000,
      fetchMaxWaitMs: 100,
      fetchMaxBytes: 1 << 20,
      partitionMaxBytes: 1 << 20,
      maxFrameBytes: 4 << 20,
      retryBackoffMs: 20,
      onError: (message) => errors.push(message),
    });
    cleanups.push(() => fromA.stop());
    await lead(a, b, 0);
    expect(await a.engine.applyReplicaRole('t', 0, { ...notYet, role: 'follower' })).toBe(
      KafkaErrorCode.NONE,
    );
    fromA.follow('t', 0, 1);
    await eventually(
      async () => errors.some((error) => error.includes(`error ${KafkaErrorCode.NOT_LEADER_OR_FOLLOWER}`)),
      5000,
    );
    // Now A takes its role; nothing more comes from the control plane (the state in etcd did not change).
    a.view = new LeaderReplicas({
      localBrokerId: a.id,
      leaderEpoch: 1,
      replicas: [a.id, b.id],
      isr: [a.id, b.id],
      startHighWatermark: 0,
      lagTimeMaxMs: 10_000,
      nowMs: Date.now(),
    });
    expect(
      await a.engine.applyReplicaRole('t', 0, {
        leaderEpoch: 1,
        isrCount: 2,
        minInsyncReplicas: 1,
        highWatermarkBound: 0,
        role: 'leader',
      }),
    ).toBe(KafkaErrorCode.NONE);
    expect((await a.engine.produce('t', 0, batchOf('after'), 1)).errorCode).toBe(KafkaErrorCode.NONE);
    await eventually(async () => fromA.fetchOffsetOf('t', 0) === 1, 5000);
  }, 30_000);
});
