import { describe, expect, it } from 'vitest';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import type { Offset } from '../../src/common/offset.js';
import type { ShardedEngine } from '../../src/engine/sharded-engine.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { BatchHeader, CompressionCodec } from '../../src/record/batch-header.js';
import { decodeRecordSet } from '../../src/record/batch-reader.js';
import { buildCompressedBatch } from '../../src/record/compression.js';
import { crc32c } from '../../src/record/crc32c.js';
import { scopedTestEngines } from '../support/engine-fixture.js';

/**
 * Compressed batches through the real engine (shards on worker threads, the
 * checker threads): their records are counted before they reach a shard,
 * and a partition's batches are appended in the order they were produced,
 * whichever of them needed checking.
 */
const text = new TextEncoder();

function records(values: string[]) {
  return values.map((value) => ({ key: null, value: text.encode(value) }));
}

async function readValues(engine: ShardedEngine, topic: string): Promise<string[]> {
  const outcome = await engine.fetch({
    partitions: [{ topic, partition: 0, offset: 0 as Offset, maxBytes: 4 << 20 }],
    maxWaitMs: 0,
    minBytes: 1,
    maxBytes: 4 << 20,
  });
  return decodeRecordSet(outcome.partitions[0]!.records).map((r) => new TextDecoder().decode(r.value!));
}

