import { describe, expect, it } from 'vitest';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { scopedTestEngines } from '../support/engine-fixture.js';

/**
 * A shard worker that dies is restarted after a backoff that doubles with
 * each death in the window; one that keeps dying past the limit stays down,
 * its requests are answered (never left waiting), and the other shard serves.
 */
async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe('shard restarts', () => {
  const engines = scopedTestEngines('shard-restart');

  it('given a shard that keeps dying, then it is restarted with growing backoff up to the limit and then left down while the other shard serves', async () => {
    const failures: string[] = [];
    const engine = await engines.start({ fsync: 'never' });
    expect(await engine.createTopic('spread', 4)).toBe(KafkaErrorCode.NONE);
    const victim = engine.hosts[0]!;
    victim.restartPolicy = { limit: 2, windowMs: 60_000, backoffBaseMs: 150, backoffMaxMs: 10_000 };
    victim.onShardFailed = (reason) => failures.push(reason);

    const delaysMs: number[] = [];
    for (let death = 1; death <= 2; death++) {
      const killedMs = Date.now();
      await victim.killForTest();
      await waitUntil(() => victim.isReady, 10_000);
      expect(victim.isReady).toBe(true);
      delaysMs.push(Date.now() - killedMs);
    }
    // 150 ms, then 300 ms: the second restart waits about twice as long as the first.
    expect(delaysMs[0]!).toBeGreaterThanOrEqual(150);
    expect(delaysMs[1]!).toBeGreaterThanOrEqual(300);
    expect(victim.restarts).toBe(2);

    await victim.killForTest();
    await waitUntil(() => failures.length > 0, 5_000);
    expect(failures[0]).toContain('not restarted');
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(victim.isReady).toBe(false);
    expect(victim.restarts).toBe(2);

    // Requests to the dead shard are answered at once with a retriable error; the other shard serves.
    const batch = buildRecordBatch([{ key: null, value: new TextEncoder().encode('v') }]);
    const described = (await engine.describePartitions('spread'))!;
    const onVictim = described.find((partition) => partition.shard === 0)!.partition;
    const onOther = described.find((partition) => partition.shard === 1)!.partition;
    expect((await engine.produce('spread', onVictim, batch.slice(), 1)).errorCode).toBe(
      KafkaErrorCode.NOT_LEADER_OR_FOLLOWER,
    );
    expect((await engine.produce('spread', onOther, batch.slice(), 1)).errorCode).toBe(KafkaErrorCode.NONE);
  });
});
