import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import type { Offset } from '../../src/common/offset.js';
import { BUCKETS_US, Counter, histogramBase, Stage } from '../../src/engine/shard-metrics.js';
import type { ShardedEngine } from '../../src/engine/sharded-engine.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { CompressionCodec } from '../../src/record/batch-header.js';
import { decodeRecordSet } from '../../src/record/batch-reader.js';
import { buildCompressedBatch } from '../../src/record/compression.js';
import { scopedTestEngines } from '../support/engine-fixture.js';

/**
 * Compaction in a real engine: the shards' cleaner threads, their I/O budget,
 * and a topic deleted while a slow job on it is out.
 */
const encoder = new TextEncoder();

async function produceKeyed(engine: ShardedEngine, topic: string, count: number, valueBytes: number) {
  for (let i = 0; i < count; i++) {
    const batch = buildRecordBatch([
      { key: encoder.encode(`k${i % 4}`), value: new Uint8Array(valueBytes).fill(i) },
    ]);
    const outcome = await engine.produce(topic, 0, batch, 1);
    expect(outcome.errorCode).toBe(KafkaErrorCode.NONE);
  }
}

/** Records partition 0 serves now, read through its gaps. */
async function recordCount(engine: ShardedEngine, topic: string): Promise<number> {
  let count = 0;
  let offset = 0;
  for (let i = 0; i < 1000; i++) {
    const fetched = await engine.fetch({
      partitions: [{ topic, partition: 0, offset: offset as Offset, maxBytes: 1 << 20 }],
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
    });
    const records = fetched.partitions[0]!.records;
    if (records.length === 0) break;
    count += decodeRecordSet(records).filter((record) => record.offset >= offset).length;
    const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
    let at = 0;
    let next = offset;
    while (at + 61 <= records.length) {
      next = Number(view.getBigInt64(at)) + view.getInt32(at + 23) + 1;
      at += view.getInt32(at + 8) + 12;
    }
    if (next <= offset) break;
    offset = next;
  }
  return count;
}

describe('compaction in the engine', () => {
  const engines = scopedTestEngines('compaction-engine');

  it('given a topic deleted while a slow cleaner job on it is out, then the delete succeeds, its directory goes, and another compacted topic is still cleaned', async () => {
    // 64 KiB/s: a job over ~200 KiB takes seconds, so the delete lands while it runs.
    const engine = await engines.start({ shardCount: 1, logCleanerIoBytesPerSecond: 64 * 1024 }, 50);
    const settings = { cleanupPolicy: 'compact' as const, segmentBytes: 4096, minCleanableDirtyRatio: 0.01 };
    expect(await engine.createTopic('doomed', 1, settings)).toBe(KafkaErrorCode.NONE);
    await produceKeyed(engine, 'doomed', 200, 1000);
    const dataDir = engine.config.dataDir;
    const topicsDir = join(dataDir, 'topics');
    const doomedDir = readdirSync(topicsDir).find((name) => name.endsWith('-doomed'))!;
    // Wait (bounded) until the cleaner has started writing into it.
    const startDeadline = Date.now() + 10_000;
    while (Date.now() < startDeadline) {
      const names = existsSync(join(topicsDir, doomedDir, '0'))
        ? readdirSync(join(topicsDir, doomedDir, '0'))
        : [];
      if (names.some((name) => name.endsWith('.cleaned'))) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await engine.deleteTopic('doomed')).toBe(KafkaErrorCode.NONE);
    const goneDeadline = Date.now() + 10_000;
    while (existsSync(join(topicsDir, doomedDir)) && Date.now() < goneDeadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(existsSync(join(topicsDir, doomedDir))).toBe(false);

    expect(await engine.createTopic('kept', 1, settings)).toBe(KafkaErrorCode.NONE);
    await produceKeyed(engine, 'kept', 40, 200);
    const cleanDeadline = Date.now() + 20_000;
    let count = await recordCount(engine, 'kept');
    // 40 records, 15 to a segment: the two closed segments shrink to the 4 keys' latest, the active keeps 10.
    while (count > 14 && Date.now() < cleanDeadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      count = await recordCount(engine, 'kept');
    }
    expect(count).toBeLessThanOrEqual(14);
    // The shard counted the cleaner's work and timed its own part of each swap.
    const slots = new Float64Array(engine.hosts[0]!.metricsBuffer);
    expect(slots[Counter.CLEANER_IO_BYTES]).toBeGreaterThan(0);
    if (existsSync('/proc/thread-self')) expect(slots[Counter.CLEANER_CPU_SECONDS]).toBeGreaterThan(0);
    const swaps = slots[histogramBase(Stage.CLEANER_SWAP) + BUCKETS_US.length + 2]!;
    expect(swaps).toBeGreaterThan(0);
  });

  it('given a record without a key, when produced to a compacted topic, then INVALID_RECORD, plain or compressed, and a delete topic takes it', async () => {
    const engine = await engines.start({ shardCount: 1 });
    expect(await engine.createTopic('compacted', 1, { cleanupPolicy: 'compact' })).toBe(KafkaErrorCode.NONE);
    expect(await engine.createTopic('plain', 1)).toBe(KafkaErrorCode.NONE);
    const keyless = [
      { key: encoder.encode('k'), value: encoder.encode('keyed') },
      { key: null, value: encoder.encode('no key') },
    ];
    for (const batch of [buildRecordBatch(keyless), buildCompressedBatch(keyless, CompressionCodec.GZIP)]) {
      const refused = await engine.produce('compacted', 0, batch.slice(), 1);
      expect(refused.errorCode).toBe(KafkaErrorCode.INVALID_RECORD);
      expect(refused.errorMessage).toMatch(/no key/);
      expect((await engine.produce('plain', 0, batch.slice(), 1)).errorCode).toBe(KafkaErrorCode.NONE);
    }
    const keyed = buildCompressedBatch(
      [{ key: encoder.encode('k'), value: encoder.encode('v') }],
      CompressionCodec.GZIP,
    );
    expect((await engine.produce('compacted', 0, keyed, 1)).errorCode).toBe(KafkaErrorCode.NONE);
  });
});
