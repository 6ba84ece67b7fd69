import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_TOPIC_CONFIG } from '../../src/common/broker-config.js';
import { readInt64 } from '../../src/common/offset.js';
import { PartitionTxns } from '../../src/engine/partition-txns.js';
import { applyBatch, rebuildTxnState } from '../../src/engine/txn-state-rebuild.js';
import { BatchHeader } from '../../src/record/batch-header.js';
import { nextBatchBytes } from '../../src/record/batch-walk.js';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { makeTempDir } from '../support/temp-dir.js';

/**
 * SIGKILL with transactions open and aborted: a child process appends plain
 * and transactional batches and markers to a log with tiny segments (so
 * `.txnindex` files are written at every roll) and is killed at random
 * moments; after each kill the parent reopens the log and checks that the
 * state recovery rebuilds (from the segment files plus a rescan of the
 * active segment) is exactly what a scan of the whole log from offset 0
 * gives: the same open transactions, LSO and aborted-transaction index.
 * The next child then recovers the same directory and goes on.
 */
const child = fileURLToPath(new URL('./txn-crash-child.ts', import.meta.url));
const KILLS = 4;

async function runAndKill(dir: string): Promise<void> {
  const proc = spawn(process.execPath, ['--import', 'tsx', child, dir], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let steps = 0;
  proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    steps += chunk.split('\n').filter((line) => line.startsWith('step')).length;
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const deadline = Date.now() + 20_000;
  while (steps < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(steps, 'the child appended nothing before its deadline').toBeGreaterThan(0);
  await new Promise((resolve) => setTimeout(resolve, Math.random() * 200));
  proc.kill('SIGKILL');
  await exited;
}

/** The transaction state a scan of every batch from the start gives (the model). */
function fullScan(log: PartitionLog): PartitionTxns {
  const txns = new PartitionTxns();
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const chunk = log.read(offset, 1 << 20);
    const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let position = 0;
    while (position < chunk.length) {
      const size = nextBatchBytes(view, position, chunk.length);
      if (size < 0) break;
      const base = readInt64(view, position + BatchHeader.BASE_OFFSET);
      applyBatch(txns, chunk, view, position, size, base);
      offset = base + view.getInt32(position + BatchHeader.LAST_OFFSET_DELTA) + 1;
      position += size;
    }
  }
  return txns;
}

function aborted(txns: PartitionTxns): number[][] {
  const out: number[][] = [];
  txns.collectAborted(0, Number.POSITIVE_INFINITY, (producerId, firstOffset) =>
    out.push([producerId, firstOffset]),
  );
  return out;
}

describe('transaction state across SIGKILL', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  });

  it(`rebuilds the same open transactions, LSO and aborted index as a full scan, across ${KILLS} kills`, async () => {
    const { dir, cleanup } = makeTempDir('txn-crash');
    cleanups.push(cleanup);
    let sawOpen = false;
    let sawAborted = false;
    for (let kill = 0; kill < KILLS; kill++) {
      await runAndKill(dir);
      const log = PartitionLog.open({
        dir,
        config: { ...DEFAULT_TOPIC_CONFIG, segmentBytes: 2048 },
        fsync: 'never',
      });
      try {
        expect(log.segmentCount()).toBeGreaterThan(1);
        const rebuilt = new PartitionTxns();
        rebuildTxnState(rebuilt, log);
        const model = fullScan(log);
        expect([...rebuilt.open]).toEqual([...model.open]);
        expect(rebuilt.lastStableOffset(log.highWatermark)).toBe(model.lastStableOffset(log.highWatermark));
        expect(aborted(rebuilt)).toEqual(aborted(model));
        sawOpen ||= rebuilt.open.size > 0;
        sawAborted ||= rebuilt.abortedCount > 0;
      } finally {
        await log.abandon();
      }
    }
    expect(sawAborted).toBe(true);
    expect(sawOpen).toBe(true);
  }, 120_000);
});
