import { describe, expect, it } from 'vitest';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import type { Offset } from '../../src/common/offset.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { scopedTestEngines } from '../support/engine-fixture.js';

/**
 * A shard worker that dies and is restarted reopens its partitions; in
 * cluster mode each had a replication role. Between the restart and the
 * acceptor re-sending the roles (ROLE_CHANGE), a partition without its role
 * would be served as a single node's: a follower taking produces, a leader
 * answering acks=all on its own disk alone. So the restarted shard gets the
 * roles with its partitions and applies each as the partition opens. Here the
 * re-sending is switched off, which holds that window open for good.
 */
const batchOf = (value: string): Uint8Array =>
  buildRecordBatch([{ key: null, value: new TextEncoder().encode(value) }]);

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe('replication roles across a shard restart', () => {
  const engines = scopedTestEngines('replica-restart');

  it('given a follower and a leader below min.insync.replicas, when their shard restarts and the roles are not re-sent yet, then produce, fetch and list offsets get retriable errors, never a single-node answer', async () => {
    const engine = await engines.start({ fsync: 'never', shardCount: 1 });
    expect(await engine.createTopic('r', 2)).toBe(KafkaErrorCode.NONE);
    const common = { leaderEpoch: 4, isrCount: 1, minInsyncReplicas: 2 };
    expect(
      await engine.applyReplicaRole('r', 0, { ...common, role: 'leader', highWatermarkBound: Infinity }),
    ).toBe(KafkaErrorCode.NONE);
    expect(
      await engine.applyReplicaRole('r', 1, { ...common, role: 'follower', highWatermarkBound: 0 }),
    ).toBe(KafkaErrorCode.NONE);
    const host = engine.hosts[0]!;
    host.restartPolicy = { limit: 3, windowMs: 60_000, backoffBaseMs: 50, backoffMaxMs: 1000 };
    // The window between "ready again" and the re-sent roles, held open.
    host.onRestarted = null;
    await host.killForTest();
    await waitUntil(() => !host.isReady, 2000);
    await waitUntil(() => host.isReady, 10_000);
    expect(host.isReady).toBe(true);

    // The follower partition takes no produce and serves no consumer.
    expect((await engine.produce('r', 1, batchOf('f'), 1)).errorCode).toBe(
      KafkaErrorCode.NOT_LEADER_OR_FOLLOWER,
    );
    const fetched = await engine.fetch({
      partitions: [{ topic: 'r', partition: 1, offset: 0 as Offset, maxBytes: 1024 }],
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1024,
    });
    expect(fetched.partitions[0]!.errorCode).toBe(KafkaErrorCode.NOT_LEADER_OR_FOLLOWER);
    expect((await engine.listOffsets('r', 1, -1)).errorCode).toBe(KafkaErrorCode.NOT_LEADER_OR_FOLLOWER);
    // The leader keeps its epoch and its ISR rule: acks=all is refused below min.insync.replicas.
    expect((await engine.produce('r', 0, batchOf('l'), -1)).errorCode).toBe(
      KafkaErrorCode.NOT_ENOUGH_REPLICAS,
    );
    expect((await engine.listOffsets('r', 0, -1, { currentLeaderEpoch: 3 })).errorCode).toBe(
      KafkaErrorCode.FENCED_LEADER_EPOCH,
    );
    expect((await engine.listOffsets('r', 0, -1, { currentLeaderEpoch: 4 })).errorCode).toBe(
      KafkaErrorCode.NONE,
    );
  }, 30_000);
});
