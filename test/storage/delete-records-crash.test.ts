import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_TOPIC_CONFIG } from '../../src/common/broker-config.js';
import type { PyralogError } from '../../src/common/errors.js';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { makeTempDir } from '../support/temp-dir.js';

/**
 * DeleteRecords across SIGKILL: a child appends and moves the log start
 * offset in a loop, reporting each move once it returned; the parent kills it
 * at random moments and reopens the log. The start offset is never below the
 * last one reported (a reported move is durable), never past the log end, and
 * reads below it are refused while reads at it succeed.
 */
const child = fileURLToPath(new URL('./delete-records-crash-child.ts', import.meta.url));
const KILLS = 8;

describe('delete records: crash safety with SIGKILL', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  });

  it(`keeps every reported log start offset across ${KILLS} kills`, async () => {
    const { dir, cleanup } = makeTempDir('delete-records-crash');
    cleanups.push(cleanup);
    let reported = 0;
    for (let kill = 0; kill < KILLS; kill++) {
      const proc = spawn(process.execPath, ['--import', 'tsx', child, dir], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let lines = 0;
      let rest = '';
      proc.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        const parts = (rest + chunk).split('\n');
        rest = parts.pop() ?? '';
        for (const line of parts) {
          const match = /^deleted (\d+) end \d+$/.exec(line);
          if (match !== null) {
            reported = Math.max(reported, Number(match[1]));
            lines++;
          }
        }
      });
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      const deadline = Date.now() + 20_000;
      while (lines < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
      expect(lines, 'the child reported too little before its deadline').toBeGreaterThanOrEqual(3);
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 100));
      proc.kill('SIGKILL');
      await exited;

      const log = PartitionLog.open({
        dir,
        config: { ...DEFAULT_TOPIC_CONFIG, segmentBytes: 4096 },
        fsync: 'always',
      });
      try {
        expect(log.logStartOffset).toBeGreaterThanOrEqual(reported);
        expect(log.logStartOffset).toBeLessThanOrEqual(log.logEndOffset);
        if (log.logStartOffset > 0) {
          let code: number | undefined;
          try {
            log.read(log.logStartOffset - 1, 1000);
          } catch (error) {
            code = (error as PyralogError).kafkaCode;
          }
          expect(code).toBe(KafkaErrorCode.OFFSET_OUT_OF_RANGE);
        }
        if (log.logStartOffset < log.logEndOffset)
          expect(log.read(log.logStartOffset, 1000).length).toBeGreaterThan(0);
      } finally {
        await log.close();
      }
    }
    expect(reported).toBeGreaterThan(0);
  }, 120_000);
});
