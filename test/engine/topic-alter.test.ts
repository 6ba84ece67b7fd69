import { readdirSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import type { Offset } from '../../src/common/offset.js';
import type { ShardedEngine } from '../../src/engine/sharded-engine.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { decodeRecordSet } from '../../src/record/batch-reader.js';
import { partitionDir } from '../../src/storage/partition-dirs.js';
import { startTestEngine } from '../support/engine-fixture.js';
import { makeTempDir } from '../support/temp-dir.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function batchOf(value: string): Uint8Array {
  return buildRecordBatch([{ key: null, value: encoder.encode(value) }]);
}

async function valuesOf(engine: ShardedEngine, topic: string, partition: number): Promise<string[]> {
  const fetched = await engine.fetch({
    partitions: [{ topic, partition, offset: 0 as Offset, maxBytes: 1 << 20 }],
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 20,
  });
  return decodeRecordSet(fetched.partitions[0]!.records).map((r) => decoder.decode(r.value!));
}

describe('altering topics: settings and partition count', () => {
  const temp = makeTempDir('topic-alter');
  let engine: ShardedEngine | null = null;
  afterEach(async () => {
    await engine?.stop();
    engine = null;
    temp.cleanup();
  });

  it('given a topic with data when partitions are added should keep the old ones and serve the new ones, across a restart', async () => {
    engine = await startTestEngine(temp.dir);
    expect(await engine.createTopic('grow', 1)).toBe(KafkaErrorCode.NONE);
    expect((await engine.produce('grow', 0, batchOf('old'), -1)).errorCode).toBe(KafkaErrorCode.NONE);
    expect((await engine.produce('grow', 2, batchOf('x'), -1)).errorCode).toBe(
      KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    );
    expect(await engine.addPartitions('grow', 3)).toBe(KafkaErrorCode.NONE);
    expect(engine.describeTopic('grow')?.partitionCount).toBe(3);
    expect((await engine.produce('grow', 2, batchOf('new'), -1)).errorCode).toBe(KafkaErrorCode.NONE);
    await engine.stop();
    engine = await startTestEngine(temp.dir);
    expect(engine.describeTopic('grow')?.partitionCount).toBe(3);
    expect(await valuesOf(engine, 'grow', 0)).toEqual(['old']);
    expect(await valuesOf(engine, 'grow', 1)).toEqual([]);
    expect(await valuesOf(engine, 'grow', 2)).toEqual(['new']);
  });

  it('given a partition count that does not grow should refuse it with INVALID_PARTITIONS', async () => {
    engine = await startTestEngine(temp.dir);
    await engine.createTopic('fixed', 2);
    expect(await engine.addPartitions('fixed', 2)).toBe(KafkaErrorCode.INVALID_PARTITIONS);
    expect(await engine.addPartitions('fixed', 1)).toBe(KafkaErrorCode.INVALID_PARTITIONS);
    expect(await engine.addPartitions('missing', 4)).toBe(KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect(engine.describeTopic('fixed')?.partitionCount).toBe(2);
  });

  it('given a smaller segment.bytes set on a live topic should have its shard roll segments by it, and keep it after a restart', async () => {
    engine = await startTestEngine(temp.dir);
    await engine.createTopic('rolls', 1);
    const big = 'v'.repeat(700);
    for (let i = 0; i < 4; i++) await engine.produce('rolls', 0, batchOf(big), -1);
    const segmentsBefore = readdirSync(
      partitionDir(temp.dir, engine.describeTopic('rolls')!.topicId, 'rolls', 0),
    ).filter((f) => f.endsWith('.log'));
    expect(segmentsBefore).toHaveLength(1);
    expect(await engine.alterTopicConfig('rolls', { segmentBytes: 1024 })).toBe(KafkaErrorCode.NONE);
    expect(engine.describeTopic('rolls')?.config.segmentBytes).toBe(1024);
    for (let i = 0; i < 4; i++) await engine.produce('rolls', 0, batchOf(big), -1);
    const segmentsAfter = readdirSync(
      partitionDir(temp.dir, engine.describeTopic('rolls')!.topicId, 'rolls', 0),
    ).filter((f) => f.endsWith('.log'));
    expect(segmentsAfter.length).toBeGreaterThan(2);
    await engine.stop();
    engine = await startTestEngine(temp.dir);
    expect(engine.describeTopic('rolls')?.config.segmentBytes).toBe(1024);
    expect(await valuesOf(engine, 'rolls', 0)).not.toHaveLength(0);
  });

  it('given an invalid setting should refuse it and keep the old settings', async () => {
    engine = await startTestEngine(temp.dir);
    await engine.createTopic('strict', 1);
    const before = engine.describeTopic('strict')!.config;
    expect(await engine.alterTopicConfig('strict', { segmentBytes: 1 })).not.toBe(KafkaErrorCode.NONE);
    expect(engine.describeTopic('strict')!.config).toEqual(before);
  });
});
