import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildRecordBatch } from '../src/record/batch-builder.js';
import { appendAlwaysSlices, appendNeverSlices } from './storage-append.js';
import { readFigures } from './storage-read.js';
import { median, pairedRow, spread, TABLE_HEADER } from './storage-stats.js';
import { numberFlag } from './support/flags.js';
import { printTable } from './support/mitata-ratios.js';

/**
 * `npm run bench -- storage`: the partition log against raw file I/O on the
 * same disk, in the same run. Files go to a temp dir under bench/out/ in the
 * project, so on the same file system as ./data; the run removes only that dir.
 *
 * 1. append throughput, fsync=never, 16 KiB and 256 KiB batches of 1 KiB
 *    records, against fs.writeSync of the same bytes at increasing positions
 *    (target ≥ 0.85);
 * 2. fsync=always with 8 appends in flight sharing group commits, against
 *    writes plus fdatasync at the same cadence: 8 writes, one fdatasync,
 *    repeat (target ≥ 0.75);
 * 3. sequential read of 1 GiB from the page cache through the log's read path,
 *    against fs.readSync of the same files in the same 1 MiB requests (target ≥ 0.8);
 * 4. for information, the first read of that data after a clean restart, when
 *    every batch's CRC32C is checked once (no target).
 *
 * Measures 1-3 interleave baseline and log in short slices and print the
 * median of the paired ratios with their 10th-90th percentiles (storage-stats.ts).
 * Flags: --append-mib=N per side and batch size (default 256), --sync-seconds=N per side (default 8),
 * --read-mib=N (default 1024).
 */
const MiB = 1024 * 1024;
const APPEND_SLICE_BYTES = 8 * MiB;
const SYNC_SLICES = 40;
const READ_ROUNDS = 8;
const RESTART_ROUNDS = 3;

function batchOf(bytes: number): Uint8Array {
  const records = Math.max(1, Math.floor(bytes / 1024));
  return buildRecordBatch(
    Array.from({ length: records }, (_, i) => ({ key: null, value: new Uint8Array(1000).fill(i) })),
  );
}

export async function run(args: readonly string[]): Promise<void> {
  const appendBytes = numberFlag(args, 'append-mib', 256) * MiB;
  const syncSeconds = numberFlag(args, 'sync-seconds', 8);
  const readBytes = numberFlag(args, 'read-mib', 1024) * MiB;
  const benchRoot = join(process.cwd(), 'bench', 'out');
  mkdirSync(benchRoot, { recursive: true });
  const dir = mkdtempSync(join(benchRoot, 'storage-'));
  console.log(`disk: ${dir}`);
  const rows = [TABLE_HEADER];
  try {
    for (const batchBytes of [16 * 1024, 256 * 1024]) {
      const sides = await appendNeverSlices(dir, batchOf(batchBytes), appendBytes, APPEND_SLICE_BYTES);
      rows.push(
        pairedRow(`append ${batchBytes / 1024} KiB batches, fsync never vs writeSync`, sides, '>= 0.85', 0),
      );
    }
    const grouped = await appendAlwaysSlices(dir, batchOf(16 * 1024), SYNC_SLICES, syncSeconds / SYNC_SLICES);
    rows.push(
      pairedRow(
        `append 16 KiB, fsync always, 8 in flight (${grouped.appendsPerSync.toFixed(1)} appends/sync) vs 8 writes + fdatasync`,
        grouped,
        '>= 0.75',
        1,
      ),
    );
    const reads = await readFigures(dir, readBytes, READ_ROUNDS, RESTART_ROUNDS);
    rows.push(
      pairedRow(
        `sequential read of ${readBytes / MiB} MiB (page cache), 1 MiB reads vs readSync`,
        reads.warm,
        '>= 0.8',
        0,
      ),
    );
    const rawMedian = median(reads.warm.raw);
    rows.push([
      `first read of the same ${readBytes / MiB} MiB after a clean restart (CRC32C checked) vs readSync`,
      rawMedian.toFixed(0),
      median(reads.afterRestart).toFixed(0),
      (median(reads.afterRestart) / rawMedian).toFixed(2),
      spread(reads.afterRestart.map((mbPerS) => mbPerS / rawMedian)),
      String(reads.afterRestart.length),
      '(none)',
    ]);
    printTable(rows);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
