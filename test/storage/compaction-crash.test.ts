import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_TOPIC_CONFIG } from '../../src/common/broker-config.js';
import { readInt64 } from '../../src/common/offset.js';
import { BatchHeader } from '../../src/record/batch-header.js';
import { decodeBatchRecords } from '../../src/record/batch-reader.js';
import { nextBatchBytes } from '../../src/record/batch-walk.js';
import '../../src/record/compression.js';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { makeTempDir } from '../support/temp-dir.js';

/**
 * SIGKILL during cleaning, with real processes: a child appends keyed records
 * and cleans its compacted log in a loop (writing `.cleaned` files, swapping
 * them in); the parent kills it at a random moment once cleaning is under
 * way, reopens the directory, and checks the log: readable, nothing left
 * half-swapped, every record the one written at its offset, and the latest
 * record of every key still there. The next child carries on in the same
 * directory, so each run also starts from what a kill left.
 */
const child = fileURLToPath(new URL('./compaction-crash-child.ts', import.meta.url));
const KILLS = Number(process.env.PYRALOG_COMPACTION_KILLS ?? 8);
const KEY_COUNT = 7;
const decoder = new TextDecoder();

async function runAndKill(dir: string): Promise<number> {
  const proc = spawn(process.execPath, ['--import', 'tsx', child, dir], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let swaps = 0;
  let cleanedLines = 0;
  proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    for (const line of chunk.split('\n')) {
      if (!line.startsWith('cleaned ')) continue;
      cleanedLines++;
      swaps = Number(line.slice(8));
    }
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const deadline = Date.now() + 20_000;
  while (cleanedLines < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
  await new Promise((resolve) => setTimeout(resolve, Math.random() * 200));
  proc.kill('SIGKILL');
  await exited;
  expect(cleanedLines, 'the child cleaned nothing before its deadline').toBeGreaterThanOrEqual(2);
  return swaps;
}

/** Opens the log as a restart would and checks every promise compaction makes. */
async function checkLog(dir: string): Promise<{ logEnd: number; served: number }> {
  const log = PartitionLog.open({
    dir,
    config: { ...DEFAULT_TOPIC_CONFIG, cleanupPolicy: 'compact' },
    fsync: 'never',
  });
  try {
    expect(readdirSync(dir).filter((name) => name.endsWith('.cleaned'))).toEqual([]);
    // A kill tears no write in the page cache: recovery finds nothing to cut, cleaned segments included.
    expect(log.recoveryProblems).toEqual([]);
    expect(log.logStartOffset).toBe(0);
    const served = new Set<number>();
    let offset = 0;
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
          served.add(record.offset);
        }
        offset =
          readInt64(view, at + BatchHeader.BASE_OFFSET) +
          view.getInt32(at + BatchHeader.LAST_OFFSET_DELTA) +
          1;
        at += sizeBytes;
      }
    }
    // Compaction never removes the latest record of a key.
    for (let key = 0; key < KEY_COUNT; key++) {
      let latest = log.logEndOffset - 1;
      while (latest >= 0 && latest % KEY_COUNT !== key) latest--;
      if (latest >= 0) expect(served.has(latest), `latest record of k${key} at ${latest}`).toBe(true);
    }
    return { logEnd: log.logEndOffset, served: served.size };
  } finally {
    // As a crash leaves it: no clean-shutdown marker, so the next child recovers it as after a kill.
    await log.abandon();
  }
}

describe('compaction crash safety with SIGKILL', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  });

  it(`leaves a readable, correct log when killed while cleaning, ${KILLS} times over`, async () => {
    const { dir, cleanup } = makeTempDir('compaction-crash');
    cleanups.push(cleanup);
    let totalSwaps = 0;
    let last = { logEnd: 0, served: 0 };
    for (let kill = 0; kill < KILLS; kill++) {
      totalSwaps += await runAndKill(dir);
      const now = await checkLog(dir);
      expect(now.logEnd).toBeGreaterThanOrEqual(last.logEnd);
      last = now;
    }
    expect(totalSwaps).toBeGreaterThan(KILLS);
    // Compaction did its job: far fewer records served than written.
    expect(last.served).toBeLessThan(last.logEnd / 2);
  }, 120_000);
});
