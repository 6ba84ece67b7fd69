import { afterEach, describe, expect, it } from 'vitest';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import type { Offset } from '../../src/common/offset.js';
import type { ProduceOutcome } from '../../src/engine/engine-api.js';
import type { ShardedEngine } from '../../src/engine/sharded-engine.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { BatchHeader } from '../../src/record/batch-header.js';
import { startTestEngine } from '../support/engine-fixture.js';
import { makeTempDir } from '../support/temp-dir.js';

/**
 * The replication ring messages through real shard workers (shard-message.ts:
 * ROLE_CHANGE, HW_ADVANCE, REPLICA_APPEND, TRUNCATE, OFFSET_FOR_EPOCH), the
 * follower read past the high watermark, and acks=all waiting in the shard
 * for the high watermark. Two engines in one process stand for a leader and
 * a follower broker; the test moves the bytes between them as the follower
 * fetcher would.
 */
const encoder = new TextEncoder();
const batchOf = (...values: string[]): Uint8Array =>
  buildRecordBatch(values.map((value) => ({ key: null, value: encoder.encode(value) })));

/** Settles within `ms` or reports that it is still pending. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | 'pending'> {
  return Promise.race([
    promise,
    new Promise<'pending'>((resolve) => setTimeout(() => resolve('pending'), ms)),
  ]);
}

describe('replication through the rings', () => {
  const engines: ShardedEngine[] = [];
  const cleanups: (() => void)[] = [];
  afterEach(async () => {
    for (const engine of engines.splice(0)) await engine.stop();
    for (const cleanup of cleanups.splice(0)) cleanup();
  });
  async function engine(fsync: 'always' | 'never' = 'always'): Promise<ShardedEngine> {
    const temp = makeTempDir('replica-ring');
    cleanups.push(temp.cleanup);
    const started = await startTestEngine(temp.dir, { fsync, shardCount: 1 });
    engines.push(started);
    expect(await started.createTopic('t', 2)).toBe(KafkaErrorCode.NONE);
    return started;
  }

  it('given a leader whose ISR is below min.insync.replicas, when acks=all produces, then NOT_ENOUGH_REPLICAS; acks=1 still appends', async () => {
    const leader = await engine();
    const role = {
      role: 'leader' as const,
      leaderEpoch: 3,
      isrCount: 1,
      minInsyncReplicas: 2,
      highWatermarkBound: Infinity,
    };
    expect(await leader.applyReplicaRole('t', 0, role)).toBe(KafkaErrorCode.NONE);
    expect((await leader.produce('t', 0, batchOf('a'), -1)).errorCode).toBe(
      KafkaErrorCode.NOT_ENOUGH_REPLICAS,
    );
    const acked = await leader.produce('t', 0, batchOf('b'), 1);
    expect(acked).toMatchObject({ errorCode: KafkaErrorCode.NONE, baseOffset: 0 });
  });

  it('given a leader with a follower in its ISR, when acks=all produces, then it waits in the shard until the high watermark passes the batch', async () => {
    const leader = await engine();
    const role = {
      role: 'leader' as const,
      leaderEpoch: 1,
      isrCount: 2,
      minInsyncReplicas: 2,
      highWatermarkBound: 0,
    };
    expect(await leader.applyReplicaRole('t', 0, role)).toBe(KafkaErrorCode.NONE);
    const first = leader.produce('t', 0, batchOf('a', 'b'), -1);
    const second = leader.produce('t', 0, batchOf('c'), -1);
    expect(await within(first, 300)).toBe('pending');
    // A consumer sees nothing yet; a follower (replica id ≥ 0) reads up to the log end, in the leader's epoch.
    const consumer = await leader.fetch({
      partitions: [{ topic: 't', partition: 0, offset: 0 as Offset, maxBytes: 1 << 20 }],
      maxWaitMs: 0,
      minBytes: 1,
      maxBytes: 1 << 20,
    });
    expect(consumer.partitions[0]).toMatchObject({ errorCode: KafkaErrorCode.NONE, highWatermark: 0 });
    expect(consumer.partitions[0]!.records.length).toBe(0);
    const replica = await leader.fetch({
      partitions: [
        { topic: 't', partition: 0, offset: 0 as Offset, maxBytes: 1 << 20, currentLeaderEpoch: 1 },
      ],
      maxWaitMs: 0,
      minBytes: 1,
      maxBytes: 1 << 20,
      replicaId: 2,
    });
    const records = replica.partitions[0]!.records;
    expect(records.length).toBeGreaterThan(0);
    expect(
      new DataView(records.buffer, records.byteOffset).getInt32(BatchHeader.PARTITION_LEADER_EPOCH),
    ).toBe(1);
    // The follower holds offsets below 2: the first batch is committed, the second still waits.
    leader.advanceHighWatermark('t', 0, 2);
    expect(await within(first, 2000)).toMatchObject({ errorCode: KafkaErrorCode.NONE, baseOffset: 0 });
    expect(await within(second, 300)).toBe('pending');
    leader.advanceHighWatermark('t', 0, 3);
    expect(await within(second, 2000)).toMatchObject({ errorCode: KafkaErrorCode.NONE, baseOffset: 2 });
    expect((await leader.listOffsets('t', 0, -1)).offset).toBe(3);
  });

  it('given acks=all waiting, when the ISR drops below min.insync.replicas and the high watermark passes, then NOT_ENOUGH_REPLICAS_AFTER_APPEND; when leadership moves, then NOT_LEADER_OR_FOLLOWER', async () => {
    const leader = await engine();
    const role = {
      role: 'leader' as const,
      leaderEpoch: 1,
      isrCount: 2,
      minInsyncReplicas: 2,
      highWatermarkBound: 0,
    };
    expect(await leader.applyReplicaRole('t', 0, role)).toBe(KafkaErrorCode.NONE);
    const waiting = leader.produce('t', 0, batchOf('a'), -1);
    expect(await within(waiting, 200)).toBe('pending');
    // The lagging follower left the ISR: the leader alone bounds the high watermark now.
    expect(
      await leader.applyReplicaRole('t', 0, { ...role, isrCount: 1, highWatermarkBound: Infinity }),
    ).toBe(KafkaErrorCode.NONE);
    expect(await within(waiting, 2000)).toMatchObject({
      errorCode: KafkaErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
    });
    expect(await leader.applyReplicaRole('t', 0, { ...role, isrCount: 2, highWatermarkBound: 1 })).toBe(
      KafkaErrorCode.NONE,
    );
    const moved = leader.produce('t', 0, batchOf('b'), -1);
    expect(await within(moved, 200)).toBe('pending');
    expect(
      await leader.applyReplicaRole('t', 0, {
        ...role,
        role: 'follower',
        leaderEpoch: 2,
        highWatermarkBound: 1,
      }),
    ).toBe(KafkaErrorCode.NONE);
    expect(((await within(moved, 2000)) as ProduceOutcome).errorCode).toBe(
      KafkaErrorCode.NOT_LEADER_OR_FOLLOWER,
    );
    expect((await leader.produce('t', 0, batchOf('c'), 1)).errorCode).toBe(
      KafkaErrorCode.NOT_LEADER_OR_FOLLOWER,
    );
    // A stale role change (an older epoch) is fenced and changes nothing.
    expect(await leader.applyReplicaRole('t', 0, { ...role, leaderEpoch: 1 })).toBe(
      KafkaErrorCode.FENCED_LEADER_EPOCH,
    );
  });

  it('given a follower, when it appends what its leader sent, truncates, and is asked for epochs, then offsets and epochs follow the leader', async () => {
    const leader = await engine('never');
    const follower = await engine('always');
    const leaderRole = {
      role: 'leader' as const,
      leaderEpoch: 4,
      isrCount: 2,
      minInsyncReplicas: 1,
      highWatermarkBound: 0,
    };
    expect(await leader.applyReplicaRole('t', 1, leaderRole)).toBe(KafkaErrorCode.NONE);
    expect(await follower.applyReplicaRole('t', 1, { ...leaderRole, role: 'follower' })).toBe(
      KafkaErrorCode.NONE,
    );
    for (const value of ['a', 'b', 'c'])
      expect((await leader.produce('t', 1, batchOf(value, value), 1)).errorCode).toBe(0);
    const fetched = await leader.fetch({
      partitions: [{ topic: 't', partition: 1, offset: 0 as Offset, maxBytes: 1 << 20 }],
      maxWaitMs: 0,
      minBytes: 1,
      maxBytes: 1 << 20,
      replicaId: 7,
    });
    const batches = fetched.partitions[0]!.records;
    const appended = await follower.appendAsFollower('t', 1, 2, batches);
    expect(appended).toMatchObject({ errorCode: KafkaErrorCode.NONE, logEndOffset: 6, highWatermark: 2 });
    // Again from the start: not at the log end, refused, nothing changed.
    expect((await follower.appendAsFollower('t', 1, 2, batches)).errorCode).toBe(
      KafkaErrorCode.OFFSET_OUT_OF_RANGE,
    );
    // A follower serves no consumer and takes no produce.
    expect((await follower.produce('t', 1, batchOf('x'), 1)).errorCode).toBe(
      KafkaErrorCode.NOT_LEADER_OR_FOLLOWER,
    );
    expect((await follower.listOffsets('t', 1, -1)).errorCode).toBe(KafkaErrorCode.NOT_LEADER_OR_FOLLOWER);
    // OffsetForLeaderEpoch on the leader: epoch 4 ends at its log end; an older epoch the log never had
    // answers with the largest one below (none here: epoch 2 ends where 4 began).
    expect(await leader.offsetForLeaderEpoch('t', 1, 4, 4)).toMatchObject({
      errorCode: 0,
      leaderEpoch: 4,
      endOffset: 6,
    });
    expect(await leader.offsetForLeaderEpoch('t', 1, 4, 2)).toMatchObject({
      errorCode: 0,
      leaderEpoch: 2,
      endOffset: 0,
    });
    expect((await leader.offsetForLeaderEpoch('t', 1, 3, 4)).errorCode).toBe(
      KafkaErrorCode.FENCED_LEADER_EPOCH,
    );
    expect((await leader.offsetForLeaderEpoch('t', 1, 5, 4)).errorCode).toBe(
      KafkaErrorCode.UNKNOWN_LEADER_EPOCH,
    );
    expect((await follower.offsetForLeaderEpoch('t', 1, -1, 4)).errorCode).toBe(
      KafkaErrorCode.NOT_LEADER_OR_FOLLOWER,
    );
    // Fetch fencing by the client's current leader epoch (KIP-320).
    const fenced = await leader.fetch({
      partitions: [{ topic: 't', partition: 1, offset: 0 as Offset, maxBytes: 1024, currentLeaderEpoch: 2 }],
      maxWaitMs: 0,
      minBytes: 1,
      maxBytes: 1024,
    });
    expect(fenced.partitions[0]!.errorCode).toBe(KafkaErrorCode.FENCED_LEADER_EPOCH);
    // Truncation cuts at a batch boundary, and the follower goes on from there.
    const cut = await follower.truncateReplica('t', 1, 3);
    expect(cut).toMatchObject({ errorCode: KafkaErrorCode.NONE, offset: 2 });
    const rest = await leader.fetch({
      partitions: [{ topic: 't', partition: 1, offset: 2 as Offset, maxBytes: 1 << 20 }],
      maxWaitMs: 0,
      minBytes: 1,
      maxBytes: 1 << 20,
      replicaId: 7,
    });
    expect(await follower.appendAsFollower('t', 1, 6, rest.partitions[0]!.records)).toMatchObject({
      errorCode: KafkaErrorCode.NONE,
      logEndOffset: 6,
      highWatermark: 6,
    });
    // A leader never truncates.
    expect((await leader.truncateReplica('t', 1, 0)).errorCode).toBe(KafkaErrorCode.NOT_LEADER_OR_FOLLOWER);
  });

  it('given a single node, when a fetch claims a replica id, then it still reads only up to the high watermark', async () => {
    const single = await engine('always');
    expect((await single.produce('t', 0, batchOf('a'), 1)).errorCode).toBe(KafkaErrorCode.NONE);
    const outcome = await single.fetch({
      partitions: [{ topic: 't', partition: 0, offset: 0 as Offset, maxBytes: 1024, currentLeaderEpoch: 0 }],
      maxWaitMs: 0,
      minBytes: 1,
      maxBytes: 1024,
      replicaId: 1,
    });
    const part = outcome.partitions[0]!;
    expect(part.errorCode).toBe(KafkaErrorCode.NONE);
    expect(part.highWatermark === 0 ? part.records.length : 0).toBe(0);
    expect((await single.offsetForLeaderEpoch('t', 0, -1, 0)).leaderEpoch).toBe(0);
  });
});
