import { existsSync, readdirSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_TOPIC_CONFIG, type TopicConfig } from '../../src/common/broker-config.js';
import { currentThreadId } from '../../src/common/thread-cpu.js';
import { niceOfThread } from '../../src/common/thread-priority.js';
import { LOG_CLEANER_NICE, LogCleanerThread } from '../../src/engine/log-cleaner-thread.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { readAllRecords } from '../support/compacted-log.js';
import { makeTempDir } from '../support/temp-dir.js';

const encoder = new TextEncoder();
const config: TopicConfig = {
  ...DEFAULT_TOPIC_CONFIG,
  cleanupPolicy: 'compact',
  segmentBytes: 1024,
  minCleanableDirtyRatio: 0,
  minCompactionLagMs: 0,
};

describe('the log cleaner thread', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  });

  it('given a job, then it cleans and prepares on its own thread at the lowest priority, hands the indexes over, and finalizes after the commit', async () => {
    const { dir, cleanup } = makeTempDir('cleaner-thread');
    cleanups.push(cleanup);
    const log = PartitionLog.open({ dir, config, fsync: 'never' });
    const thread = new LogCleanerThread();
    const niceBefore = niceOfThread(currentThreadId());
    try {
      for (let i = 0; i < 100; i++) {
        log.append(
          buildRecordBatch([{ key: encoder.encode(`k${i % 3}`), value: encoder.encode(`v${i}`) }]),
          Date.now(),
        );
      }
      await log.flush();
      await new Promise((resolve) => setTimeout(resolve, 30));
      const job = log.planClean(Date.now(), 0)!;
      const report = await thread.run(job);
      expect(report.outcome.swapPrepared).toBe(true);
      const swap = log.commitClean(report.outcome);
      expect(swap.problems).toEqual([]);
      expect(swap.segmentsReplaced).toBeGreaterThan(3);
      expect((await thread.finalize(swap.finalize!)).problems).toEqual([]);
      log.endClean();
      expect(readdirSync(dir).filter((name) => name.endsWith('.cleaned'))).toEqual([]);
      // The latest value of each key, and everything in the active segment.
      const values = readAllRecords(log).map((record) => record.value);
      expect(values).toContain('v99');
      expect(values).toContain('v98');
      expect(values).toContain('v97');
      expect(values).not.toContain('v0');
      if (existsSync('/proc/thread-self')) {
        expect(thread.threadId).toBeGreaterThan(0);
        expect(niceOfThread(thread.threadId)).toBe(LOG_CLEANER_NICE);
        // Only that thread: this one runs at the priority it had.
        expect(niceOfThread(currentThreadId())).toBe(niceBefore);
        expect(niceBefore).toBeLessThan(LOG_CLEANER_NICE);
        expect(report.cpuNs).toBeGreaterThan(0);
      }
    } finally {
      await thread.close();
      await log.close();
    }
  });
});
