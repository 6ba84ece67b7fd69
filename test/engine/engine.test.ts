import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_TOPIC_CONFIG } from '../../src/common/broker-config.js';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import type { Offset } from '../../src/common/offset.js';
import type { ShardedEngine } from '../../src/engine/sharded-engine.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { decodeRecordSet } from '../../src/record/batch-reader.js';
import { startTestEngine } from '../support/engine-fixture.js';
import { makeTempDir } from '../support/temp-dir.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function batchOf(values: string[]): Uint8Array {
  return buildRecordBatch(values.map((value) => ({ key: null, value: encoder.encode(value) })));
}

async function readAll(engine: ShardedEngine, topic: string, partition: number): Promise<string[]> {
  const values: string[] = [];
  let offset = 0;
  for (let round = 0; round < 10_000; round++) {
    const outcome = await engine.fetch({
      partitions: [{ topic, partition, offset: offset as Offset, maxBytes: 1 << 20 }],
      maxWaitMs: 0,
      minBytes: 1,
      maxBytes: 1 << 20,
    });
    const part = outcome.partitions[0]!;
    expect(part.errorCode).toBe(KafkaErrorCode.NONE);
    const records = decodeRecordSet(part.records).filter((record) => record.offset >= offset);
    if (records.length === 0) return values;
    for (const record of records) values.push(decoder.decode(record.value!));
    offset = records[records.length - 1]!.offset + 1;
  }
  throw new Error('readAll did not reach the end');
}

