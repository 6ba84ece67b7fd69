import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_TOPIC_CONFIG } from '../../src/common/broker-config.js';
import { readInt64 } from '../../src/common/offset.js';
import { checkBatch } from '../../src/record/batch-check.js';
import { BatchHeader } from '../../src/record/batch-header.js';
import { ObeliskSequencer } from '../../src/storage/obelisk-sequencer.js';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { makeTempDir } from '../support/temp-dir.js';

/**
 * Crash tests with real processes: a child appends (or hands out sequencer
 * values) and reports what is durable; the parent SIGKILLs it at a random
 * moment, reopens what it left, and checks that everything reported is there.
 */
const child = fileURLToPath(new URL('./crash-child.ts', import.meta.url));
const KILLS = 20;

function startChild(mode: string, path: string, onLine: (line: string) => void): ChildProcess {
  const process_ = spawn(process.execPath, ['--import', 'tsx', child, mode, path], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let rest = '';
  process_.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop()!;
    for (const line of lines) onLine(line);
  });
  return process_;
}

/** Lets the child run until it has reported something, then a random extra while, then SIGKILLs it. */
async function runAndKill(mode: string, path: string, onLine: (line: string) => void): Promise<void> {
  let reported = 0;
  const proc = startChild(mode, path, (line) => {
    reported++;
    onLine(line);
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const deadline = Date.now() + 15_000;
  while (reported === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(reported, 'the child reported nothing before its deadline').toBeGreaterThan(0);
  await new Promise((resolve) => setTimeout(resolve, Math.random() * 150));
  proc.kill('SIGKILL');
  await exited;
}

describe('crash safety with SIGKILL', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  });

  it(`keeps every batch reported durable, byte for byte, across ${KILLS} kills`, async () => {
    const { dir, cleanup } = makeTempDir('crash-log');
    cleanups.push(cleanup);
    const durable = new Map<number, number>(); // baseOffset -> crc
    for (let kill = 0; kill < KILLS; kill++) {
      await runAndKill('log', dir, (line) => {
        const [word, base, crc] = line.split(' ');
        if (word === 'durable') durable.set(Number(base), Number(crc));
      });
      const log = PartitionLog.open({ dir, config: DEFAULT_TOPIC_CONFIG, fsync: 'never' });
      // Walk the whole log: offsets contiguous, every CRC good, every durable batch present and unchanged.
      let offset = log.logStartOffset;
      const seen = new Map<number, number>();
      while (offset < log.logEndOffset) {
        const chunk = log.read(offset, 1 << 20);
        const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        let position = 0;
        while (position < chunk.length) {
          const size = checkBatch(chunk, view, position, chunk.length);
          expect(size).toBeGreaterThan(0);
          const baseOffset = readInt64(view, position + BatchHeader.BASE_OFFSET);
          expect(baseOffset).toBe(offset);
          seen.set(baseOffset, view.getUint32(position + BatchHeader.CRC));
          offset = baseOffset + view.getInt32(position + BatchHeader.LAST_OFFSET_DELTA) + 1;
          position += size;
        }
      }
      for (const [baseOffset, crc] of durable) expect(seen.get(baseOffset), `batch ${baseOffset}`).toBe(crc);
      await log.close();
    }
    expect(durable.size).toBeGreaterThan(KILLS);
  }, 120_000);

  it(`never hands out a sequencer value twice across ${KILLS} kills`, async () => {
    const { dir, cleanup } = makeTempDir('crash-seq');
    cleanups.push(cleanup);
    const path = `${dir}/ids.seq`;
    const handedOut = new Set<number>();
    let highest = 0;
    for (let kill = 0; kill < KILLS; kill++) {
      await runAndKill('sequencer', path, (line) => {
        const [first, count] = line.split(' ').map(Number) as [number, number];
        for (let value = first; value < first + count; value++) {
          expect(handedOut.has(value), `value ${value} handed out twice`).toBe(false);
          handedOut.add(value);
          highest = Math.max(highest, value);
        }
      });
      const sequencer = ObeliskSequencer.open(path);
      expect(sequencer.get()).toBeGreaterThanOrEqual(highest);
      sequencer.close();
    }
    expect(handedOut.size).toBeGreaterThan(KILLS);
  }, 120_000);
});
