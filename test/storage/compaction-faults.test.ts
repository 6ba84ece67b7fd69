import { readdirSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_TOPIC_CONFIG, type TopicConfig } from '../../src/common/broker-config.js';
import { readInt64 } from '../../src/common/offset.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { BatchHeader } from '../../src/record/batch-header.js';
import { decodeBatchRecords } from '../../src/record/batch-reader.js';
import { nextBatchBytes } from '../../src/record/batch-walk.js';
import { FaultyStorageIo, parseFaultRules } from '../../src/storage/faulty-storage-io.js';
import { cleanSegments } from '../../src/storage/log-cleaner.js';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { storageIo, useStorageIo } from '../../src/storage/storage-io.js';
import { makeTempDir } from '../support/temp-dir.js';

/**
 * Storage faults (the fault layer behind the I/O seam) while a clean writes
 * its files or swaps them in: the clean fails or half-finishes, and the log
 * stays whole and correct, now and after a reopen; a later clean, without
 * the fault, finishes the job.
 */
const KEY_COUNT = 5;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const config: TopicConfig = {
  ...DEFAULT_TOPIC_CONFIG,
  cleanupPolicy: 'compact',
  segmentBytes: 1024,
  minCleanableDirtyRatio: 0,
  minCompactionLagMs: 0,
};

/** Appends 200 records, key `k<o % 5>` and value `v<o>` at offset o, and waits for the roll syncs. */
async function fill(log: PartitionLog): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const first = log.logEndOffset;
    log.append(
      buildRecordBatch(
        [0, 1].map((r) => ({
          key: encoder.encode(`k${(first + r) % KEY_COUNT}`),
          value: encoder.encode(`v${first + r}`),
        })),
      ),
      Date.now(),
    );
  }
  await log.flush();
  await new Promise((resolve) => setTimeout(resolve, 20));
}

/** The offsets served, after checking each record is the one written there and each key's latest is there. */
function servedOffsets(log: PartitionLog): number[] {
  const served: number[] = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const chunk = log.read(offset, 1 << 20).slice();
    if (chunk.length === 0) break;
    const view = new DataView(chunk.buffer);
    let at = 0;
    for (;;) {
      const sizeBytes = nextBatchBytes(view, at, chunk.length);
      if (sizeBytes < 0) break;
      for (const record of decodeBatchRecords(chunk.subarray(at, at + sizeBytes))) {
        if (record.offset < offset) continue;
        expect(decoder.decode(record.key!)).toBe(`k${record.offset % KEY_COUNT}`);
        expect(decoder.decode(record.value!)).toBe(`v${record.offset}`);
        served.push(record.offset);
      }
      offset =
        readInt64(view, at + BatchHeader.BASE_OFFSET) + view.getInt32(at + BatchHeader.LAST_OFFSET_DELTA) + 1;
      at += sizeBytes;
    }
  }
  for (let key = 0; key < KEY_COUNT; key++) {
    let latest = log.logEndOffset - 1;
    while (latest % KEY_COUNT !== key) latest--;
    expect(served).toContain(latest);
  }
  return served;
}

describe('storage faults during a clean', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  });

  it.each([
    ['a torn write of a cleaned log', 'op=write,code=ENOSPC,path=.log.cleaned,torn=100'],
    ['a failed sync of a cleaned log', 'op=sync,code=EIO,path=.log.cleaned'],
    ['a failed rename of the cleaned log (the commit point)', 'op=rename,code=EIO,path=.log.cleaned'],
    [
      'a failed rename of a cleaned time index, after the commit',
      'op=rename,code=EIO,path=.timeindex.cleaned',
    ],
    ['a failed rename of a cleaned offset index, after the commit', 'op=rename,code=EIO,path=.index.cleaned'],
    ['a failed directory sync in the swap', 'op=sync,code=EIO,path=compaction-faults,after=2'],
  ])(
    'given %s, then the log stays correct, a reopen finds no damage, and a clean without the fault finishes',
    async (_name, spec) => {
      const { dir, cleanup } = makeTempDir('compaction-faults');
      cleanups.push(cleanup);
      let log = PartitionLog.open({ dir, config, fsync: 'never' });
      await fill(log);
      const before = servedOffsets(log);
      const faulty = new FaultyStorageIo(storageIo(), parseFaultRules(spec));
      const restore = useStorageIo(faulty);
      try {
        const job = log.planClean(Date.now(), 0);
        expect(job).not.toBeNull();
        const outcome = await cleanSegments(job!).catch(() => null);
        log.finishClean(outcome);
      } finally {
        restore();
      }
      const during = servedOffsets(log);
      expect(during.length).toBeLessThanOrEqual(before.length);
      await log.abandon();
      log = PartitionLog.open({ dir, config, fsync: 'never' });
      expect(log.recoveryProblems).toEqual([]);
      expect(readdirSync(dir).filter((name) => name.endsWith('.cleaned'))).toEqual([]);
      expect(servedOffsets(log)).toEqual(during);
      // Without the fault a clean finishes: every key's records shrink to the latest ones.
      const job = log.planClean(Date.now(), 0);
      expect(job).not.toBeNull();
      expect(log.finishClean(await cleanSegments(job!)).problems).toEqual([]);
      const after = servedOffsets(log);
      expect(after.length).toBeLessThan(before.length / 4);
      await log.close();
      log = PartitionLog.open({ dir, config, fsync: 'never' });
      expect(servedOffsets(log)).toEqual(after);
      await log.close();
    },
  );
});
