import { statSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_TOPIC_CONFIG } from '../../src/common/broker-config.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { LOG_SUFFIX, segmentPath } from '../../src/storage/segment-files.js';
import { makeTempDir } from '../support/temp-dir.js';

const batchOf = (records: number): Uint8Array =>
  buildRecordBatch(
    Array.from({ length: records }, () => ({ key: null, value: new Uint8Array(100).fill(7) })),
  );

/** What a partition log tells a reader outside its shard about where offsets lie (SQL's segment reads). */
describe('readable extents', () => {
  let cleanup = (): void => {};
  afterEach(() => cleanup());
  const tempDir = (): string => {
    const temp = makeTempDir('extents');
    cleanup = temp.cleanup;
    return temp.dir;
  };

  it('given appends not yet durable under fsync always, the extent should end at the high watermark', async () => {
    const dir = tempDir();
    const log = PartitionLog.open({ dir, config: DEFAULT_TOPIC_CONFIG, fsync: 'always' });
    for (let i = 0; i < 10; i++) log.append(batchOf(10), 1);
    await log.flush();
    const durableEnd = log.sizeBytes();
    for (let i = 0; i < 10; i++) log.append(batchOf(10), 1);
    // Appended (in the file) but not synced: not under the high watermark, so never named to a reader.
    expect(log.highWatermark).toBe(100);
    expect(log.logEndOffset).toBe(200);
    const [extent] = log.readableExtents(0, 200, 16)!;
    expect(extent).toMatchObject({ baseOffset: 0, startPosition: 0, endPosition: durableEnd });
    expect(statSync(segmentPath(dir, 0, LOG_SUFFIX)).size).toBeGreaterThan(durableEnd);
    await log.flush();
    expect(log.readableExtents(0, 200, 16)![0]!.endPosition).toBe(log.sizeBytes());
    await log.close();
  });

  it('given an end inside a batch, the extent should end after that batch, and one at a batch start before it', async () => {
    const log = PartitionLog.open({ dir: tempDir(), config: DEFAULT_TOPIC_CONFIG, fsync: 'never' });
    for (let i = 0; i < 10; i++) log.append(batchOf(10), 1);
    const batchBytes = log.sizeBytes() / 10;
    expect(log.readableExtents(0, 35, 16)![0]!.endPosition).toBe(4 * batchBytes);
    expect(log.readableExtents(0, 40, 16)![0]!.endPosition).toBe(4 * batchBytes);
    expect(log.readableExtents(0, 41, 16)![0]!.endPosition).toBe(5 * batchBytes);
    await log.close();
  });

  it('given several segments, should name each one holding the range, with its file identity', async () => {
    const dir = tempDir();
    const log = PartitionLog.open({
      dir,
      config: { ...DEFAULT_TOPIC_CONFIG, segmentBytes: 4 * 1024 },
      fsync: 'never',
    });
    for (let i = 0; i < 40; i++) log.append(batchOf(10), 1);
    const extents = log.readableExtents(150, 250, 16)!;
    expect(extents.length).toBeGreaterThan(1);
    expect(extents[0]!.baseOffset).toBeLessThanOrEqual(150);
    expect(extents.at(-1)!.nextOffset).toBeGreaterThanOrEqual(250);
    for (const extent of extents) {
      const stat = statSync(segmentPath(dir, extent.baseOffset, LOG_SUFFIX));
      expect({ device: extent.device, inode: extent.inode }).toEqual({ device: stat.dev, inode: stat.ino });
      expect(extent.verifiedBytes).toBe(stat.size);
    }
    expect(log.readableExtents(0, 400, 2)).toHaveLength(2);
    await log.close();
  });
});