describe('sharded engine', () => {
  let engine: ShardedEngine | null = null;
  let cleanup = (): void => {};
  afterEach(async () => {
    await engine?.stop();
    engine = null;
    cleanup();
  });

  it('given 16 partitions over 2 shards when producing should number each partition from 0 and fetch back in order', async () => {
    const temp = makeTempDir('engine');
    cleanup = temp.cleanup;
    engine = await startTestEngine(temp.dir);
    expect(await engine.createTopic('spread', 16)).toBe(KafkaErrorCode.NONE);
    const shardsUsed = new Set((await engine.describePartitions('spread'))!.map((p) => p.shard));
    expect(shardsUsed).toEqual(new Set([0, 1]));
    const produced = await Promise.all(
      Array.from({ length: 16 * 5 }, (_, i) =>
        // acks=-1: under fsync always a record is visible once durable, which these acks wait for.
        engine!.produce('spread', i % 16, batchOf([`p${i % 16}-r${Math.floor(i / 16)}`]), -1),
      ),
    );
    for (const outcome of produced) expect(outcome.errorCode).toBe(KafkaErrorCode.NONE);
    for (let partition = 0; partition < 16; partition++) {
      expect(await readAll(engine, 'spread', partition)).toEqual(
        Array.from({ length: 5 }, (_, r) => `p${partition}-r${r}`),
      );
    }
    const described = (await engine.describePartitions('spread'))!;
    for (const partition of described) expect(partition.logEndOffset).toBe(5);
  });

  it('given batches at every alignment in their source buffer should store each byte for byte', async () => {
    const temp = makeTempDir('engine');
    cleanup = temp.cleanup;
    engine = await startTestEngine(temp.dir);
    expect(await engine.createTopic('aligned', 1)).toBe(KafkaErrorCode.NONE);
    // The acceptor pads a batch in the ring to keep its source address modulo 8; the shard must find it.
    const values = Array.from({ length: 16 }, (_, i) => `skew-${i % 8}-${'x'.repeat(100 + i)}`);
    for (let i = 0; i < values.length; i++) {
      const batch = batchOf([values[i]!]);
      const source = new Uint8Array(batch.length + 16);
      const skew = i % 8;
      source.set(batch, skew);
      const view = source.subarray(skew, skew + batch.length);
      expect(view.byteOffset % 8).toBe(skew);
      expect((await engine.produce('aligned', 0, view, -1)).errorCode).toBe(KafkaErrorCode.NONE);
    }
    expect(await readAll(engine, 'aligned', 0)).toEqual(values);
  });

  it('given idle shards with nothing pending should still run their timers (retention)', async () => {
    const temp = makeTempDir('engine');
    cleanup = temp.cleanup;
    // An idle shard blocks on its doorbell between requests; its retention timer must fire regardless.
    engine = await startTestEngine(temp.dir, {}, 50);
    const config = { segmentBytes: 4096, retentionBytes: 8192 };
    expect(await engine.createTopic('expiring', 1, config)).toBe(KafkaErrorCode.NONE);
    const value = 'r'.repeat(1000);
    for (let i = 0; i < 40; i++) {
      expect((await engine.produce('expiring', 0, batchOf([value]), 1)).errorCode).toBe(KafkaErrorCode.NONE);
    }
    let logStartOffset = 0;
    for (let attempt = 0; attempt < 100 && logStartOffset === 0; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      logStartOffset = (await engine.describePartitions('expiring'))![0]!.logStartOffset;
    }
    expect(logStartOffset).toBeGreaterThan(0);
  });

  it('answers unknown topics, partitions and bad batches with Kafka error codes', async () => {
    const temp = makeTempDir('engine');
    cleanup = temp.cleanup;
    engine = await startTestEngine(temp.dir);
    await engine.createTopic('t', 1);
    expect((await engine.produce('nope', 0, batchOf(['x']), 1)).errorCode).toBe(
      KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    );
    expect((await engine.produce('t', 3, batchOf(['x']), 1)).errorCode).toBe(
      KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    );
    const corrupt = batchOf(['y']);
    corrupt[corrupt.length - 1]! ^= 0xff;
    expect((await engine.produce('t', 0, corrupt, 1)).errorCode).toBe(KafkaErrorCode.CORRUPT_MESSAGE);
    expect(await engine.createTopic('t', 1)).toBe(KafkaErrorCode.TOPIC_ALREADY_EXISTS);
    expect(await engine.createTopic('bad/name', 1)).toBe(KafkaErrorCode.INVALID_TOPIC_EXCEPTION);
    expect(await engine.createTopic('zero', 0)).toBe(KafkaErrorCode.INVALID_PARTITIONS);
    const fetched = await engine.fetch({
      partitions: [{ topic: 't', partition: 0, offset: 5 as Offset, maxBytes: 1000 }],
      maxWaitMs: 0,
      minBytes: 1,
      maxBytes: 1000,
    });
    expect(fetched.partitions[0]!.errorCode).toBe(KafkaErrorCode.OFFSET_OUT_OF_RANGE);
    expect(await readAll(engine, 't', 0)).toEqual([]);
  });

  it('given a long-poll fetch at the log end when a record is produced should answer with it before maxWaitMs', async () => {
    const temp = makeTempDir('engine');
    cleanup = temp.cleanup;
    engine = await startTestEngine(temp.dir);
    await engine.createTopic('poll', 4);
    const startedMs = Date.now();
    const waiting = engine.fetch({
      partitions: [0, 1, 2, 3].map((partition) => ({
        topic: 'poll',
        partition,
        offset: 0 as Offset,
        maxBytes: 65536,
      })),
      maxWaitMs: 5000,
      minBytes: 1,
      maxBytes: 1 << 20,
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await engine.produce('poll', 2, batchOf(['wake up']), 1);
    const outcome = await waiting;
    expect(Date.now() - startedMs).toBeLessThan(3000);
    const values = outcome.partitions.flatMap((p) =>
      decodeRecordSet(p.records).map((r) => decoder.decode(r.value!)),
    );
    expect(values).toEqual(['wake up']);
  });

  it('given a long-poll fetch and no data should answer empty after maxWaitMs', async () => {
    const temp = makeTempDir('engine');
    cleanup = temp.cleanup;
    engine = await startTestEngine(temp.dir);
    await engine.createTopic('quiet', 2);
    const startedMs = Date.now();
    const outcome = await engine.fetch({
      partitions: [0, 1].map((partition) => ({
        topic: 'quiet',
        partition,
        offset: 0 as Offset,
        maxBytes: 1000,
      })),
      maxWaitMs: 300,
      minBytes: 1,
      maxBytes: 1000,
    });
    expect(Date.now() - startedMs).toBeGreaterThanOrEqual(250);
    for (const part of outcome.partitions) {
      expect(part.errorCode).toBe(KafkaErrorCode.NONE);
      expect(part.records.length).toBe(0);
    }
  });

  it('given a fetch held by its shard when the engine stops should stop at once and answer the fetch', async () => {
    const temp = makeTempDir('engine');
    cleanup = temp.cleanup;
    const stopping = await startTestEngine(temp.dir);
    engine = stopping;
    await stopping.createTopic('held', 1);
    // The shard sleeps on its ring with the event loop running (a held fetch), with no timeout: only the
    // stop message's interrupt can end that wait before the 10 s shutdown timeout would.
    const fetching = stopping.fetch({
      partitions: [{ topic: 'held', partition: 0, offset: 0 as Offset, maxBytes: 1000 }],
      maxWaitMs: 30_000,
      minBytes: 1,
      maxBytes: 1000,
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const startedMs = Date.now();
    await stopping.stop();
    engine = null;
    expect(Date.now() - startedMs).toBeLessThan(3000);
    const outcome = await fetching;
    expect(outcome.partitions).toHaveLength(1);
  });

  it('given a small request ring when producers outrun the shard should queue, finish everything and keep memory bounded', async () => {
    const temp = makeTempDir('engine');
    cleanup = temp.cleanup;
    const KiB = 1024;
    engine = await startTestEngine(temp.dir, {
      ringBytes: 64 * KiB,
      maxRequestBytes: 32 * KiB,
      maxFrameBytes: 32 * KiB,
      fetchMaxBytes: 32 * KiB,
      fsync: 'never',
      topicDefaults: { ...DEFAULT_TOPIC_CONFIG, maxMessageBytes: 32 * KiB },
    });
    await engine.createTopic('flood', 2);
    const value = 'v'.repeat(1000);
    const batch = batchOf(Array.from({ length: 16 }, () => value));
    const heapBeforeBytes = process.memoryUsage().heapUsed;
    let produced = 0;
    // Rounds of 200 concurrent 16 KiB produces against a 64 KiB ring: most wait for ring space.
    for (let round = 0; round < 10; round++) {
      const outcomes = await Promise.all(
        Array.from({ length: 200 }, (_, i) => engine!.produce('flood', i % 2, batch, 1)),
      );
      for (const outcome of outcomes) expect(outcome.errorCode).toBe(KafkaErrorCode.NONE);
      produced += outcomes.length;
    }
    expect(produced).toBe(2000);
    const ends = (await engine.describePartitions('flood'))!.map((p) => p.logEndOffset);
    expect(ends[0]! + ends[1]!).toBe(2000 * 16);
    // 2000 batches of 16 KiB passed through; the acceptor holds at most one round's copies.
    expect(process.memoryUsage().heapUsed - heapBeforeBytes).toBeLessThan(64 * 1024 * 1024);
  });

  it('given a shard killed mid-load should restart it with every acknowledged record intact while the other shard serves', async () => {
    const temp = makeTempDir('engine');
    cleanup = temp.cleanup;
    engine = await startTestEngine(temp.dir, { fsync: 'always' });
    await engine.createTopic('crashy', 8);
    const acked = new Map<number, string[]>();
    for (let p = 0; p < 8; p++) acked.set(p, []);
    let failures = 0;
    const victim = engine.hosts[0]!;
    const load = (async () => {
      for (let i = 0; i < 400; i++) {
        const partition = i % 8;
        const value = `r${i}`;
        const outcome = await engine!.produce('crashy', partition, batchOf([value]), -1);
        if (outcome.errorCode === KafkaErrorCode.NONE) acked.get(partition)!.push(value);
        else {
          expect(outcome.errorCode).toBe(KafkaErrorCode.NOT_LEADER_OR_FOLLOWER);
          failures++;
        }
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 50));
    await victim.killForTest();
    await load;
    // Wait for the restarted shard to be back.
    for (let i = 0; i < 200 && !victim.isReady; i++) await new Promise((resolve) => setTimeout(resolve, 25));
    expect(victim.isReady).toBe(true);
    expect(victim.restarts).toBe(1);
    for (let partition = 0; partition < 8; partition++) {
      const stored = await readAll(engine, 'crashy', partition);
      // Every acknowledged record is there, in order; unacknowledged ones may or may not be.
      const ackedValues = acked.get(partition)!;
      let cursor = 0;
      for (const value of stored) if (value === ackedValues[cursor]) cursor++;
      expect(cursor).toBe(ackedValues.length);
    }
    expect(failures).toBeLessThan(400);
  });

  it('given a graceful stop when restarted on the same data should keep every topic and record', async () => {
    const temp = makeTempDir('engine');
    cleanup = temp.cleanup;
    engine = await startTestEngine(temp.dir, { fsync: 'never' });
    await engine.createTopic('keep', 3);
    for (let i = 0; i < 30; i++) await engine.produce('keep', i % 3, batchOf([`k${i}`]), 1);
    await engine.stop();
    engine = await startTestEngine(temp.dir, { fsync: 'never' });
    expect(engine.describeTopic('keep')?.partitionCount).toBe(3);
    for (let partition = 0; partition < 3; partition++) {
      expect(await readAll(engine, 'keep', partition)).toEqual(
        Array.from({ length: 10 }, (_, j) => `k${j * 3 + partition}`),
      );
    }
    const next = await engine.produce('keep', 0, batchOf(['after']), 1);
    expect(next.baseOffset).toBe(10);
  });

  it('refuses to delete an internal topic', async () => {
    const temp = makeTempDir('engine');
    cleanup = temp.cleanup;
    engine = await startTestEngine(temp.dir);
    expect(await engine.createTopic('__consumer_offsets', 1)).toBe(KafkaErrorCode.NONE);
    expect(await engine.deleteTopic('__consumer_offsets')).toBe(KafkaErrorCode.POLICY_VIOLATION);
    expect(engine.describeTopic('__consumer_offsets')).toBeDefined();
  });

  it('deletes topics with their data, and hands out producer ids that never repeat across restarts', async () => {
    const temp = makeTempDir('engine');
    cleanup = temp.cleanup;
    engine = await startTestEngine(temp.dir);
    await engine.createTopic('doomed', 2);
    await engine.produce('doomed', 0, batchOf(['x']), 1);
    expect(await engine.deleteTopic('doomed')).toBe(KafkaErrorCode.NONE);
    expect(engine.describeTopic('doomed')).toBeUndefined();
    expect(await engine.deleteTopic('doomed')).toBe(KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect(await engine.createTopic('doomed', 1)).toBe(KafkaErrorCode.NONE);
    expect(await readAll(engine, 'doomed', 0)).toEqual([]);
    const ids = [await engine.nextProducerId(), await engine.nextProducerId()];
    await engine.stop();
    engine = await startTestEngine(temp.dir);
    ids.push(await engine.nextProducerId());
    expect(new Set(ids).size).toBe(3);
    expect(ids[2]!).toBeGreaterThan(ids[1]!);
  });

  it('finds offsets by time and the earliest and latest offsets', async () => {
    const temp = makeTempDir('engine');
    cleanup = temp.cleanup;
    engine = await startTestEngine(temp.dir);
    await engine.createTopic('times', 1);
    for (let i = 0; i < 5; i++) {
      await engine.produce(
        'times',
        0,
        buildRecordBatch([{ key: null, value: encoder.encode(`t${i}`), timestampMs: 1_000_000 + i * 1000 }]),
        -1,
      );
    }
    expect((await engine.listOffsets('times', 0, -2)).offset).toBe(0);
    expect((await engine.listOffsets('times', 0, -1)).offset).toBe(5);
    const byTime = await engine.listOffsets('times', 0, 1_002_500);
    expect(byTime.offset).toBe(3);
    expect(byTime.timestampMs).toBe(1_003_000);
    expect((await engine.listOffsets('times', 0, 9_999_999)).offset).toBe(-1);
  });
});
