import { readdirSync } from 'node:fs';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_TOPIC_CONFIG, type TopicConfig } from '../../src/common/broker-config.js';
import { readInt64 } from '../../src/common/offset.js';
import { DUPLICATE, ProducerStateTable } from '../../src/engine/producer-state.js';
import { rebuildProducerState } from '../../src/engine/producer-state-rebuild.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { BatchHeader, CompressionCodec } from '../../src/record/batch-header.js';
import { decodeBatchRecords } from '../../src/record/batch-reader.js';
import { nextBatchBytes } from '../../src/record/batch-walk.js';
import { buildCompressedBatch } from '../../src/record/compression.js';
import { buildControlBatch } from '../../src/record/control-batch.js';
import { cleanSegments } from '../../src/storage/log-cleaner.js';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { makeTempDir } from '../support/temp-dir.js';

/** A record as the model keeps it: what was produced at an offset. */
interface ModelRecord {
  offset: number;
  key: string | null;
  value: string | null;
  timestampMs: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function compactConfig(overrides: Partial<TopicConfig> = {}): TopicConfig {
  return {
    ...DEFAULT_TOPIC_CONFIG,
    cleanupPolicy: 'compact',
    segmentBytes: 400,
    minCleanableDirtyRatio: 0,
    minCompactionLagMs: 0,
    deleteRetentionMs: 1000,
    ...overrides,
  };
}

/** Every record the log serves, reading through gaps batch by batch as a consumer does. */
function readAll(log: PartitionLog): { records: ModelRecord[]; emptyBatches: number } {
  const records: ModelRecord[] = [];
  let emptyBatches = 0;
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const chunk = log.read(offset, 64 * 1024);
    if (chunk.length === 0) break;
    const copy = chunk.slice();
    const view = new DataView(copy.buffer);
    let position = 0;
    for (;;) {
      const sizeBytes = nextBatchBytes(view, position, copy.length);
      if (sizeBytes < 0) break;
      const batch = copy.subarray(position, position + sizeBytes);
      const decoded = decodeBatchRecords(batch);
      if (decoded.length === 0) emptyBatches++;
      for (const record of decoded) {
        if (record.offset < offset) continue;
        records.push({
          offset: record.offset,
          key: record.key === null ? null : decoder.decode(record.key),
          value: record.value === null ? null : decoder.decode(record.value),
          timestampMs: record.timestampMs,
        });
      }
      offset =
        readInt64(view, position + BatchHeader.BASE_OFFSET) +
        view.getInt32(position + BatchHeader.LAST_OFFSET_DELTA) +
        1;
      position += sizeBytes;
    }
  }
  return { records, emptyBatches };
}

/** What compaction must leave: below `cleanableEnd`, the last record per key, tombstones gone once old. */
function expectedAfterClean(
  history: readonly ModelRecord[],
  cleanableEnd: number,
  nowMs: number,
  deleteRetentionMs: number,
): ModelRecord[] {
  const latest = new Map<string, number>();
  for (const record of history) {
    if (record.offset < cleanableEnd && record.key !== null) latest.set(record.key, record.offset);
  }
  return history.filter((record) => {
    if (record.offset >= cleanableEnd || record.key === null) return true;
    if (latest.get(record.key) !== record.offset) return false;
    return !(record.value === null && record.timestampMs + deleteRetentionMs <= nowMs);
  });
}

const cleanerTotals = { recordsRemoved: 0, segmentsReplaced: 0 };

/** Runs one cleaner job in this thread; returns the offset the cleaned range ends at, or null when none ran. */
async function cleanOnce(
  log: PartitionLog,
  nowMs: number,
  dir: string,
  keyMapEntriesMax?: number,
): Promise<number | null> {
  const planned = log.planClean(nowMs, 0);
  if (planned === null) return null;
  const job = keyMapEntriesMax === undefined ? planned : { ...planned, keyMapEntriesMax };
  const outcome = await cleanSegments(job);
  const swap = log.finishClean(outcome);
  expect(swap.problems).toEqual([]);
  cleanerTotals.recordsRemoved += swap.recordsRemoved;
  cleanerTotals.segmentsReplaced += swap.segmentsReplaced;
  // A full key map cleans only the oldest segments of the job: the cleaned range ends after those.
  const lastBase = outcome.segments[outcome.segments.length - 1]!.baseOffset;
  return Math.min(...segmentBases(dir).filter((base) => base > lastBase));
}

const CODECS = [
  CompressionCodec.NONE,
  CompressionCodec.GZIP,
  CompressionCodec.LZ4,
  CompressionCodec.ZSTD,
  CompressionCodec.SNAPPY,
];

