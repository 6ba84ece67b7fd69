import { closeSync, openSync, readSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { DEFAULT_TOPIC_CONFIG } from '../../src/common/broker-config.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { BatchHeader } from '../../src/record/batch-header.js';
import { verifyDataDirectory } from '../../src/storage/log-verifier.js';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { makeTempDir } from '../support/temp-dir.js';

/**
 * `pyralog verify --data DIR` against a data directory damaged while the
 * broker was down: it names every damaged batch (file and byte range), goes
 * on past damage, flags index files that disagree with their log, and exits
 * 1; on an undamaged directory it exits 0.
 */
const config = { ...DEFAULT_TOPIC_CONFIG, segmentBytes: 4 * 1024 };

async function fill(dir: string, batches: number): Promise<number[]> {
  const log = PartitionLog.open({ dir, config, fsync: 'never' });
  const positions: number[] = [];
  for (let i = 0; i < batches; i++) {
    const before = log.sizeBytes();
    log.append(buildRecordBatch([{ key: null, value: new Uint8Array(300).fill(i) }]), 1_000 + i);
    positions.push(before);
  }
  await log.close();
  return positions;
}

function patch(path: string, position: number, change: (byte: number) => number): void {
  const fd = openSync(path, 'r+');
  const byte = new Uint8Array(1);
  readSync(fd, byte, 0, 1, position);
  byte[0] = change(byte[0]!);
  writeSync(fd, byte, 0, 1, position);
  closeSync(fd);
}

describe('pyralog verify', () => {
  let cleanup = (): void => {};
  afterEach(() => {
    vi.restoreAllMocks();
    cleanup();
  });

  async function run(argv: string[]): Promise<{ code: number; out: string }> {
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((line: unknown) => {
      lines.push(String(line));
    });
    vi.spyOn(console, 'error').mockImplementation((line: unknown) => {
      lines.push(String(line));
    });
    const code = await main(argv);
    vi.restoreAllMocks();
    return { code, out: lines.join('\n') };
  }

  it('given an undamaged data directory, then it reports no damage and exits 0', async () => {
    const temp = makeTempDir('verify-clean');
    cleanup = temp.cleanup;
    await fill(join(temp.dir, 'orders-0'), 20);
    await fill(join(temp.dir, 'orders-1'), 5);
    const { code, out } = await run(['verify', '--data', temp.dir]);
    expect(code).toBe(0);
    expect(out).toContain('2 partitions');
    expect(out).toContain('25 valid batches');
    expect(out).toContain('no damage found');
  });

  it('given flipped bytes in two batches, a broken length and a garbage index, then it names each and exits 1', async () => {
    const temp = makeTempDir('verify-damaged');
    cleanup = temp.cleanup;
    const dir = join(temp.dir, 'orders-0');
    const positions = await fill(dir, 30);
    const firstLog = join(dir, '00000000000000000000.log');
    // Batches 2 and 5 of the first segment: a flipped record byte each (CRC32C mismatch).
    patch(firstLog, positions[2]! + 100, (byte) => byte ^ 0x40);
    patch(firstLog, positions[5]! + 100, (byte) => byte ^ 0x40);
    // Batch 8: its length made absurd; the checker must resynchronise after it.
    patch(firstLog, positions[8]! + BatchHeader.BATCH_LENGTH, () => 0x7f);
    writeFileSync(join(dir, '00000000000000000000.index'), new Uint8Array([1, 2, 3]));

    const report = verifyDataDirectory(temp.dir);
    const inFirstLog = report.damage.filter((damage) => damage.path === firstLog);
    expect(inFirstLog.map((damage) => damage.fromByte)).toEqual([positions[2], positions[5], positions[8]]);
    expect(inFirstLog.map((damage) => damage.toByte)).toEqual([positions[3], positions[6], positions[9]]);
    expect(inFirstLog[0]!.problem).toContain('CRC32C mismatch');
    expect(inFirstLog[2]!.problem).toContain('truncated batch'); // its length runs past the end of the file
    expect(report.damage.some((damage) => damage.path.endsWith('.index'))).toBe(true);
    // Everything past the damage was still walked: 30 batches less the 3 damaged.
    expect(report.batches).toBe(27);

    const { code, out } = await run(['verify', '--data', temp.dir]);
    expect(code).toBe(1);
    expect(out).toContain(`${positions[2]}..${positions[3]}`);
    expect(out).toContain('4 damaged');
    const json = await run(['verify', '--data', temp.dir, '--format', 'json']);
    expect(JSON.parse(json.out).damage).toHaveLength(4);
  });

  it('given --help or no --data, then it prints its usage', async () => {
    const help = await run(['verify', '--help']);
    expect(help.code).toBe(0);
    expect(help.out).toContain('pyralog verify');
    expect(help.out).toContain('--data');
    const missing = await run(['verify']);
    expect(missing.code).toBe(2);
    expect(missing.out).toContain('--data DIR is required');
  });
});
