import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultBrokerConfig } from '../src/common/broker-config.js';
import type { Offset } from '../src/common/offset.js';
import type { FetchRequest } from '../src/engine/engine-api.js';
import { ShardedEngine } from '../src/engine/sharded-engine.js';
import { buildRecordBatch } from '../src/record/batch-builder.js';
import { numberFlag } from './support/flags.js';
import { printTable } from './support/mitata-ratios.js';

/**
 * `npm run bench -- fetch-isolation`: fetches per second through the sharded
 * engine in-process (one shard, one partition of 4000 batches of 16 × 100-byte
 * records, 64 KiB per fetch, reading the partition front to back over and
 * over), at isolation level 0 and level 1, as a ratio to level 0 of the same
 * run. The runs alternate (0, 1, 0, 1, …) so drift in machine load hits both.
 * With no transaction in the partition both levels read the same bytes: the
 * figure is what read_committed's bookkeeping costs. Run the same file on
 * another checkout to compare level 0 across commits.
 *
 * Flags: --seconds=N (per run, default 2), --rounds=N (default 3).
 */
const BATCHES = 4000;
const FETCH_BYTES = 64 * 1024;

async function fetchesPerSecond(
  engine: ShardedEngine,
  isolationLevel: 0 | 1,
  seconds: number,
): Promise<number> {
  const request = {
    isolationLevel,
    partitions: [{ topic: 'bench', partition: 0, offset: 0 as Offset, maxBytes: FETCH_BYTES }],
    maxWaitMs: 0,
    minBytes: 1,
    maxBytes: FETCH_BYTES,
  } satisfies FetchRequest;
  let fetches = 0;
  let offset = 0;
  const endMs = performance.now() + seconds * 1000;
  while (performance.now() < endMs) {
    request.partitions[0]!.offset = offset as Offset;
    const outcome = await engine.fetch(request);
    const records = outcome.partitions[0]!.records;
    fetches++;
    if (records.length === 0) {
      offset = 0;
      continue;
    }
    const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
    // One past the last batch: base offset of the last batch + its last offset delta + 1.
    let position = 0;
    let next = offset;
    while (position + 61 <= records.length) {
      const size = view.getInt32(position + 8) + 12;
      if (position + size > records.length) break;
      next = Number(view.getBigInt64(position)) + view.getInt32(position + 23) + 1;
      position += size;
    }
    offset = next;
  }
  return fetches / seconds;
}

export async function run(args: readonly string[]): Promise<void> {
  const seconds = numberFlag(args, 'seconds', 2);
  const rounds = numberFlag(args, 'rounds', 3);
  const dir = mkdtempSync(join(tmpdir(), 'pyralog-bench-isolation-'));
  const config = {
    ...defaultBrokerConfig(1),
    dataDir: dir,
    shardCount: 1,
    fsync: 'never' as const,
    logLevel: 'silent' as const,
  };
  const engine = await ShardedEngine.start(config);
  try {
    await engine.createTopic('bench', 1);
    const batch = buildRecordBatch(
      Array.from({ length: 16 }, (_, i) => ({ key: null, value: new Uint8Array(100).fill(i) })),
    );
    for (let i = 0; i < BATCHES; i++) await engine.produce('bench', 0, batch.slice(), 1);
    await fetchesPerSecond(engine, 0, 0.5); // warm-up
    const totals = [0, 0];
    for (let round = 0; round < rounds; round++) {
      totals[0]! += await fetchesPerSecond(engine, 0, seconds);
      totals[1]! += await fetchesPerSecond(engine, 1, seconds);
    }
    const level0 = totals[0]! / rounds;
    const level1 = totals[1]! / rounds;
    printTable([
      ['isolation', 'fetches/s', 'ratio to level 0'],
      ['0 read_uncommitted', level0.toFixed(0), '1.00'],
      ['1 read_committed', level1.toFixed(0), (level1 / level0).toFixed(2)],
    ]);
  } finally {
    await engine.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
