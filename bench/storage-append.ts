import { closeSync, fdatasync, fsyncSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_TOPIC_CONFIG } from '../src/common/broker-config.js';
import { PartitionLog } from '../src/storage/partition-log.js';
import type { Sides } from './storage-stats.js';

/**
 * Append measures of the storage benchmark, each against raw file I/O on
 * the same disk, interleaved in short slices (see storage-stats.ts). Both
 * sides keep one file open for the whole measure and write at increasing
 * positions, so neither pays for creating or deleting files while timed.
 */

/** fsync=never appends vs writeSync of the same bytes, in slices of `sliceBytes`. */
export async function appendNeverSlices(
  dir: string,
  batch: Uint8Array,
  totalBytes: number,
  sliceBytes: number,
): Promise<Sides> {
  const rawPath = join(dir, 'raw-append.bin');
  const fd = openSync(rawPath, 'w');
  const log = PartitionLog.open({
    dir: join(dir, 'log-append'),
    config: DEFAULT_TOPIC_CONFIG,
    fsync: 'never',
  });
  const sides: Sides = { raw: [], log: [] };
  let rawPosition = 0;
  const rawSlice = (): void => {
    const startMs = performance.now();
    for (let written = 0; written < sliceBytes; written += batch.length) {
      writeSync(fd, batch, 0, batch.length, rawPosition);
      rawPosition += batch.length;
    }
    sides.raw.push(sliceBytes / 1e3 / (performance.now() - startMs));
  };
  const logSlice = (): void => {
    const startMs = performance.now();
    for (let written = 0; written < sliceBytes; written += batch.length) {
      log.append(batch, 0); // rewrites the offset fields in place, as it does in a ring
    }
    sides.log.push(sliceBytes / 1e3 / (performance.now() - startMs));
  };
  try {
    for (let slice = 0; slice * sliceBytes < totalBytes; slice++) {
      if (slice % 2 === 0) {
        rawSlice();
        logSlice();
      } else {
        logSlice();
        rawSlice();
      }
    }
  } finally {
    // Untimed: write back and drop both, so later measures start with no dirty pages.
    fsyncSync(fd);
    closeSync(fd);
    rmSync(rawPath);
    await log.flush();
    await log.destroy();
  }
  return sides;
}

function fdatasyncAsync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fdatasync(fd, (error) => (error ? reject(error) : resolve())));
}

/** One baseline slice: 8 writes, one fdatasync (awaited), repeated for `seconds`; MB/s. */
async function rawSyncSlice(fd: number, batch: Uint8Array, startPosition: number, seconds: number) {
  const startMs = performance.now();
  const endMs = startMs + seconds * 1000;
  let position = startPosition;
  while (performance.now() < endMs) {
    for (let i = 0; i < 8; i++) {
      writeSync(fd, batch, 0, batch.length, position);
      position += batch.length;
    }
    await fdatasyncAsync(fd);
  }
  return { mbPerS: (position - startPosition) / 1e3 / (performance.now() - startMs), endPosition: position };
}

/**
 * One log slice: 8 appends always in flight, each replaced as soon as a group
 * commit makes it durable, for `seconds`; then the last ones drain. MB/s.
 */
async function logSyncSlice(log: PartitionLog, batch: Uint8Array, copy: Uint8Array, seconds: number) {
  const pendingLastOffsets: number[] = [];
  let appended = 0;
  const append = (): void => {
    copy.set(batch);
    pendingLastOffsets.push(log.append(copy, 0).lastOffset);
    appended++;
  };
  const startMs = performance.now();
  const endMs = startMs + seconds * 1000;
  await new Promise<void>((resolve) => {
    log.onDurable = () => {
      let released = 0;
      while (pendingLastOffsets.length > 0 && pendingLastOffsets[0]! < log.durableOffset) {
        pendingLastOffsets.shift();
        released++;
      }
      if (performance.now() >= endMs) {
        if (pendingLastOffsets.length === 0) resolve();
        return;
      }
      for (let i = 0; i < released; i++) append();
    };
    for (let i = 0; i < 8; i++) append();
  });
  log.onDurable = null;
  return { mbPerS: (appended * batch.length) / 1e3 / (performance.now() - startMs), appended };
}

/**
 * fsync=always with 8 appends in flight sharing group commits, against writes
 * plus fdatasync at the same cadence (8 writes, one fdatasync), in `slices`
 * slices of `secondsPerSlice` per side.
 */
export async function appendAlwaysSlices(
  dir: string,
  batch: Uint8Array,
  slices: number,
  secondsPerSlice: number,
): Promise<Sides & { appendsPerSync: number }> {
  const rawPath = join(dir, 'raw-sync.bin');
  const fd = openSync(rawPath, 'w');
  const log = PartitionLog.open({
    dir: join(dir, 'log-sync'),
    config: DEFAULT_TOPIC_CONFIG,
    fsync: 'always',
  });
  const copy = new Uint8Array(batch.length);
  const sides: Sides = { raw: [], log: [] };
  let rawPosition = 0;
  let appended = 0;
  const rawSlice = async (): Promise<void> => {
    const result = await rawSyncSlice(fd, batch, rawPosition, secondsPerSlice);
    rawPosition = result.endPosition;
    sides.raw.push(result.mbPerS);
  };
  const logSlice = async (): Promise<void> => {
    const result = await logSyncSlice(log, batch, copy, secondsPerSlice);
    appended += result.appended;
    sides.log.push(result.mbPerS);
  };
  try {
    for (let slice = 0; slice < slices; slice++) {
      if (slice % 2 === 0) {
        await rawSlice();
        await logSlice();
      } else {
        await logSlice();
        await rawSlice();
      }
    }
    return { ...sides, appendsPerSync: appended / log.syncCount };
  } finally {
    closeSync(fd);
    rmSync(rawPath);
    await log.destroy();
  }
}
