import { closeSync, openSync, readdirSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_TOPIC_CONFIG } from '../src/common/broker-config.js';
import { buildRecordBatch } from '../src/record/batch-builder.js';
import { PartitionLog } from '../src/storage/partition-log.js';
import type { Sides } from './storage-stats.js';

/**
 * Read measures of the storage benchmark: the whole log read from the page
 * cache through PartitionLog.read, against fs.readSync of its .log files in
 * the same 1 MiB requests, alternating which goes first; and the first read
 * after a clean restart, when each batch's CRC32C is checked once.
 */
const MiB = 1024 * 1024;

/** Reads every `.log` file in `logDir` with readSync in 1 MiB chunks; MB/s. */
function rawRead(logDir: string, buffer: Uint8Array): number {
  let total = 0;
  const startMs = performance.now();
  for (const name of readdirSync(logDir)
    .filter((n) => n.endsWith('.log'))
    .sort()) {
    const fd = openSync(join(logDir, name), 'r');
    let position = 0;
    for (;;) {
      const got = readSync(fd, buffer, 0, buffer.length, position);
      if (got === 0) break;
      position += got;
      total += got;
    }
    closeSync(fd);
  }
  return total / 1e3 / (performance.now() - startMs);
}

/** Reads the whole log from its start with read(offset, 1 MiB), as a consumer would; MB/s. */
function logRead(log: PartitionLog): number {
  let offset = log.logStartOffset;
  let total = 0;
  const startMs = performance.now();
  while (offset < log.logEndOffset) {
    const chunk = log.read(offset, MiB);
    total += chunk.length;
    // The next offset is one past the last batch of the chunk (baseOffset + lastOffsetDelta + 1).
    const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let position = 0;
    let last = offset;
    while (position < chunk.length) {
      last = Number(view.getBigInt64(position)) + view.getInt32(position + 23);
      position += view.getInt32(position + 8) + 12;
    }
    offset = last + 1;
  }
  return total / 1e3 / (performance.now() - startMs);
}

export interface ReadFigures {
  /** Warm reads of data this process appended (its CRCs already known). */
  warm: Sides;
  /** MB/s of the first read after each clean reopen, when every batch's CRC is checked. */
  afterRestart: number[];
}

/** Writes `totalBytes` of 256 KiB batches to a log in `dir`, then measures reads. */
export async function readFigures(
  dir: string,
  totalBytes: number,
  rounds: number,
  restartRounds: number,
): Promise<ReadFigures> {
  const logDir = join(dir, 'log-read');
  const options = { dir: logDir, config: DEFAULT_TOPIC_CONFIG, fsync: 'never' as const };
  const log = PartitionLog.open(options);
  const batch = buildRecordBatch(
    Array.from({ length: 256 }, (_, i) => ({ key: null, value: new Uint8Array(1000).fill(i) })),
  );
  for (let written = 0; written < totalBytes; written += batch.length) log.append(batch, 0);
  const buffer = new Uint8Array(MiB);
  rawRead(logDir, buffer); // warm-up: both sides then read from the page cache
  const warm: Sides = { raw: [], log: [] };
  for (let round = 0; round < rounds; round++) {
    if (round % 2 === 1) warm.log.push(logRead(log));
    warm.raw.push(rawRead(logDir, buffer));
    if (round % 2 === 0) warm.log.push(logRead(log));
  }
  await log.close(); // untimed: the final sync writes back whatever the OS still holds dirty
  const afterRestart: number[] = [];
  for (let round = 0; round < restartRounds; round++) {
    const reopened = PartitionLog.open(options);
    afterRestart.push(logRead(reopened));
    await reopened.close();
  }
  return { warm, afterRestart };
}
