import { closeSync, openSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_TOPIC_CONFIG } from '../../src/common/broker-config.js';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import { ReplyWriter } from '../../src/engine/reply-writer.js';
import { Shard } from '../../src/engine/shard.js';
import {
  fillProduceRequest,
  MessageType,
  ProduceReply,
  produceRequestBytes,
} from '../../src/engine/shard-message.js';
import { SHARD_METRICS_BYTES, ShardMetricsWriter } from '../../src/engine/shard-metrics.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { CompressionCodec } from '../../src/record/batch-header.js';
import { buildCompressedBatch } from '../../src/record/compression.js';
import { createRingBuffer, RingReader, type RingRecord, RingWriter } from '../../src/ring/index.js';
import { partitionDir } from '../../src/storage/partition-dirs.js';
import { LOG_SUFFIX, segmentFileName } from '../../src/storage/segment-files.js';
import { makeTempDir } from '../support/temp-dir.js';

/**
 * A shard driven in-process through its rings, as its worker drives it: a
 * burst of produces in one drain is written with one call per partition, and
 * each produce is answered only after that write, with an error if it failed.
 */
const TOPIC_ID = 1;

interface ProduceAnswer {
  correlationId: number;
  errorCode: number;
  baseOffset: number;
}

/**
 * Opens partition 0 and swaps its active segment's descriptor for one opened
 * read-only, so its next write fails (EBADF) and nothing else changes.
 */
function makeWritesFail(shard: Shard, dataDir: string): void {
  const log = shard.lookup(TOPIC_ID, 0)!.log;
  const active = (log as unknown as { active: { fd: number; openFd: number } }).active;
  const writable = active.fd; // creates the file of a log never written
  active.openFd = openSync(
    `${partitionDir(dataDir, TOPIC_ID, 'events', 0)}/${segmentFileName(0, LOG_SUFFIX)}`,
    'r',
  );
  closeSync(writable);
}

function startShard(dataDir: string, config = DEFAULT_TOPIC_CONFIG) {
  const requestRing = createRingBuffer(1 << 20);
  const replyRing = createRingBuffer(1 << 20);
  const shard = new Shard(
    { shardId: 0, dataDir, fsync: 'never', retentionCheckIntervalMs: 60_000 },
    new RingReader(requestRing),
    new ReplyWriter(new RingWriter(replyRing)),
    new ShardMetricsWriter(new SharedArrayBuffer(SHARD_METRICS_BYTES)),
  );
  shard.openPartitions(
    [0, 1].map((partition) => ({
      topicId: TOPIC_ID,
      topicName: 'events',
      partition,
      config,
    })),
  );
  const requests = new RingWriter(requestRing);
  const replies = new RingReader(replyRing);
  let nextCorrelationId = 1;
  return {
    shard,
    /** Puts a PRODUCE into the request ring (published at once) and returns its correlation id. */
    produce(partition: number, batch: Uint8Array, recordsChecked = false): number {
      const correlationId = nextCorrelationId++;
      const p = requests.tryClaim(produceRequestBytes(batch), MessageType.PRODUCE, 0, correlationId);
      fillProduceRequest(requests.bytes, requests.view, p, TOPIC_ID, partition, 1, batch, recordsChecked);
      requests.publish();
      return correlationId;
    },
    /** Every produce answer published so far. */
    answers(): ProduceAnswer[] {
      const record: RingRecord = { type: 0, flags: 0, correlationId: 0, payloadPosition: 0, payloadBytes: 0 };
      const found: ProduceAnswer[] = [];
      while (replies.tryRead(record)) {
        const p = record.payloadPosition;
        found.push({
          correlationId: record.correlationId,
          errorCode: replies.view.getInt16(p + ProduceReply.ERROR_CODE),
          baseOffset: replies.view.getFloat64(p + ProduceReply.BASE_OFFSET),
        });
      }
      replies.release();
      return found;
    },
  };
}

const batchOf = (fill: number): Uint8Array =>
  buildRecordBatch([{ key: null, value: new Uint8Array(100).fill(fill) }]);

