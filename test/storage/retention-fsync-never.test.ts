import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_TOPIC_CONFIG, type TopicConfig } from '../../src/common/broker-config.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { makeTempDir } from '../support/temp-dir.js';

/**
 * Under `--fsync never` nothing syncs a segment but its roll. Retention and the log cleaner pass over
 * a segment still marked dirty, so the roll's sync must clear the mark; before it did, a broker under
 * `never` kept every segment of a topic forever and never compacted one (found by the cleaner bench).
 */
describe('closed segments under fsync never', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  });

  function openLog(config: Partial<TopicConfig>): PartitionLog {
    const { dir, cleanup } = makeTempDir('retention-never');
    cleanups.push(cleanup);
    return PartitionLog.open({ dir, config: { ...DEFAULT_TOPIC_CONFIG, ...config }, fsync: 'never' });
  }

  const encoder = new TextEncoder();
  const batchOf = (key: string) =>
    buildRecordBatch([{ key: encoder.encode(key), value: new Uint8Array(400) }]);

  it('are deleted by retention.bytes once their roll sync completes', async () => {
    const log = openLog({ segmentBytes: 1024, retentionBytes: 2048 });
    for (let i = 0; i < 30; i++) log.append(batchOf(`k${i}`), Date.now());
    log.writeBuffered();
    await log.rolledSegmentsSynced();
    const segmentsBefore = log.segmentCount();
    expect(segmentsBefore).toBeGreaterThan(8);
    log.enforceRetention(Date.now());
    // What stays: the active segment plus closed ones up to retention.bytes.
    expect(log.segmentCount()).toBeLessThanOrEqual(4);
    expect(log.sizeBytes()).toBeLessThan(2048 + 1024 * 2);
    await log.close();
  });

  it('are handed to the log cleaner of a compacted topic', async () => {
    const log = openLog({
      segmentBytes: 1024,
      cleanupPolicy: 'compact',
      minCleanableDirtyRatio: 0.01,
      minCompactionLagMs: 0,
    });
    for (let i = 0; i < 30; i++) log.append(batchOf(`k${i % 3}`), Date.now() - 1000);
    log.writeBuffered();
    await log.rolledSegmentsSynced();
    const job = log.planClean(Date.now(), 0);
    expect(job?.segments.length).toBeGreaterThan(5);
    log.finishClean(null);
    await log.close();
  });
});
