import { closeSync, openSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_TOPIC_CONFIG } from '../../src/common/broker-config.js';
import { PyralogError } from '../../src/common/errors.js';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { BatchHeader } from '../../src/record/batch-header.js';
import { crc32c } from '../../src/record/crc32c.js';
import { OFFSET_MAX, PartitionLog, RELATIVE_OFFSET_MAX } from '../../src/storage/partition-log.js';
import { LOG_SUFFIX, segmentFileName } from '../../src/storage/segment-files.js';
import { makeTempDir } from '../support/temp-dir.js';

/** A one-record batch whose header claims `recordCount` records (the log trusts headers; the engine checks them). */
function claiming(recordCount: number): Uint8Array {
  const batch = buildRecordBatch([{ key: null, value: new Uint8Array(8) }]);
  const view = new DataView(batch.buffer);
  view.setInt32(BatchHeader.RECORD_COUNT, recordCount);
  view.setInt32(BatchHeader.LAST_OFFSET_DELTA, recordCount - 1);
  view.setUint32(BatchHeader.CRC, crc32c(batch.subarray(BatchHeader.CRC_START)));
  return batch;
}

describe('offset limits of the partition log', () => {
  let cleanup = (): void => {};
  afterEach(() => cleanup());
  const tempDir = (): string => {
    const temp = makeTempDir('offset-limits');
    cleanup = temp.cleanup;
    return temp.dir;
  };
  const segmentCount = (dir: string) => readdirSync(dir).filter((name) => name.endsWith(LOG_SUFFIX)).length;

  it('given batches whose offsets would not fit the index width, then the segment rolls first', async () => {
    const dir = tempDir();
    const log = PartitionLog.open({ dir, config: DEFAULT_TOPIC_CONFIG, fsync: 'never' });
    const big = 2 ** 31 - 1;
    expect(log.append(claiming(big), 1).baseOffset).toBe(0);
    expect(log.append(claiming(big), 1).baseOffset).toBe(big);
    expect(segmentCount(dir)).toBe(1);
    // The third would end at 3 * (2^31 - 1) - 1, past the index's u32 relative offsets.
    expect(3 * big - 1).toBeGreaterThan(RELATIVE_OFFSET_MAX);
    expect(log.append(claiming(big), 1).baseOffset).toBe(2 * big);
    expect(segmentCount(dir)).toBe(2);
    expect(log.read(2 * big, 1 << 20).length).toBeGreaterThan(0);
    await log.close();
  });

  it('given a log near 2^53-1, then a batch that would pass it is refused with POLICY_VIOLATION and nothing moves', async () => {
    const dir = tempDir();
    const base = OFFSET_MAX - 10;
    closeSync(openSync(join(dir, segmentFileName(base, LOG_SUFFIX)), 'w'));
    const log = PartitionLog.open({ dir, config: DEFAULT_TOPIC_CONFIG, fsync: 'never' });
    expect(log.logEndOffset).toBe(base);
    let refused: unknown = null;
    try {
      log.append(claiming(20), 1);
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(PyralogError);
    expect((refused as PyralogError).kafkaCode).toBe(KafkaErrorCode.POLICY_VIOLATION);
    expect((refused as Error).message).toMatch(/2\^53-1/);
    expect(log.logEndOffset).toBe(base);
    expect(log.append(claiming(5), 1).lastOffset).toBe(base + 4);
    expect(log.logEndOffset).toBe(base + 5);
    await log.close();
  });
});
