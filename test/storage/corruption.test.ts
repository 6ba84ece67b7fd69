import { closeSync, openSync, readdirSync, readSync, statSync, truncateSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_TOPIC_CONFIG } from '../../src/common/broker-config.js';
import { StorageCorruptionError } from '../../src/common/errors.js';
import { readInt64 } from '../../src/common/offset.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { checkBatch } from '../../src/record/batch-check.js';
import { BatchHeader } from '../../src/record/batch-header.js';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { makeTempDir } from '../support/temp-dir.js';

/**
 * Damage done to the files while the broker is down: flipped bytes and
 * truncation in the active segment, in a closed one, and in the indexes.
 * The log either repairs it (cutting a torn or corrupt tail, rebuilding an
 * index) or reports it, and never serves a batch that fails its CRC.
 */
const config = { ...DEFAULT_TOPIC_CONFIG, segmentBytes: 8 * 1024 };
const BATCHES = 40;

function fill(dir: string): Promise<void> {
  const log = PartitionLog.open({ dir, config, fsync: 'never' });
  for (let i = 0; i < BATCHES; i++) {
    log.append(buildRecordBatch([{ key: null, value: new Uint8Array(600).fill(i) }]), 1_000 + i);
  }
  return log.close();
}

function segmentFiles(dir: string, suffix: string): string[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith(suffix))
    .sort()
    .map((name) => join(dir, name));
}

function flipByte(path: string, position: number): void {
  const fd = openSync(path, 'r+');
  const byte = new Uint8Array(1);
  const readFd = openSync(path, 'r');
  readSync(readFd, byte, 0, 1, position);
  closeSync(readFd);
  byte[0]! ^= 0x5a;
  writeSync(fd, byte, 0, 1, position);
  closeSync(fd);
}

/** Reads the whole log and returns the offsets it served; every served batch must pass its CRC. */
function readAll(log: PartitionLog): { offsets: number[]; errors: unknown[] } {
  const offsets: number[] = [];
  const errors: unknown[] = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    let chunk: Uint8Array;
    try {
      chunk = log.read(offset, 1 << 20);
    } catch (error) {
      errors.push(error);
      offset++;
      continue;
    }
    if (chunk.length === 0) break;
    const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let position = 0;
    while (position < chunk.length) {
      const size = checkBatch(chunk, view, position, chunk.length);
      expect(size, 'a served batch failed its check').toBeGreaterThan(0);
      const base = readInt64(view, position + BatchHeader.BASE_OFFSET);
      offsets.push(base);
      offset = base + 1;
      position += size;
    }
  }
  return { offsets, errors };
}

describe('corrupted partition files', () => {
  let cleanup = (): void => {};
  afterEach(() => cleanup());
  const setup = async (): Promise<string> => {
    const temp = makeTempDir('corrupt');
    cleanup = temp.cleanup;
    await fill(temp.dir);
    return temp.dir;
  };
  const reopenUnclean = (dir: string): PartitionLog => {
    truncateSync(join(dir, 'clean-shutdown'), 0); // an unparseable marker counts as an unclean stop
    return PartitionLog.open({ dir, config, fsync: 'never' });
  };

  it('given a torn active segment, when reopened, then the partial batch is cut off and the rest served', async () => {
    const dir = await setup();
    const active = segmentFiles(dir, '.log').at(-1)!;
    truncateSync(active, statSync(active).size - 100);
    const log = reopenUnclean(dir);
    expect(log.recoveryProblems).toHaveLength(1);
    expect(log.logEndOffset).toBe(BATCHES - 1);
    expect(readAll(log).offsets).toEqual(Array.from({ length: BATCHES - 1 }, (_, i) => i));
    // Appends continue right after the last good batch.
    expect(log.append(buildRecordBatch([{ key: null, value: null }]), 5).baseOffset).toBe(BATCHES - 1);
    await log.close();
  });

  it('given a flipped byte in the active segment, when reopened uncleanly, then the log is cut at that batch', async () => {
    const dir = await setup();
    const active = segmentFiles(dir, '.log').at(-1)!;
    const size = statSync(active).size;
    flipByte(active, size - 300);
    const log = reopenUnclean(dir);
    expect(log.recoveryProblems[0]).toMatch(/CRC32C mismatch/);
    expect(log.logEndOffset).toBe(BATCHES - 1);
    expect(readAll(log).errors).toEqual([]);
    await log.close();
  });

  it('given a flipped byte in a closed segment after a clean stop, then reads stop before the bad batch and report it', async () => {
    const dir = await setup();
    const closed = segmentFiles(dir, '.log')[1]!;
    flipByte(closed, 2000);
    const log = PartitionLog.open({ dir, config, fsync: 'never' });
    const { offsets, errors } = readAll(log);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((error) => error instanceof StorageCorruptionError)).toBe(true);
    // Every other batch is still served.
    expect(offsets.length).toBe(BATCHES - errors.length);
    await log.close();
  });

  it('given a flipped byte in the active segment after a clean stop, when appends follow, then the bad batch is still never served', async () => {
    const dir = await setup();
    const active = segmentFiles(dir, '.log').at(-1)!;
    flipByte(active, 300); // inside the records of the active segment's first batch
    const log = PartitionLog.open({ dir, config, fsync: 'never' });
    // The marker matches, so the segment is not scanned; the append must not vouch for the bytes before it.
    const appended = log.append(buildRecordBatch([{ key: null, value: new Uint8Array(10) }]), 5);
    const { offsets, errors } = readAll(log);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(StorageCorruptionError);
    expect(offsets).toContain(appended.baseOffset);
    expect(offsets.length).toBe(BATCHES);
    await log.close();
  });

  it('given a truncated closed segment, then the log opens, reports it, and serves what is whole', async () => {
    const dir = await setup();
    const closed = segmentFiles(dir, '.log')[0]!;
    truncateSync(closed, statSync(closed).size - 10);
    const log = PartitionLog.open({ dir, config, fsync: 'never' });
    expect(log.recoveryProblems.join()).toMatch(/truncated/);
    const { offsets } = readAll(log);
    expect(offsets.length).toBe(BATCHES - 1);
    expect(log.logEndOffset).toBe(BATCHES);
    await log.close();
  });

  it('given garbage or missing index files, then they are rebuilt and reads still find every offset', async () => {
    const dir = await setup();
    const indexes = segmentFiles(dir, '.index');
    truncateSync(indexes[0]!, 5);
    const fd = openSync(indexes[1]!, 'r+');
    writeSync(fd, new Uint8Array(16).fill(0xff), 0, 16, 0);
    closeSync(fd);
    const log = PartitionLog.open({ dir, config, fsync: 'never' });
    for (let offset = 0; offset < BATCHES; offset++) {
      const chunk = log.read(offset, 1);
      expect(readInt64(new DataView(chunk.buffer, chunk.byteOffset), 0)).toBe(offset);
    }
    await log.close();
  });
});
