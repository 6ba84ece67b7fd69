import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_TOPIC_CONFIG, type FsyncPolicy } from '../../src/common/broker-config.js';
import { ReplyWriter } from '../../src/engine/reply-writer.js';
import { Shard } from '../../src/engine/shard.js';
import {
  fillProduceRequest,
  MessageType,
  ProduceReply,
  partitionKey,
  produceRequestBytes,
} from '../../src/engine/shard-message.js';
import { SHARD_METRICS_BYTES, ShardMetricsWriter } from '../../src/engine/shard-metrics.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { decodeBatchRecords } from '../../src/record/batch-reader.js';
import { createRingBuffer, RingReader, type RingRecord, RingWriter } from '../../src/ring/index.js';
import { partitionDir } from '../../src/storage/partition-dirs.js';
import { makeTempDir } from '../support/temp-dir.js';

/**
 * Partitions open on first use, and a shard keeps at most its bound of them
 * active: idle ones close their descriptors (or, never written, become
 * dormant again), and serve as before when used again. Busy ones stay.
 */
const TOPIC_ID = 3;
const PARTITIONS = 64;
const MAX_ACTIVE = 16;

function startShard(
  dataDir: string,
  fsync: FsyncPolicy,
  config = DEFAULT_TOPIC_CONFIG,
  retentionCheckIntervalMs = 60_000,
) {
  const requestRing = createRingBuffer(1 << 20);
  const replyRing = createRingBuffer(1 << 20);
  const shard = new Shard(
    { shardId: 0, dataDir, fsync, retentionCheckIntervalMs, maxActivePartitions: MAX_ACTIVE },
    new RingReader(requestRing),
    new ReplyWriter(new RingWriter(replyRing)),
    new ShardMetricsWriter(new SharedArrayBuffer(SHARD_METRICS_BYTES)),
  );
  shard.openPartitions(
    Array.from({ length: PARTITIONS }, (_, partition) => ({
      topicId: TOPIC_ID,
      topicName: 'wide',
      partition,
      config,
    })),
  );
  const requests = new RingWriter(requestRing);
  const replies = new RingReader(replyRing);
  const record: RingRecord = { type: 0, flags: 0, correlationId: 0, payloadPosition: 0, payloadBytes: 0 };
  return {
    shard,
    /** Produces one batch to each partition (acks=1) and returns their base offsets. */
    produceToAll(fill: number): number[] {
      for (let partition = 0; partition < PARTITIONS; partition++) {
        const batch = buildRecordBatch([{ key: null, value: new Uint8Array(50).fill(fill) }]);
        const p = requests.tryClaim(produceRequestBytes(batch), MessageType.PRODUCE, 0, partition);
        fillProduceRequest(requests.bytes, requests.view, p, TOPIC_ID, partition, 1, batch);
        requests.publish();
        shard.drain(record);
      }
      const baseOffsets: number[] = [];
      while (replies.tryRead(record)) {
        expect(replies.view.getInt16(record.payloadPosition + ProduceReply.ERROR_CODE)).toBe(0);
        baseOffsets[record.correlationId] = replies.view.getFloat64(
          record.payloadPosition + ProduceReply.BASE_OFFSET,
        );
      }
      replies.release();
      return baseOffsets;
    },
  };
}

/** Lets the shard's passes (setImmediate, then 100 ms retries) run until `done`, for at most 5 s. */
async function until(done: () => boolean): Promise<void> {
  const deadlineMs = Date.now() + 5000;
  while (!done() && Date.now() < deadlineMs) await new Promise((resolve) => setTimeout(resolve, 20));
}

function openDescriptors(shard: Shard): number {
  let count = 0;
  for (const partition of shard.partitions.values()) count += partition.log.openFileCount();
  return count;
}

