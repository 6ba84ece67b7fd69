import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_TOPIC_CONFIG } from '../../src/common/broker-config.js';
import { readInt64 } from '../../src/common/offset.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { checkBatch } from '../../src/record/batch-check.js';
import { BatchAttributes, BatchHeader } from '../../src/record/batch-header.js';
import { decodeBatchRecords } from '../../src/record/batch-reader.js';
import { ObeliskSequencer } from '../../src/storage/obelisk-sequencer.js';
import { PartitionLog } from '../../src/storage/partition-log.js';
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
