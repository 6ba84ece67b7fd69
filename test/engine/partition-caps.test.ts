import { describe, expect, it } from 'vitest';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import { scopedTestEngines } from '../support/engine-fixture.js';

describe('partition caps', () => {
  const engines = scopedTestEngines('partition-caps');

  it('given caps per topic and per broker when creates pass them should answer INVALID_PARTITIONS and POLICY_VIOLATION', async () => {
    const engine = await engines.start({ maxPartitionsPerTopic: 8, maxPartitionsPerBroker: 12 });
    expect(await engine.createTopic('too-wide', 9)).toBe(KafkaErrorCode.INVALID_PARTITIONS);
    expect(await engine.createTopic('a', 8)).toBe(KafkaErrorCode.NONE);
    // Concurrent creates: each enters the registry before its first await, so only one may fit.
    const codes = await Promise.all([engine.createTopic('b', 4), engine.createTopic('c', 4)]);
    expect(codes.sort()).toEqual([KafkaErrorCode.NONE, KafkaErrorCode.POLICY_VIOLATION].sort());
    expect(await engine.createTopic('d', 1)).toBe(KafkaErrorCode.POLICY_VIOLATION);
    expect(engine.listTopics().reduce((sum, topic) => sum + topic.partitionCount, 0)).toBe(12);
    // Deleting frees room.
    expect(await engine.deleteTopic('a')).toBe(KafkaErrorCode.NONE);
    expect(await engine.createTopic('d', 8)).toBe(KafkaErrorCode.NONE);
  });

  it('given a shard that is down during a create should roll the create back whole', async () => {
    const engine = await engines.start();
    // One shard dies (it restarts 100 ms later); the other takes its part of the create meanwhile.
    await engine.hosts[1]!.killForTest();
    const code = await engine.createTopic('half', 2000);
    expect(code).not.toBe(KafkaErrorCode.NONE);
    expect(engine.describeTopic('half')).toBeUndefined();
    // After the restart nothing of it is served, and the name can be created again from scratch.
    const deadlineMs = Date.now() + 10_000;
    while (!engine.hosts[1]!.isReady && Date.now() < deadlineMs) await new Promise((r) => setTimeout(r, 20));
    expect(await engine.createTopic('half', 2)).toBe(KafkaErrorCode.NONE);
    expect((await engine.describePartitions('half'))?.map((p) => p.logEndOffset)).toEqual([0, 0]);
  });
});