describe('log compaction', () => {
  let cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const cleanup of cleanups) cleanup();
    cleanups = [];
  });
  const tempDir = (): string => {
    const temp = makeTempDir('compaction');
    cleanups.push(temp.cleanup);
    return temp.dir;
  };

  it('given random keyed batches in any codec and key maps of any size, then a clean leaves the last value per key plus everything not cleanable, at unchanged offsets, across a reopen', async () => {
    const batchArbitrary = fc.record({
      records: fc.array(
        fc.record({
          key: fc.option(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), { freq: 8 }),
          value: fc.option(fc.string({ maxLength: 40 }), { freq: 4 }),
          ageMs: fc.integer({ min: 0, max: 3000 }),
        }),
        { minLength: 1, maxLength: 6 },
      ),
      codec: fc.constantFrom(...CODECS),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(batchArbitrary, { minLength: 1, maxLength: 25 }), { minLength: 1, maxLength: 3 }),
        fc.constantFrom(undefined, 1, 3),
        async (rounds, keyMapEntriesMax) => {
          const dir = tempDir();
          const config = compactConfig();
          let log = PartitionLog.open({ dir, config, fsync: 'never' });
          const history: ModelRecord[] = [];
          const nowMs = 1_000_000;
          let cleanEnd = 0;
          try {
            for (const round of rounds) {
              for (const batch of round) {
                const produced = batch.records.map((record) => ({
                  key: record.key === null ? null : encoder.encode(record.key),
                  value: record.value === null ? null : encoder.encode(record.value),
                  timestampMs: nowMs - record.ageMs,
                }));
                const bytes =
                  batch.codec === CompressionCodec.NONE
                    ? buildRecordBatch(produced)
                    : buildCompressedBatch(produced, batch.codec);
                const { baseOffset } = log.append(bytes, nowMs);
                for (const [i, record] of batch.records.entries()) {
                  history.push({
                    offset: baseOffset + i,
                    key: record.key,
                    value: record.value,
                    timestampMs: nowMs - record.ageMs,
                  });
                }
              }
              await log.flush();
              // Let the roll syncs finish so the closed segments count as durable.
              await new Promise((resolve) => setTimeout(resolve, 5));
              const cleanedEnd = await cleanOnce(log, nowMs, dir, keyMapEntriesMax);
              if (cleanedEnd !== null) cleanEnd = cleanedEnd;
              const served = readAll(log).records;
              expect(served).toEqual(expectedAfterClean(history, cleanEnd, nowMs, config.deleteRetentionMs));
            }
            // Cleaning again and again with nothing new appended reaches every closed segment, however small
            // the key map (each job starts its map where the last one stopped).
            await new Promise((resolve) => setTimeout(resolve, 50));
            for (let job = 0; job < 200; job++) {
              const cleanedEnd = await cleanOnce(log, nowMs, dir, keyMapEntriesMax);
              if (cleanedEnd === null) break;
              cleanEnd = cleanedEnd;
            }
            const activeBase = Math.max(...segmentBases(dir));
            if (activeBase > 0) expect(cleanEnd).toBe(activeBase);
            expect(readAll(log).records).toEqual(
              expectedAfterClean(history, cleanEnd, nowMs, config.deleteRetentionMs),
            );
            const before = readAll(log).records;
            const logStart = log.logStartOffset;
            const logEnd = log.logEndOffset;
            await log.close();
            log = PartitionLog.open({ dir, config, fsync: 'never' });
            expect(log.recoveryProblems).toEqual([]);
            expect(readAll(log).records).toEqual(before);
            expect(log.logStartOffset).toBe(logStart);
            expect(log.logEndOffset).toBe(logEnd);
            expect(readdirSync(dir).filter((name) => name.endsWith('.cleaned'))).toEqual([]);
          } finally {
            await log.close();
          }
        },
      ),
      { numRuns: 25 },
    );
    // The property ran against real cleaning, not only against logs with nothing to remove.
    expect(cleanerTotals.recordsRemoved).toBeGreaterThan(100);
    expect(cleanerTotals.segmentsReplaced).toBeGreaterThan(10);
  });

  it('given an idempotent producer whose records are all superseded, then its last batch stays empty and its sequence state rebuilds from the log', async () => {
    const dir = tempDir();
    const log = PartitionLog.open({ dir, config: compactConfig(), fsync: 'never' });
    try {
      const nowMs = 1_000_000;
      const producerId = 42;
      // 10 batches of 3 records from producer 42, all under key "a" (sequences 0..29)...
      for (let i = 0; i < 10; i++) {
        const records = [0, 1, 2].map(() => ({ key: encoder.encode('a'), value: encoder.encode(`p${i}`) }));
        log.append(
          buildRecordBatch(records, {
            producerId,
            producerEpoch: 0,
            baseSequence: i * 3,
            baseTimestampMs: nowMs,
          }),
          nowMs,
        );
      }
      // ...all superseded by a later plain producer writing "a", then filler so they lie in closed segments.
      log.append(
        buildRecordBatch([{ key: encoder.encode('a'), value: encoder.encode('last') }], {
          baseTimestampMs: nowMs,
        }),
        nowMs,
      );
      for (let i = 0; i < 30; i++) {
        log.append(
          buildRecordBatch([{ key: encoder.encode(`f${i}`), value: new Uint8Array(50) }], {
            baseTimestampMs: nowMs,
          }),
          nowMs,
        );
      }
      await log.flush();
      // The roll syncs run on libuv's pool: give them time to finish, so every closed segment is cleanable.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await cleanOnce(log, nowMs, dir)).not.toBeNull();
      const { records, emptyBatches } = readAll(log);
      expect(records.filter((r) => r.key === 'a').map((r) => r.value)).toEqual(['last']);
      expect(emptyBatches).toBeGreaterThanOrEqual(1);
      // The producer's last batch (offsets 27..29, sequences 27..29) is still known after a rebuild.
      const table = new ProducerStateTable();
      rebuildProducerState(table, log, nowMs);
      expect(table.check(producerId, 0, 27, 3, nowMs)).toBe(DUPLICATE);
      expect(table.duplicateBaseOffset).toBe(27);
    } finally {
      await log.close();
    }
  });
});

