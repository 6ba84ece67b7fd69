import { describe, expect, it } from 'vitest';
import { DEFAULT_TOPIC_CONFIG, type TopicConfig } from '../../src/common/broker-config.js';
import { PyralogError } from '../../src/common/errors.js';
import { readInt64 } from '../../src/common/offset.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { checkBatch } from '../../src/record/batch-check.js';
import { BatchHeader } from '../../src/record/batch-header.js';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { useStorageIo } from '../../src/storage/storage-io.js';
import { SimulatedDisk } from '../support/simulated-disk.js';
import { xorshift } from '../support/xorshift.js';

/**
 * Fuzzed damage to a stopped log's files: bits flipped in and cuts made to
 * closed segments, the active segment and the index files, after a clean or
 * an unclean stop. Reopening and reading the whole log must never hang,
 * crash or serve a batch that fails its CRC or sits at an offset other than
 * the one it was appended at; whatever cannot be served is refused with a
 * PyralogError (KAFKA_STORAGE_ERROR), which the shard reports or, for a log
 * that cannot open, turns into an offline partition. The log still takes
 * appends afterwards. PYRALOG_CORRUPTION_SEEDS sets the number of seeds.
 */
const SEEDS = Number(process.env.PYRALOG_CORRUPTION_SEEDS ?? 1500);
const DIR = '/fuzz/topic-0';

function damage(random: () => number, bytes: Uint8Array): Uint8Array {
  if (bytes.length === 0) return bytes;
  const kind = random();
  let out = bytes;
  if (kind < 0.6 || kind >= 0.85) {
    const flips = 1 + Math.floor(random() * 3);
    for (let i = 0; i < flips; i++) {
      const at = Math.floor(random() * out.length);
      out[at]! ^= 1 << Math.floor(random() * 8);
    }
  }
  if (kind >= 0.6) out = out.slice(0, Math.floor(random() * out.length));
  return out;
}

async function runSeed(seed: number): Promise<{ refused: number; offline: boolean }> {
  const random = xorshift(seed * 40_503 + 7);
  const disk = new SimulatedDisk(random);
  disk.autoCompleteSyncs = true;
  const restore = useStorageIo(disk);
  try {
    const config: TopicConfig = { ...DEFAULT_TOPIC_CONFIG, segmentBytes: 600 + Math.floor(random() * 2000) };
    const original = new Map<number, Uint8Array>();
    let log = PartitionLog.open({ dir: DIR, config, fsync: 'always' });
    const batches = 5 + Math.floor(random() * 40);
    for (let i = 0; i < batches; i++) {
      const batch = buildRecordBatch(
        Array.from({ length: 1 + Math.floor(random() * 3) }, () => ({
          key: null,
          value: new Uint8Array(5 + Math.floor(random() * 200)).fill(i),
          timestampMs: 1_000 + i,
        })),
      );
      const result = log.append(batch, 1_000 + i);
      original.set(result.baseOffset, batch.slice());
    }
    await log.flush();
    if (random() < 0.5) await log.close();
    disk.crash();

    const paths = disk.paths();
    const hits = 1 + Math.floor(random() * 2);
    for (let i = 0; i < hits; i++) {
      const path = paths[Math.floor(random() * paths.length)]!;
      disk.damage(path, (bytes) => damage(random, bytes));
    }

    try {
      log = PartitionLog.open({ dir: DIR, config, fsync: 'always' });
    } catch (error) {
      // A log that cannot open goes offline in its shard: only a typed error is acceptable.
      expect(error).toBeInstanceOf(PyralogError);
      return { refused: 0, offline: true };
    }
    let refused = 0;
    let offset = log.logStartOffset;
    for (let guard = 0; offset < log.logEndOffset; guard++) {
      expect(guard).toBeLessThan(10_000);
      let chunk: Uint8Array;
      try {
        chunk = log.read(offset, 1 + Math.floor(random() * 4096));
      } catch (error) {
        expect(error).toBeInstanceOf(PyralogError);
        refused++;
        offset++;
        continue;
      }
      if (chunk.length === 0) break;
      const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      let at = 0;
      while (at < chunk.length) {
        const sizeBytes = checkBatch(chunk, view, at, chunk.length);
        expect(sizeBytes, `seed ${seed}: served a batch failing its check`).toBeGreaterThan(0);
        const baseOffset = readInt64(view, at + BatchHeader.BASE_OFFSET);
        const expected = original.get(baseOffset);
        expect(
          expected,
          `seed ${seed}: served a batch at offset ${baseOffset}, never appended there`,
        ).toBeDefined();
        const served = chunk.subarray(at, at + sizeBytes);
        const differsAt = served.findIndex((byte, i) => byte !== expected![i]);
        expect(
          differsAt === -1 && served.length === expected!.length,
          `seed ${seed}: batch at offset ${baseOffset} served with different bytes (from byte ${differsAt})`,
        ).toBe(true);
        offset = Math.max(offset, baseOffset + view.getInt32(at + BatchHeader.LAST_OFFSET_DELTA) + 1);
        at += sizeBytes;
      }
    }
    for (const timestampMs of [0, 1_000 + Math.floor(random() * batches), 1e12]) {
      try {
        log.offsetForTimestamp(timestampMs);
      } catch (error) {
        expect(error).toBeInstanceOf(PyralogError);
      }
    }
    // The log still takes appends at its end.
    const next = log.logEndOffset;
    const appended = log.append(buildRecordBatch([{ key: null, value: new Uint8Array(8) }]), 5_000);
    expect(appended.baseOffset).toBe(next);
    await log.close();
    return { refused, offline: false };
  } finally {
    restore();
  }
}

describe('corrupt storage fuzz', () => {
  it(`never hangs, crashes or serves a damaged batch over ${SEEDS} seeds of flipped bits and cuts`, async () => {
    let refused = 0;
    let offline = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      try {
        const result = await runSeed(seed);
        refused += result.refused;
        if (result.offline) offline++;
      } catch (error) {
        throw new Error(`corruption seed ${seed} failed: ${String(error)}`, { cause: error });
      }
    }
    // Some damage must have been seen and refused, or the fuzzer is not reaching it.
    expect(refused + offline).toBeGreaterThan(0);
  }, 120_000);
});
