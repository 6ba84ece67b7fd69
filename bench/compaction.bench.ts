import {
  closeSync,
  fsyncSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_TOPIC_CONFIG } from '../src/common/broker-config.js';
import { buildRecordBatch } from '../src/record/batch-builder.js';
import { cleanSegments } from '../src/storage/log-cleaner.js';
import { PartitionLog } from '../src/storage/partition-log.js';
import { pairedRow, TABLE_HEADER } from './storage-stats.js';
import { numberFlag } from './support/flags.js';
import { printTable } from './support/mitata-ratios.js';

/**
 * `npm run bench -- compaction`: the log cleaner's throughput against raw
 * file I/O on the same disk, in the same run. A compacted partition of
 * `--mib` MiB (default 256) in 16 MiB segments is filled with batches of 16
 * records of 1 KiB, keys drawn at random from `--keys` (default 10,000) keys; then, in
 * alternating pairs, the cleaner cleans every closed segment with no I/O
 * budget (its `.cleaned` output is removed after each run, so each run does
 * the same work), and the baseline reads the same segment files
 * sequentially in 1 MiB requests and writes the same bytes to a new file,
 * fsynced. Figures are source MB per second; the ratio is the cleaner's over
 * the baseline's for each pair (storage-stats.ts). The cleaner reads the
 * segments twice (key map, then filter), decodes every record and writes what
 * it keeps, so it cannot reach the baseline; the figure says how far off it is.
 */
const MiB = 1024 * 1024;
const PAIRS = 5;

export async function run(args: readonly string[]): Promise<void> {
  const totalBytes = numberFlag(args, 'mib', 256) * MiB;
  const keyCount = numberFlag(args, 'keys', 10_000);
  const benchRoot = join(process.cwd(), 'bench', 'out');
  mkdirSync(benchRoot, { recursive: true });
  const root = mkdtempSync(join(benchRoot, 'compaction-'));
  const dir = join(root, 'log');
  console.log(`disk: ${root}`);
  try {
    const log = PartitionLog.open({
      dir,
      config: {
        ...DEFAULT_TOPIC_CONFIG,
        cleanupPolicy: 'compact',
        segmentBytes: 16 * MiB,
        minCleanableDirtyRatio: 0,
        minCompactionLagMs: 0,
      },
      fsync: 'never',
    });
    const value = new Uint8Array(1000).fill(7);
    let sequence = 0;
    // Keys drawn at random (a fixed seed), so every segment holds some superseded records and is rewritten.
    let seed = 0x2545f491;
    const nextKey = (): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) % keyCount;
    };
    while (log.sizeBytes() < totalBytes) {
      const records = Array.from({ length: 16 }, () => {
        sequence++;
        return { key: new TextEncoder().encode(`key-${nextKey()}`), value };
      });
      log.append(buildRecordBatch(records), Date.now());
    }
    await log.flush();
    await new Promise((resolve) => setTimeout(resolve, 200));
    const job = log.planClean(Date.now(), 0);
    if (job === null) throw new Error('nothing to clean');
    const sourceBytes = job.segments.reduce((sum, segment) => sum + segment.sizeBytes, 0);
    console.log(
      `${job.segments.length} closed segments, ${(sourceBytes / MiB).toFixed(0)} MiB, ${keyCount} keys, ${sequence} records`,
    );
    const sides = { raw: [] as number[], log: [] as number[] };
    let keptBytes = 0;
    let writtenBytes = 0;
    for (let pair = 0; pair < PAIRS; pair++) {
      const order = pair % 2 === 0 ? ['raw', 'clean'] : ['clean', 'raw'];
      for (const side of order) {
        const startMs = performance.now();
        if (side === 'raw') {
          rawReadWrite(dir, job.segments, join(root, 'raw-copy'));
          sides.raw.push(sourceBytes / MiB / ((performance.now() - startMs) / 1000));
        } else {
          const outcome = await cleanSegments(job);
          sides.log.push(sourceBytes / MiB / ((performance.now() - startMs) / 1000));
          keptBytes = outcome.segments.reduce((sum, segment) => sum + segment.cleanedSizeBytes, 0);
          writtenBytes = outcome.writtenBytes;
          for (const name of readdirSync(dir)) if (name.endsWith('.cleaned')) rmSync(join(dir, name));
        }
      }
    }
    log.finishClean(null);
    await log.close();
    console.log(
      `the cleaner keeps ${(keptBytes / MiB).toFixed(1)} MiB of ${(sourceBytes / MiB).toFixed(0)} MiB, ` +
        `writing ${(writtenBytes / MiB).toFixed(1)} MiB (segments that lose nothing are not rewritten)`,
    );
    printTable([
      TABLE_HEADER,
      pairedRow(
        `clean ${(sourceBytes / MiB).toFixed(0)} MiB (${keyCount} keys) vs sequential read + write + fsync of the same bytes`,
        sides,
        'none (information)',
        0,
      ),
    ]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** Reads each segment in 1 MiB requests and writes the bytes to `copyPath`, then fsyncs it. */
function rawReadWrite(
  dir: string,
  segments: readonly { baseOffset: number; sizeBytes: number }[],
  copyPath: string,
): void {
  const buffer = new Uint8Array(MiB);
  const out = openSync(copyPath, 'w');
  let written = 0;
  try {
    for (const segment of segments) {
      const fd = openSync(join(dir, `${String(segment.baseOffset).padStart(20, '0')}.log`), 'r');
      try {
        for (let position = 0; position < segment.sizeBytes; ) {
          const got = readSync(fd, buffer, 0, Math.min(MiB, segment.sizeBytes - position), position);
          if (got <= 0) break;
          writeSync(out, buffer, 0, got, written);
          written += got;
          position += got;
        }
      } finally {
        closeSync(fd);
      }
    }
    fsyncSync(out);
  } finally {
    closeSync(out);
    rmSync(copyPath, { force: true });
  }
}