describe('shard produce bursts', () => {
  let cleanup = (): void => {};
  afterEach(() => cleanup());
  const tempDir = (): string => {
    const temp = makeTempDir('shard-burst');
    cleanup = temp.cleanup;
    return temp.dir;
  };
  const record: RingRecord = { type: 0, flags: 0, correlationId: 0, payloadPosition: 0, payloadBytes: 0 };

  it('writes a drain of interleaved produces to each partition in order and answers each with its offset', async () => {
    const dataDir = tempDir();
    const shard = startShard(dataDir);
    const sent = [0, 1, 0, 0, 1, 0].map((partition, i) => ({ partition, batch: batchOf(i + 1) }));
    const ids = sent.map(({ partition, batch }) => shard.produce(partition, batch));
    expect(shard.shard.drain(record)).toBe(sent.length);
    expect(shard.answers()).toEqual([
      { correlationId: ids[0], errorCode: 0, baseOffset: 0 },
      { correlationId: ids[1], errorCode: 0, baseOffset: 0 },
      { correlationId: ids[2], errorCode: 0, baseOffset: 1 },
      { correlationId: ids[3], errorCode: 0, baseOffset: 2 },
      { correlationId: ids[4], errorCode: 0, baseOffset: 1 },
      { correlationId: ids[5], errorCode: 0, baseOffset: 3 },
    ]);
    // The files hold each partition's batches back to back (offsets rewritten by the shard).
    for (const partition of [0, 1]) {
      const file = readFileSync(
        `${partitionDir(dataDir, TOPIC_ID, 'events', partition)}/${segmentFileName(0, LOG_SUFFIX)}`,
      );
      const expected = sent.filter((s) => s.partition === partition).map((s) => s.batch);
      expect(file.length).toBe(expected.reduce((sum, batch) => sum + batch.length, 0));
      let at = 0;
      for (const batch of expected) {
        // Past baseOffset and partitionLeaderEpoch (rewritten by the broker) the bytes are the producer's.
        expect(file.subarray(at + 8, at + 12)).toEqual(Buffer.from(batch.subarray(8, 12)));
        expect(file.subarray(at + 16, at + batch.length)).toEqual(Buffer.from(batch.subarray(16)));
        at += batch.length;
      }
    }
    await shard.shard.close();
  });

  it('given a burst whose write fails, answers all of it with KAFKA_STORAGE_ERROR, then refuses the partition', async () => {
    const dataDir = tempDir();
    const shard = startShard(dataDir);
    // The burst's write fails (EBADF), nothing else changes.
    makeWritesFail(shard.shard, dataDir);
    const path = `${partitionDir(dataDir, TOPIC_ID, 'events', 0)}/${segmentFileName(0, LOG_SUFFIX)}`;
    const failing = [shard.produce(0, batchOf(1)), shard.produce(0, batchOf(2))];
    const healthy = shard.produce(1, batchOf(3));
    shard.shard.drain(record);
    expect(shard.answers()).toEqual([
      { correlationId: failing[0], errorCode: KafkaErrorCode.KAFKA_STORAGE_ERROR, baseOffset: -1 },
      { correlationId: failing[1], errorCode: KafkaErrorCode.KAFKA_STORAGE_ERROR, baseOffset: -1 },
      { correlationId: healthy, errorCode: 0, baseOffset: 0 },
    ]);
    const later = shard.produce(0, batchOf(4));
    shard.shard.drain(record);
    expect(shard.answers()).toEqual([
      { correlationId: later, errorCode: KafkaErrorCode.KAFKA_STORAGE_ERROR, baseOffset: -1 },
    ]);
    expect(readFileSync(path).length).toBe(0);
    // The failed log went offline (its files closed without a clean marker), so the stop does not trip on it.
    await shard.shard.close();
    expect([...shard.shard.offline.values()].map((offline) => offline.partition)).toEqual([0]);
  });

  it('given a roll mid-burst whose write of the burst so far fails, answers the earlier produces with errors too', async () => {
    const dataDir = tempDir();
    // Segments of 300 bytes: the second ~170-byte batch rolls the segment, which writes the first one.
    const shard = startShard(dataDir, { ...DEFAULT_TOPIC_CONFIG, segmentBytes: 300 });
    makeWritesFail(shard.shard, dataDir);
    const ids = [shard.produce(0, batchOf(1)), shard.produce(0, batchOf(2))];
    shard.shard.drain(record);
    const answers = shard.answers();
    expect(answers.map((answer) => answer.correlationId).sort()).toEqual(ids);
    expect(answers.map((answer) => answer.errorCode)).toEqual([
      KafkaErrorCode.KAFKA_STORAGE_ERROR,
      KafkaErrorCode.KAFKA_STORAGE_ERROR,
    ]);
    // The failed log went offline (its files closed without a clean marker), so the stop does not trip on it.
    await shard.shard.close();
    expect([...shard.shard.offline.values()].map((offline) => offline.partition)).toEqual([0]);
  });

  it('given a compressed batch that did not pass the batch checker should refuse it with INVALID_RECORD and store nothing', async () => {
    const shard = startShard(tempDir());
    // Claims two records: only the checker (which inflates and counts them) could tell.
    const gzip = buildCompressedBatch(
      [
        { key: null, value: new TextEncoder().encode('a') },
        { key: null, value: new TextEncoder().encode('b') },
      ],
      CompressionCodec.GZIP,
    );
    const unchecked = shard.produce(0, gzip);
    shard.shard.drain(record);
    expect(shard.answers()).toEqual([
      { correlationId: unchecked, errorCode: KafkaErrorCode.INVALID_RECORD, baseOffset: -1 },
    ]);
    expect(shard.shard.lookup(TOPIC_ID, 0)!.log.logEndOffset).toBe(0);
    // The same batch with the checker's mark is appended.
    const checked = shard.produce(0, gzip, true);
    shard.shard.drain(record);
    expect(shard.answers()).toEqual([{ correlationId: checked, errorCode: 0, baseOffset: 0 }]);
    expect(shard.shard.lookup(TOPIC_ID, 0)!.log.logEndOffset).toBe(2);
    await shard.shard.close();
  });
});
