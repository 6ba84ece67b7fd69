import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import type { Engine } from '../../src/engine/engine-api.js';
import type { ShardedEngine } from '../../src/engine/sharded-engine.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { DEFAULT_SQL_LIMITS } from '../../src/sql/sql-limits.js';
import { SqlService } from '../../src/sql/sql-service.js';
import { startTestEngine } from '../support/engine-fixture.js';
import { makeTempDir } from '../support/temp-dir.js';

const encoder = new TextEncoder();
const QUERY = `SELECT "partition", count(*) AS n, sum((value->>'$.n')::INT) AS total, min("offset") AS first,
  max("offset") AS last FROM events GROUP BY 1 ORDER BY 1`;

/** Two partitions of 30 batches of 50 records each, in 16 KiB segments (several closed, one active). */
async function filledTopic(engine: ShardedEngine): Promise<void> {
  expect(await engine.createTopic('events', 2, { segmentBytes: 16 * 1024 })).toBe(KafkaErrorCode.NONE);
  for (let b = 0; b < 60; b++) {
    const batch = buildRecordBatch(
      Array.from({ length: 50 }, (_, i) => ({
        key: encoder.encode(`user-${i % 7}`),
        value: encoder.encode(JSON.stringify({ n: b * 50 + i, pad: 'x'.repeat(20) })),
      })),
    );
    // acks=all: answered once under the high watermark, so every record is readable at once.
    expect((await engine.produce('events', b % 2, batch, -1)).errorCode).toBe(KafkaErrorCode.NONE);
  }
}

/** The engine, but every segment it names is another file than the one at the path (as after a cleaner swap). */
function withSwappedSegments(engine: ShardedEngine): Engine {
  return new Proxy(engine, {
    get(target, key) {
      if (key === 'segmentExtents')
        return async (topic: string, partition: number, from: number, end: number) => {
          const outcome = await target.segmentExtents(topic, partition, from, end);
          return {
            ...outcome,
            extents: outcome.extents?.map((extent) => ({ ...extent, inode: extent.inode + 1 })) ?? null,
          };
        };
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
    },
  });
}

/**
 * SQL reading segment files in its own process, against reading through the
 * shard: same answers. One engine and three SQL processes for the whole file
 * (each process start costs seconds on a loaded machine).
 */
describe('SQL reads of segment files', () => {
  const temp = makeTempDir('sql-segments');
  let engine: ShardedEngine;
  let files: SqlService;
  let throughShard: SqlService;
  let swapped: SqlService;

  beforeAll(async () => {
    engine = await startTestEngine(temp.dir);
    await filledTopic(engine);
    files = new SqlService(engine, DEFAULT_SQL_LIMITS, 64 * 1024, 'process', true);
    throughShard = new SqlService(engine, DEFAULT_SQL_LIMITS, 64 * 1024, 'process', false);
    swapped = new SqlService(withSwappedSegments(engine), DEFAULT_SQL_LIMITS, 64 * 1024, 'process', true);
    await Promise.all([files, throughShard, swapped].map((service) => service.query('SELECT 1', 'json')));
  }, 180_000);

  afterAll(async () => {
    await Promise.all([files, throughShard, swapped].map((service) => service?.close()));
    await engine?.stop();
    temp.cleanup();
  });

  it('given closed and active segments should answer from the files what reading through the shard answers', async () => {
    const fromFiles = await files.query(QUERY, 'json');
    const expected = await throughShard.query(QUERY, 'json');
    expect(fromFiles.rows).toEqual([
      [0, 1500, expect.any(Number), 0, 1499],
      [1, 1500, expect.any(Number), 0, 1499],
    ]);
    expect(fromFiles.rows).toEqual(expected.rows);
    expect(fromFiles.scan).toMatchObject({ records: 3000, shardReads: 0, staleSegments: 0 });
    expect(fromFiles.scan.fileReads).toBeGreaterThan(2);
    expect(expected.scan).toMatchObject({ records: 3000, fileReads: 0 });
    expect(expected.scan.shardReads).toBeGreaterThan(2);
    expect(fromFiles.scan.bytes).toBe(expected.scan.bytes);
  });

  it('given offset and partition bounds should load only the records inside them', async () => {
    const answer = await files.query(
      `SELECT count(*), min("offset"), max("offset") FROM events WHERE "partition" = 1 AND "offset" BETWEEN 730 AND 1012`,
      'json',
    );
    expect(answer.rows).toEqual([[283, 730, 1012]]);
    expect(answer.scan.records).toBe(283);
    expect(answer.scan.shardReads).toBe(0);
  });

  it('given segments swapped since the shard named them should read those ranges through the shard instead', async () => {
    const answer = await swapped.query(QUERY, 'json');
    const expected = await throughShard.query(QUERY, 'json');
    expect(answer.rows).toEqual(expected.rows);
    expect(answer.scan.fileReads).toBe(0);
    expect(answer.scan.staleSegments).toBeGreaterThan(2);
    expect(answer.scan.shardReads).toBeGreaterThan(2);
  });

  it('given records produced since the last query should read the active segment up to its new end', async () => {
    const before = await files.query('SELECT count(*) FROM events', 'json');
    expect(before.rows).toEqual([[3000]]);
    const batch = buildRecordBatch([{ key: null, value: encoder.encode('{"n":1}') }]);
    // acks=all: answered once the record is under the high watermark (what a query may read).
    expect((await engine.produce('events', 0, batch, -1)).errorCode).toBe(KafkaErrorCode.NONE);
    const after = await files.query('SELECT count(*) FROM events', 'json');
    expect(after.rows).toEqual([[3001]]);
  });
});