describe('compressed produce through the engine', () => {
  const engines = scopedTestEngines('compressed-produce');

  it('given a gzip batch of 2 records claiming 2^31-1, then INVALID_RECORD and the log end does not move', async () => {
    const engine = await engines.start();
    await engine.createTopic('bomb', 1);
    const lying = buildCompressedBatch(records(['a', 'b']), CompressionCodec.GZIP);
    const view = new DataView(lying.buffer);
    view.setInt32(BatchHeader.RECORD_COUNT, 2 ** 31 - 1);
    view.setInt32(BatchHeader.LAST_OFFSET_DELTA, 2 ** 31 - 2);
    view.setUint32(BatchHeader.CRC, crc32c(lying.subarray(BatchHeader.CRC_START)));
    const refused = await engine.produce('bomb', 0, lying, -1);
    expect(refused.errorCode).toBe(KafkaErrorCode.INVALID_RECORD);
    expect(refused.errorMessage).toMatch(/2147483647/);
    expect((await engine.listOffsets('bomb', 0, -1)).offset).toBe(0);
    const good = await engine.produce(
      'bomb',
      0,
      buildCompressedBatch(records(['c']), CompressionCodec.GZIP),
      -1,
    );
    expect(good.errorCode).toBe(KafkaErrorCode.NONE);
    expect(good.baseOffset).toBe(0);
    expect(await readValues(engine, 'bomb')).toEqual(['c']);
  });

  it('given plain and compressed batches produced without waiting, then they are appended in produce order', async () => {
    const engine = await engines.start();
    await engine.createTopic('order', 1);
    const codecs = [
      CompressionCodec.NONE,
      CompressionCodec.GZIP,
      CompressionCodec.NONE,
      CompressionCodec.SNAPPY,
      CompressionCodec.LZ4,
      CompressionCodec.NONE,
      CompressionCodec.ZSTD,
    ];
    const expected: string[] = [];
    const pending = [];
    for (let i = 0; i < 140; i++) {
      const codec = codecs[i % codecs.length]!;
      const values = [`${i}-a`, `${i}-b`];
      expected.push(...values);
      const batch =
        codec === CompressionCodec.NONE
          ? buildRecordBatch(records(values))
          : buildCompressedBatch(records(values), codec);
      pending.push(engine.produce('order', 0, batch, 1));
      // Let some turns of the event loop pass now and then, so checks overlap in different ways.
      if (i % 17 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    const outcomes = await Promise.all(pending);
    expect(outcomes.map((o) => o.errorCode)).toEqual(outcomes.map(() => KafkaErrorCode.NONE));
    expect(outcomes.map((o) => o.baseOffset)).toEqual(outcomes.map((_, i) => i * 2));
    // acks=1 under fsync always: the high watermark (what a fetch sees) moves once a sync covers them.
    expect(await engine.flush()).toBe(KafkaErrorCode.NONE);
    expect(await readValues(engine, 'order')).toEqual(expected);
  });

  it('given CreateTime records outside message.timestamp.before/after.max.ms, then INVALID_TIMESTAMP, plain or compressed', async () => {
    const engine = await engines.start();
    await engine.createTopic('stamped', 1, { timestampBeforeMaxMs: 60_000 });
    await engine.createTopic('appended', 1, { timestampType: 'LogAppendTime' });
    const nowMs = Date.now();
    const at = (timestampMs: number, codec: CompressionCodec) => {
      const one = [{ key: null, value: text.encode(`at ${timestampMs}`), timestampMs }];
      return codec === CompressionCodec.NONE ? buildRecordBatch(one) : buildCompressedBatch(one, codec);
    };
    for (const codec of [CompressionCodec.NONE, CompressionCodec.ZSTD]) {
      // Kafka 4's default: at most one hour into the future.
      const future = await engine.produce('stamped', 0, at(nowMs + 2 * 3600_000, codec), -1);
      expect(future.errorCode).toBe(KafkaErrorCode.INVALID_TIMESTAMP);
      expect(future.errorMessage).toMatch(/timestamp/);
      const past = await engine.produce('stamped', 0, at(nowMs - 3600_000, codec), -1);
      expect(past.errorCode).toBe(KafkaErrorCode.INVALID_TIMESTAMP);
      expect((await engine.produce('stamped', 0, at(nowMs - 1000, codec), -1)).errorCode).toBe(
        KafkaErrorCode.NONE,
      );
      // LogAppendTime topics overwrite the timestamp, so any is accepted.
      const overwritten = await engine.produce('appended', 0, at(nowMs + 48 * 3600_000, codec), -1);
      expect(overwritten.errorCode).toBe(KafkaErrorCode.NONE);
    }
    expect((await engine.listOffsets('stamped', 0, -1)).offset).toBe(2);
  });

  it('given a compressed batch being checked, then a plain produce to another partition of the same shard is not held behind it', async () => {
    const engine = await engines.start({ shardCount: 1 });
    await engine.createTopic('slow', 1);
    await engine.createTopic('fast', 1);
    // ~120 MiB of records once inflated (a few KiB compressed): tens of milliseconds on the checker thread.
    const heavy = buildCompressedBatch(
      Array.from({ length: 120 }, () => ({ key: null, value: new Uint8Array(1024 * 1024) })),
      CompressionCodec.ZSTD,
    );
    const order: string[] = [];
    const slow = engine.produce('slow', 0, heavy, 1).then((outcome) => {
      order.push('slow');
      return outcome;
    });
    // The plain produce comes a turn of the event loop later: had the acceptor inflated the heavy batch
    // itself, that turn would wait for it and the heavy batch would reach the shard first.
    await new Promise((resolve) => setImmediate(resolve));
    const fast = engine!.produce('fast', 0, buildRecordBatch(records(['quick'])), 1).then((outcome) => {
      order.push('fast');
      return outcome;
    });
    const [slowOutcome, fastOutcome] = await Promise.all([slow, fast]);
    expect(slowOutcome.errorCode).toBe(KafkaErrorCode.NONE);
    expect(fastOutcome.errorCode).toBe(KafkaErrorCode.NONE);
    expect(order).toEqual(['fast', 'slow']);
  });

  it('given a topic whose compression.type inflates a batch past max.message.bytes, then MESSAGE_TOO_LARGE', async () => {
    const engine = await engines.start();
    await engine.createTopic('plain-only', 1, {
      compressionType: 'uncompressed',
      maxMessageBytes: 64 * 1024,
    });
    const small = buildCompressedBatch(
      Array.from({ length: 8 }, () => ({ key: null, value: new Uint8Array(16 * 1024) })),
      CompressionCodec.GZIP,
    );
    expect(small.length).toBeLessThan(64 * 1024);
    const outcome = await engine.produce('plain-only', 0, small, -1);
    expect(outcome.errorCode).toBe(KafkaErrorCode.MESSAGE_TOO_LARGE);
    // Larger than the shard's ring could carry: refused before it is handed over.
    await engine.createTopic('roomy', 1, {
      compressionType: 'uncompressed',
      maxMessageBytes: 64 * 1024 * 1024,
    });
    const huge = buildCompressedBatch(
      [{ key: null, value: new Uint8Array(8 * 1024 * 1024) }],
      CompressionCodec.GZIP,
    );
    expect((await engine.produce('roomy', 0, huge, -1)).errorCode).toBe(KafkaErrorCode.MESSAGE_TOO_LARGE);
    const fits = buildCompressedBatch(records(['fits']), CompressionCodec.GZIP);
    expect((await engine.produce('plain-only', 0, fits, -1)).errorCode).toBe(KafkaErrorCode.NONE);
    expect(await readValues(engine, 'plain-only')).toEqual(['fits']);
  });
});
