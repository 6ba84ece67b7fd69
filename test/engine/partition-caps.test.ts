import { afterEach, describe, expect, it } from 'vitest';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import type { ShardedEngine } from '../../src/engine/sharded-engine.js';
import { startTestEngine } from '../support/engine-fixture.js';
import { makeTempDir } from '../support/temp-dir.js';

describe('partition caps', () => {
  let engine: ShardedEngine | null = null;
  let cleanup = (): void => {};
  afterEach(async () => {
    await engine?.stop();
    engine = null;
    cleanup();
  });

  it('given caps per topic and per broker when creates pass them should answer INVALID_PARTITIONS and POLICY_VIOLATION', async () => {
    const temp = makeTempDir('caps');
    cleanup = temp.cleanup;
    engine = await startTestEngine(temp.dir, { maxPartitionsPerTopic: 8, maxPartitionsPerBroker: 12 });
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
});