describe('a compacted log written in transactions', () => {
  it('given aborted, committed and undecided transactions over keys with older plain values, then only a committed or later plain write removes an older value', async () => {
    const { dir, cleanup } = makeTempDir('compaction-transactions');
    const log = PartitionLog.open({ dir, config: compactConfig(), fsync: 'never' });
    try {
      const nowMs = 1_000_000;
      const plain = (key: string, value: string) =>
        log.append(
          buildRecordBatch([{ key: encoder.encode(key), value: encoder.encode(value) }], {
            baseTimestampMs: nowMs,
          }),
          nowMs,
        );
      const inTransaction = (producerId: number, key: string, value: string) =>
        log.append(
          buildRecordBatch([{ key: encoder.encode(key), value: encoder.encode(value) }], {
            producerId,
            producerEpoch: 0,
            baseSequence: 0,
            transactional: true,
            baseTimestampMs: nowMs,
          }),
          nowMs,
        );
      const marker = (producerId: number, commit: boolean) =>
        log.append(
          buildControlBatch({ producerId, producerEpoch: 0, commit, coordinatorEpoch: 0 }, nowMs),
          nowMs,
        );
      for (const key of ['a', 'b', 'c', 'd']) plain(key, `${key}0`);
      inTransaction(1, 'a', 'a-aborted');
      marker(1, false);
      inTransaction(2, 'b', 'b-committed');
      marker(2, true);
      inTransaction(3, 'c', 'c-undecided');
      inTransaction(4, 'd', 'd-aborted');
      plain('d', 'd-plain-later');
      marker(4, false);
      for (let i = 0; i < 30; i++) plain(`f${i}`, 'filler');
      await log.flush();
      // The roll syncs run on libuv's pool: give them time to finish, so every closed segment is cleanable.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await cleanOnce(log, nowMs, dir)).not.toBeNull();
      const valuesOf = (key: string) =>
        readAll(log)
          .records.filter((record) => record.key === key)
          .map((record) => record.value);
      // The aborted write leaves the value it would have replaced (read_committed skips it by the index).
      expect(valuesOf('a')).toEqual(['a0', 'a-aborted']);
      expect(valuesOf('b')).toEqual(['b-committed']);
      // An undecided transaction supersedes nothing yet.
      expect(valuesOf('c')).toEqual(['c0', 'c-undecided']);
      // A later plain write supersedes everything before it, aborted or not.
      expect(valuesOf('d')).toEqual(['d-plain-later']);
    } finally {
      await log.close();
      cleanup();
    }
  });
});

function segmentBases(dir: string): number[] {
  return readdirSync(dir)
    .filter((name) => /^\d{20}\.log$/.test(name))
    .map((name) => Number(name.slice(0, 20)));
}

