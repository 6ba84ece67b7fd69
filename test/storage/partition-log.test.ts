import { closeSync, existsSync, openSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_TOPIC_CONFIG } from '../../src/common/broker-config.js';
import type { PyralogError } from '../../src/common/errors.js';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import { readInt64 } from '../../src/common/offset.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { checkBatch } from '../../src/record/batch-check.js';
import { BatchAttributes, BatchHeader } from '../../src/record/batch-header.js';
import { decodeBatchRecords } from '../../src/record/batch-reader.js';
import { ObeliskSequencer } from '../../src/storage/obelisk-sequencer.js';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { LOG_SUFFIX, segmentFileName } from '../../src/storage/segment-files.js';
import { makeTempDir } from '../support/temp-dir.js';

const value = (bytes: number, fill = 1): Uint8Array => new Uint8Array(bytes).fill(fill);

describe('partition log', () => {
  let cleanup = (): void => {};
  afterEach(() => cleanup());
  const tempDir = (): string => {
    const temp = makeTempDir('log');
    cleanup = temp.cleanup;
    return temp.dir;
  };

  it('given a LogAppendTime topic, when a batch is appended, then it carries the append time and a valid CRC', async () => {
    const log = PartitionLog.open({
      dir: tempDir(),
      config: { ...DEFAULT_TOPIC_CONFIG, timestampType: 'LogAppendTime' },
      fsync: 'never',
    });
    const result = log.append(buildRecordBatch([{ key: null, value: value(10), timestampMs: 5 }]), 123_456);
    expect(result.logAppendTimeMs).toBe(123_456);
    const stored = log.read(0, 1000);
    const view = new DataView(stored.buffer, stored.byteOffset, stored.byteLength);
    expect(checkBatch(stored, view, 0, stored.length)).toBe(stored.length);
    expect(view.getInt16(BatchHeader.ATTRIBUTES) & BatchAttributes.TIMESTAMP_TYPE_LOG_APPEND).not.toBe(0);
    expect(decodeBatchRecords(stored)[0]?.timestampMs).toBe(123_456);
    await log.close();
  });

  it('given fsync always, when appends arrive while a sync runs, then they share syncs and become durable in order', async () => {
    const log = PartitionLog.open({ dir: tempDir(), config: DEFAULT_TOPIC_CONFIG, fsync: 'always' });
    const durableSeen: number[] = [];
    log.onDurable = () => durableSeen.push(log.durableOffset);
    for (let i = 0; i < 50; i++) log.append(buildRecordBatch([{ key: null, value: value(100) }]), 1);
    expect(log.durableOffset).toBeLessThan(50);
    await log.flush();
    expect(log.durableOffset).toBe(50);
    expect(log.syncCount).toBeLessThan(50);
    expect(durableSeen).toEqual([...durableSeen].sort((a, b) => a - b));
    expect(durableSeen.at(-1)).toBe(50);
    await log.close();
  });

  it('given fsync always, when a burst of appends is made in one go, then one sync covers the whole burst', async () => {
    const log = PartitionLog.open({ dir: tempDir(), config: DEFAULT_TOPIC_CONFIG, fsync: 'always' });
    const durableSeen: number[] = [];
    log.onDurable = () => durableSeen.push(log.durableOffset);
    // A shard appends every ring record of a drain synchronously; the sync starts after the burst.
    for (let i = 0; i < 20; i++) log.append(buildRecordBatch([{ key: null, value: value(100) }]), 1);
    for (let attempt = 0; attempt < 500 && log.durableOffset < 20; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    expect(log.durableOffset).toBe(20);
    expect(log.syncCount).toBe(1);
    expect(durableSeen).toEqual([20]);
    await log.close();
  });

  it('given fsync never, then every append is durable at once as far as the policy goes', async () => {
    const log = PartitionLog.open({ dir: tempDir(), config: DEFAULT_TOPIC_CONFIG, fsync: 'never' });
    log.append(buildRecordBatch([{ key: null, value: value(10) }]), 1);
    expect(log.durableOffset).toBe(1);
    await log.close();
  });

  it('given fsync every 20 ms, then appends become durable on the timer', async () => {
    const log = PartitionLog.open({
      dir: tempDir(),
      config: DEFAULT_TOPIC_CONFIG,
      fsync: { intervalMs: 20 },
    });
    log.append(buildRecordBatch([{ key: null, value: value(10) }]), 1);
    expect(log.durableOffset).toBe(0);
    const deadline = Date.now() + 2000;
    while (log.durableOffset < 1 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 5));
    expect(log.durableOffset).toBe(1);
    await log.close();
  });

  it('returns the whole batch holding an offset even when it starts below it, and a first batch larger than maxBytes (KIP-74)', async () => {
    const log = PartitionLog.open({ dir: tempDir(), config: DEFAULT_TOPIC_CONFIG, fsync: 'never' });
    log.append(buildRecordBatch(Array.from({ length: 5 }, () => ({ key: null, value: value(500) }))), 1);
    log.append(buildRecordBatch([{ key: null, value: value(500) }]), 1);
    const chunk = log.read(3, 10);
    expect(readInt64(new DataView(chunk.buffer, chunk.byteOffset), 0)).toBe(0);
    expect(decodeBatchRecords(chunk).map((r) => r.offset)).toEqual([0, 1, 2, 3, 4]);
    expect(log.read(5, 1).length).toBeGreaterThan(500);
    expect(log.read(6, 100).length).toBe(0);
    await log.close();
  });

  it('reopens after a clean close with the same offsets, without recovery problems', async () => {
    const dir = tempDir();
    let log = PartitionLog.open({
      dir,
      config: { ...DEFAULT_TOPIC_CONFIG, segmentBytes: 2048 },
      fsync: 'always',
    });
    for (let i = 0; i < 20; i++) log.append(buildRecordBatch([{ key: null, value: value(300, i) }]), 1);
    await log.close();
    log = PartitionLog.open({
      dir,
      config: { ...DEFAULT_TOPIC_CONFIG, segmentBytes: 2048 },
      fsync: 'always',
    });
    expect(log.recoveryProblems).toEqual([]);
    expect(log.logEndOffset).toBe(20);
    expect(log.segmentCount()).toBeGreaterThan(3);
    expect(decodeBatchRecords(log.read(13, 1))[0]?.value?.[0]).toBe(13);
    await log.close();
  });

  it('given buffered appends, then offsets advance at once but the file grows only at writeBuffered, in one piece', async () => {
    const dir = tempDir();
    const log = PartitionLog.open({ dir, config: DEFAULT_TOPIC_CONFIG, fsync: 'never' });
    const batches = [1, 2, 3].map((fill) => buildRecordBatch([{ key: null, value: value(200, fill) }]));
    const baseOffsets = batches.map((batch) => log.appendBuffered(batch, 1).baseOffset);
    expect(baseOffsets).toEqual([0, 1, 2]);
    expect(log.logEndOffset).toBe(3);
    // A new log creates its directory and first segment only when it first writes.
    const file = join(dir, segmentFileName(0, LOG_SUFFIX));
    expect(existsSync(file)).toBe(false);
    log.writeBuffered();
    const total = batches.reduce((sum, batch) => sum + batch.length, 0);
    expect(statSync(file).size).toBe(total);
    expect(readFileSync(file)).toEqual(Buffer.concat(batches));
    await log.close();
  });

  it('given buffered appends, when the log is read, rolled or synced before writeBuffered, then they are written first', async () => {
    const dir = tempDir();
    const config = { ...DEFAULT_TOPIC_CONFIG, segmentBytes: 1000 };
    const log = PartitionLog.open({ dir, config, fsync: 'always' });
    log.appendBuffered(buildRecordBatch([{ key: null, value: value(300, 7) }]), 1);
    expect(decodeBatchRecords(log.read(0, 1))[0]?.value?.[0]).toBe(7);
    // Three more of ~370 bytes: the second of them rolls the 1000-byte segment while the first is buffered.
    for (const fill of [8, 9, 10])
      log.appendBuffered(buildRecordBatch([{ key: null, value: value(300, fill) }]), 1);
    expect(log.segmentCount()).toBe(2);
    await log.flush();
    expect(log.durableOffset).toBe(4);
    await log.close();
    const reopened = PartitionLog.open({ dir, config, fsync: 'always' });
    expect(reopened.recoveryProblems).toEqual([]);
    const fills = [0, 1, 2, 3].map((offset) => decodeBatchRecords(reopened.read(offset, 1))[0]?.value?.[0]);
    expect(fills).toEqual([7, 8, 9, 10]);
    await reopened.close();
  });

  it('given a buffered write that fails, then it reports KAFKA_STORAGE_ERROR and the log takes no more appends', async () => {
    const dir = tempDir();
    const log = PartitionLog.open({ dir, config: DEFAULT_TOPIC_CONFIG, fsync: 'never' });
    log.append(buildRecordBatch([{ key: null, value: value(50) }]), 1);
    log.appendBuffered(buildRecordBatch([{ key: null, value: value(50) }]), 1);
    // Pull the file out from under the log: its next write fails (EBADF).
    const active = (log as unknown as { active: { fd: number; openFd: number } }).active;
    closeSync(active.fd);
    const codeOf = (action: () => unknown): number | undefined => {
      try {
        action();
      } catch (error) {
        return (error as PyralogError).kafkaCode;
      }
      return undefined;
    };
    expect(codeOf(() => log.writeBuffered())).toBe(KafkaErrorCode.KAFKA_STORAGE_ERROR);
    expect(codeOf(() => log.assertWritable())).toBe(KafkaErrorCode.KAFKA_STORAGE_ERROR);
    expect(codeOf(() => log.append(buildRecordBatch([{ key: null, value: value(5) }]), 1))).toBe(
      KafkaErrorCode.KAFKA_STORAGE_ERROR,
    );
    expect(codeOf(() => log.appendBuffered(buildRecordBatch([{ key: null, value: value(5) }]), 1))).toBe(
      KafkaErrorCode.KAFKA_STORAGE_ERROR,
    );
    active.openFd = openSync(join(dir, segmentFileName(0, LOG_SUFFIX)), 'r+');
    await log.destroy();
  });
});

describe('Obelisk sequencer', () => {
  let cleanup = (): void => {};
  afterEach(() => cleanup());

  it('hands out increasing values, the first of n, and never goes back after reopening', () => {
    const temp = makeTempDir('seq');
    cleanup = temp.cleanup;
    const path = `${temp.dir}/ids.seq`;
    let sequencer = ObeliskSequencer.open(path);
    expect(sequencer.get()).toBe(0);
    expect(sequencer.next()).toBe(1);
    expect(sequencer.next(10)).toBe(2);
    expect(sequencer.get()).toBe(11);
    sequencer.close();
    sequencer = ObeliskSequencer.open(path);
    expect(sequencer.get()).toBeGreaterThanOrEqual(11);
    expect(sequencer.next()).toBeGreaterThan(11);
    sequencer.close();
  });
});
