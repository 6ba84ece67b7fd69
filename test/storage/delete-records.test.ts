import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_TOPIC_CONFIG } from '../../src/common/broker-config.js';
import type { PyralogError } from '../../src/common/errors.js';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { LOG_START_OFFSET_NAME } from '../../src/storage/log-start-offset.js';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { LOG_SUFFIX } from '../../src/storage/segment-files.js';
import { makeTempDir } from '../support/temp-dir.js';

/** DeleteRecords in the partition log: the log start offset moves, is kept durably, and reads honour it. */
describe('partition log: delete records', () => {
  let cleanup = (): void => {};
  afterEach(() => cleanup());
  const tempDir = (): string => {
    const temp = makeTempDir('delete-records');
    cleanup = temp.cleanup;
    return temp.dir;
  };
  // Small segments: ~10 one-record batches of ~170 bytes each.
  const config = { ...DEFAULT_TOPIC_CONFIG, segmentBytes: 2048 };
  const batch = () => buildRecordBatch([{ key: null, value: new Uint8Array(100).fill(7) }]);
  const errorOf = (action: () => unknown): number | undefined => {
    try {
      action();
    } catch (error) {
      return (error as PyralogError).kafkaCode;
    }
    return undefined;
  };
  const segmentFiles = (dir: string) => readdirSync(dir).filter((name) => name.endsWith(LOG_SUFFIX));

  it('given 60 records, when records below 35 are deleted, then reads below 35 are out of range, whole segments below go, and a reopened log keeps 35', async () => {
    const dir = tempDir();
    let log = PartitionLog.open({ dir, config, fsync: 'always' });
    for (let i = 0; i < 60; i++) log.append(batch(), Date.now());
    await log.flush();
    const segmentsBefore = segmentFiles(dir).length;
    expect(segmentsBefore).toBeGreaterThan(3);
    expect(log.deleteRecordsBefore(35)).toBe(35);
    expect(log.logStartOffset).toBe(35);
    expect(errorOf(() => log.read(34, 1000))).toBe(KafkaErrorCode.OFFSET_OUT_OF_RANGE);
    expect(log.read(35, 1000).length).toBeGreaterThan(0);
    expect(segmentFiles(dir).length).toBeLessThan(segmentsBefore);
    // Lower than the current start: nothing changes.
    expect(log.deleteRecordsBefore(10)).toBe(35);
    // Past the high watermark: refused, nothing changes.
    expect(errorOf(() => log.deleteRecordsBefore(61))).toBe(KafkaErrorCode.OFFSET_OUT_OF_RANGE);
    expect(log.logStartOffset).toBe(35);
    await log.close();
    log = PartitionLog.open({ dir, config, fsync: 'always' });
    expect(log.logStartOffset).toBe(35);
    expect(errorOf(() => log.read(34, 1000))).toBe(KafkaErrorCode.OFFSET_OUT_OF_RANGE);
    // Up to the end: every record is gone, appends go on from 60.
    expect(log.deleteRecordsBefore(60)).toBe(60);
    expect(log.append(batch(), Date.now()).baseOffset).toBe(60);
    await log.close();
  });

  it('given a log abandoned without a clean close (a crash), when reopened, then the moved start offset holds and a stray temporary file is ignored', async () => {
    const dir = tempDir();
    let log = PartitionLog.open({ dir, config, fsync: 'always' });
    for (let i = 0; i < 30; i++) log.append(batch(), Date.now());
    await log.flush();
    log.deleteRecordsBefore(14);
    await log.abandon();
    // A crash while writing the next value leaves only the temporary file: the old value stays in force.
    writeFileSync(join(dir, `${LOG_START_OFFSET_NAME}.tmp`), '{"version":1,"logStart');
    log = PartitionLog.open({ dir, config, fsync: 'always' });
    expect(log.logStartOffset).toBe(14);
    expect(existsSync(join(dir, `${LOG_START_OFFSET_NAME}.tmp`))).toBe(false);
    await log.close();
  });

  it('given fsync always, when the asked offset is past what is durable, then it is refused', async () => {
    const log = PartitionLog.open({ dir: tempDir(), config, fsync: 'always' });
    for (let i = 0; i < 5; i++) log.append(batch(), Date.now());
    // Not yet synced: the high watermark is still 0.
    if (log.highWatermark < 5)
      expect(errorOf(() => log.deleteRecordsBefore(5))).toBe(KafkaErrorCode.OFFSET_OUT_OF_RANGE);
    await log.flush();
    expect(log.deleteRecordsBefore(5)).toBe(5);
    await log.close();
  });
});