describe('when the cleaner is handed a job', () => {
  let cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const cleanup of cleanups) cleanup();
    cleanups = [];
  });

  /** A compacted log of 4 KiB in 400-byte segments, every record stamped `timestampMs`. */
  async function filledLog(overrides: Partial<TopicConfig>, timestampMs: number): Promise<PartitionLog> {
    const temp = makeTempDir('compaction-plan');
    cleanups.push(temp.cleanup);
    const log = PartitionLog.open({ dir: temp.dir, config: compactConfig(overrides), fsync: 'never' });
    for (let i = 0; i < 40; i++) {
      log.append(
        buildRecordBatch([{ key: encoder.encode(`k${i % 3}`), value: new Uint8Array(40) }], {
          baseTimestampMs: timestampMs,
        }),
        timestampMs,
      );
    }
    await log.flush();
    await new Promise((resolve) => setTimeout(resolve, 50));
    return log;
  }

  it('given cleanup.policy delete, then no job is handed out', async () => {
    const log = await filledLog({ cleanupPolicy: 'delete' }, 1000);
    expect(log.planClean(10_000, 0)).toBeNull();
    await log.close();
  });

  it('given records younger than min.compaction.lag.ms, then no job until they are older', async () => {
    const log = await filledLog({ minCompactionLagMs: 5000 }, 1000);
    expect(log.planClean(5999, 0)).toBeNull();
    const job = log.planClean(6000, 0);
    expect(job?.segments.length).toBeGreaterThan(3);
    log.finishClean(null);
    await log.close();
  });

  it('given a dirty ratio below min.cleanable.dirty.ratio, then no job until max.compaction.lag.ms passes', async () => {
    const log = await filledLog({ minCleanableDirtyRatio: 0.5 }, 1000);
    const first = log.planClean(2000, 0);
    expect(first).not.toBeNull();
    log.finishClean(await cleanSegments(first!));
    // Everything closed is clean now: a little more appended is far below half of it.
    log.append(
      buildRecordBatch([{ key: encoder.encode('k9'), value: new Uint8Array(400) }], {
        baseTimestampMs: 1000,
      }),
      1000,
    );
    log.append(
      buildRecordBatch([{ key: encoder.encode('k9'), value: new Uint8Array(10) }], { baseTimestampMs: 1000 }),
      1000,
    );
    await log.flush();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(log.planClean(2000, 0)).toBeNull();
    log.setConfig(compactConfig({ minCleanableDirtyRatio: 0.5, maxCompactionLagMs: 500 }));
    const overdue = log.planClean(2000, 0);
    expect(overdue).not.toBeNull();
    expect(overdue?.firstDirtyOffset).toBeGreaterThan(0);
    log.finishClean(null);
    await log.close();
  });

  it('given a job out, then no second job for the log until the first is finished', async () => {
    const log = await filledLog({}, 1000);
    expect(log.planClean(2000, 0)).not.toBeNull();
    expect(log.cleaning).toBe(true);
    expect(log.planClean(2000, 0)).toBeNull();
    log.finishClean(null);
    expect(log.cleaning).toBe(false);
    await log.close();
  });
});

describe('compact,delete', () => {
  let cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const cleanup of cleanups) cleanup();
    cleanups = [];
  });

  it('given retention deleting segments while a job on them is out, then the swap skips them and leaves no cleaned files', async () => {
    const temp = makeTempDir('compaction-delete');
    cleanups.push(temp.cleanup);
    const config = compactConfig({ cleanupPolicy: 'compact,delete', retentionMs: 1000 });
    const log = PartitionLog.open({ dir: temp.dir, config, fsync: 'never' });
    try {
      // Old records first (timestamp 0), then new ones (timestamp 5000), each key written many times.
      for (const [timestampMs, count] of [
        [0, 20],
        [5000, 40],
      ] as const) {
        for (let i = 0; i < count; i++) {
          log.append(
            buildRecordBatch(
              [{ key: encoder.encode(`k${i % 3}`), value: encoder.encode(`v${timestampMs}-${i}`) }],
              {
                baseTimestampMs: timestampMs,
              },
            ),
            timestampMs,
          );
        }
      }
      await log.flush();
      await new Promise((resolve) => setTimeout(resolve, 50));
      const segmentsBefore = segmentBases(temp.dir).length;
      const job = log.planClean(5000, 0);
      expect(job).not.toBeNull();
      const outcome = await cleanSegments(job!);
      // Meanwhile retention deletes the old segments (newest record older than 1 s at 5500).
      log.enforceRetention(5500);
      expect(segmentBases(temp.dir).length).toBeLessThan(segmentsBefore);
      const swap = log.finishClean(outcome);
      expect(swap.problems).toEqual([]);
      expect(readdirSync(temp.dir).filter((name) => name.endsWith('.cleaned'))).toEqual([]);
      // What is left is the new records, cleaned, each key's latest there.
      const { records } = readAll(log);
      expect(records.every((record) => record.value!.startsWith('v5000-'))).toBe(true);
      for (const key of ['k0', 'k1', 'k2']) {
        expect(records.some((record) => record.key === key)).toBe(true);
      }
      expect(log.logStartOffset).toBeGreaterThan(0);
    } finally {
      await log.close();
    }
    const reopened = PartitionLog.open({ dir: temp.dir, config, fsync: 'never' });
    expect(reopened.recoveryProblems).toEqual([]);
    await reopened.close();
  });
});
