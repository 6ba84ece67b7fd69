import { readdirSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { DEFAULT_SQL_LIMITS } from '../../src/sql/sql-limits.js';
import { SqlService } from '../../src/sql/sql-service.js';
import { MemoryEngine } from '../support/memory-engine.js';

const encoder = new TextEncoder();

/** A topic of `batches` batches of 100 JSON records (~5 KiB each). */
async function engineWithRecords(batches: number): Promise<MemoryEngine> {
  const engine = new MemoryEngine();
  await engine.createTopic('events', 1);
  for (let b = 0; b < batches; b++) {
    const batch = buildRecordBatch(
      Array.from({ length: 100 }, (_, i) => ({
        key: null,
        value: encoder.encode(JSON.stringify({ n: b * 100 + i, pad: 'x'.repeat(20) })),
      })),
    );
    await engine.produce('events', 0, batch, 1);
  }
  return engine;
}

/** Child processes of this process, from /proc. */
function childPids(): number[] {
  return readdirSync('/proc/self/task').flatMap((task) =>
    readFileSync(`/proc/self/task/${task}/children`, 'utf8').split(' ').filter(Boolean).map(Number),
  );
}

/** SQL with DuckDB in its child process: paced reads, and a process that dies under a query. */
describe('SQL service', () => {
  const services: SqlService[] = [];
  afterEach(async () => {
    for (const service of services.splice(0)) await service.close();
  });

  it('given reads paced at a byte rate should take at least bytes / rate', async () => {
    const engine = await engineWithRecords(40);
    const limits = { ...DEFAULT_SQL_LIMITS, readBytesPerSecond: 512 * 1024 };
    const paced = new SqlService(engine, limits, 32 * 1024, 'process');
    const unpaced = new SqlService(engine, DEFAULT_SQL_LIMITS, 32 * 1024, 'process');
    services.push(paced, unpaced);
    await paced.query('SELECT 1', 'json');
    await unpaced.query('SELECT 1', 'json');
    const sql = 'SELECT count(*) AS n FROM events';
    // Unpaced is not timed against paced: the SQL process runs at nice 19, so a busy machine can slow it more.
    const timed = async (service: SqlService) => {
      const startedMs = performance.now();
      const answer = await service.query(sql, 'json');
      return { answer, ms: performance.now() - startedMs };
    };
    const slow = await timed(paced);
    const fast = await timed(unpaced);
    expect(slow.answer.rows).toEqual([[4000]]);
    expect(fast.answer.rows).toEqual([[4000]]);
    // The last read is not waited for: all but one 32 KiB read are paid at 512 KiB/s.
    const paidMs = ((slow.answer.scan.bytes - 32 * 1024) * 1000) / (512 * 1024);
    expect(slow.answer.scan.bytes).toBeGreaterThan(150 * 1024);
    expect(slow.ms).toBeGreaterThanOrEqual(paidMs * 0.95);
  });

  it('given the SQL process killed under a query should fail that query and serve the next from a new one', async () => {
    const engine = await engineWithRecords(10);
    const service = new SqlService(engine, DEFAULT_SQL_LIMITS, 1 << 20, 'process');
    services.push(service);
    const before = new Set(childPids());
    expect((await service.query('SELECT 1 AS one', 'json')).rows).toEqual([[1]]);
    const [pid] = childPids().filter((child) => !before.has(child));
    expect(pid).toBeDefined();
    const running = service.query('SELECT count(*) FROM range(10000000000)', 'json');
    await new Promise((resolve) => setTimeout(resolve, 300));
    process.kill(pid!, 'SIGKILL');
    await expect(running).rejects.toMatchObject({ code: 'SQL_FAILED' });
    expect((await service.query('SELECT count(*) AS n FROM events', 'json')).rows).toEqual([[1000]]);
    const after = childPids().filter((child) => !before.has(child));
    expect(after).toHaveLength(1);
    expect(after[0]).not.toBe(pid);
  });
});