describe('open partition files', () => {
  let cleanup = (): void => {};
  afterEach(() => cleanup());
  const tempDir = (): string => {
    const temp = makeTempDir('open-files');
    cleanup = temp.cleanup;
    return temp.dir;
  };

  it('given more partitions written than the bound should close the idle ones, which then serve and append as before', async () => {
    const dataDir = tempDir();
    // fsync never: an idle partition holds unsynced appends, so it is first synced, then parked.
    const { shard, produceToAll } = startShard(dataDir, 'never');
    expect(shard.dormantPartitionCount).toBe(PARTITIONS);
    expect(produceToAll(1)).toEqual(Array(PARTITIONS).fill(0));
    expect(shard.activePartitionCount).toBe(PARTITIONS);
    await until(() => shard.activePartitionCount <= MAX_ACTIVE);
    expect(shard.activePartitionCount).toBeLessThanOrEqual(MAX_ACTIVE);
    expect(openDescriptors(shard)).toBeLessThanOrEqual(MAX_ACTIVE);
    // Used again, each reopens its file: appends follow on and reads return what was written.
    expect(produceToAll(2)).toEqual(Array(PARTITIONS).fill(1));
    for (let partition = 0; partition < PARTITIONS; partition++) {
      const log = shard.lookup(TOPIC_ID, partition)!.log;
      const fills = [0, 1].map((offset) => decodeBatchRecords(log.read(offset, 1))[0]?.value?.[0]);
      expect(fills).toEqual([1, 2]);
    }
    await until(() => shard.activePartitionCount <= MAX_ACTIVE);
    await shard.close();
    // Closed cleanly, parked or not: a new shard recovers every partition without a problem.
    const reopened = startShard(dataDir, 'never');
    expect(reopened.produceToAll(3)).toEqual(Array(PARTITIONS).fill(2));
    expect(reopened.shard.lookup(TOPIC_ID, 5)!.log.recoveryProblems).toEqual([]);
    await reopened.shard.close();
  });

  it('given a partition a fetch waits on should keep it active while older idle ones go', async () => {
    const dataDir = tempDir();
    const { shard, produceToAll } = startShard(dataDir, 'always');
    produceToAll(1);
    // Partition 0 is the least recently used, but a held fetch watches it.
    shard.lookup(TOPIC_ID, 0)!.waiters.add({ onAppend: () => undefined });
    for (let partition = 1; partition < PARTITIONS; partition++) shard.lookup(TOPIC_ID, partition);
    await until(() => shard.activePartitionCount <= MAX_ACTIVE);
    expect(shard.partitions.get(partitionKey(TOPIC_ID, 0))!.active).toBe(true);
    expect(shard.partitions.get(partitionKey(TOPIC_ID, 0))!.log.openFileCount()).toBe(1);
    expect(shard.partitions.get(partitionKey(TOPIC_ID, 1))!.active).toBe(false);
    expect(shard.partitions.get(partitionKey(TOPIC_ID, 1))!.log.openFileCount()).toBe(0);
    shard.partitions.get(partitionKey(TOPIC_ID, 0))!.waiters.clear();
    await shard.close();
  });

  it('given partitions looked up but never written should make them dormant again and create no files', async () => {
    const dataDir = tempDir();
    const { shard } = startShard(dataDir, 'always');
    for (let partition = 0; partition < PARTITIONS; partition++) {
      expect(shard.lookup(TOPIC_ID, partition)!.log.logEndOffset).toBe(0);
    }
    expect(shard.partitions.size).toBe(PARTITIONS);
    await until(() => shard.activePartitionCount <= MAX_ACTIVE);
    expect(shard.partitions.size).toBeLessThanOrEqual(MAX_ACTIVE);
    expect(shard.dormantPartitionCount + shard.partitions.size).toBe(PARTITIONS);
    for (let partition = 0; partition < PARTITIONS; partition++) {
      expect(existsSync(partitionDir(dataDir, TOPIC_ID, 'wide', partition))).toBe(false);
    }
    await shard.close();
  });

  it('given dormant partitions with expired segments should open them from the retention timer and delete those', async () => {
    const dataDir = tempDir();
    // Segments of 300 bytes: each ~130-byte batch pair fills one; retention.ms 1 expires them at once.
    const config = { ...DEFAULT_TOPIC_CONFIG, segmentBytes: 300, retentionMs: 1 };
    const first = startShard(dataDir, 'always', config);
    for (let round = 0; round < 4; round++) first.produceToAll(round);
    await first.shard.close();
    const second = startShard(dataDir, 'always', config, 20);
    expect(second.shard.dormantPartitionCount).toBe(PARTITIONS);
    // No request names them: the retention timer's sweep opens those with files, in turns.
    await until(() => second.shard.partitions.size === PARTITIONS);
    expect(second.shard.partitions.size).toBe(PARTITIONS);
    await until(() =>
      [...second.shard.partitions.values()].every((partition) => partition.log.logStartOffset > 0),
    );
    const starts = [...second.shard.partitions.values()].map((partition) => partition.log.logStartOffset);
    expect(starts).toHaveLength(PARTITIONS);
    expect(starts.every((start) => start > 0)).toBe(true);
    await second.shard.close();
  });
});
