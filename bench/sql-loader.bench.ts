import { DuckDBInstance } from '@duckdb/node-api';
import { writeInt64 } from '../src/common/offset.js';
import { buildRecordBatch } from '../src/record/batch-builder.js';
import { BatchHeader } from '../src/record/batch-header.js';
import { duckDbTextAddon } from '../src/sql/duckdb-text-addon.js';
import { walkRecords } from '../src/sql/topic-rows.js';
import { TopicTableWriter } from '../src/sql/topic-table-writer.js';
import { numberFlag } from './support/flags.js';

/**
 * `npm run bench -- sql-loader`: the SQL worker's loading alone, in this
 * process: N JSON records (the sql bench's, in 1,000-record batches grouped
 * into 1 MiB fetches) into a DuckDB table, value column only (as the sql
 * bench's query needs), with our addon (one call per batch per column)
 * against one Node-API call per value, alternating, --runs each. CPU time of
 * this process (the load is single-threaded), so a busy machine moves it
 * little; the least of the runs, and the ratio.
 */
const KINDS = ['click', 'view', 'buy', 'scroll', 'hover', 'share', 'like', 'comment'];

export async function run(args: readonly string[]): Promise<void> {
  const records = numberFlag(args, 'records', 1_000_000);
  const runs = numberFlag(args, 'runs', 5);
  const encoder = new TextEncoder();
  const fetches: Uint8Array[] = [];
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  const flush = (): void => {
    const fetch = new Uint8Array(pendingBytes);
    let at = 0;
    for (const batch of pending) {
      fetch.set(batch, at);
      at += batch.length;
    }
    fetches.push(fetch);
    pending = [];
    pendingBytes = 0;
  };
  for (let b = 0; b < records / 1000; b++) {
    const batch = buildRecordBatch(
      Array.from({ length: 1000 }, (_, i) => {
        const n = b * 1000 + i;
        return {
          key: encoder.encode(`user-${n % 1000}`),
          value: encoder.encode(JSON.stringify({ kind: KINDS[n % KINDS.length], n, amount: n % 97 })),
        };
      }),
    );
    writeInt64(new DataView(batch.buffer, batch.byteOffset), BatchHeader.BASE_OFFSET, b * 1000);
    pending.push(batch);
    pendingBytes += batch.length;
    if (pendingBytes >= 1024 * 1024) flush();
  }
  if (pending.length > 0) flush();
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  const ways = [['one Node-API call per value', null] as const];
  const all =
    duckDbTextAddon === null ? ways : [...ways, ['addon, one call per batch', duckDbTextAddon] as const];
  const cpu = new Map<string, number[]>(all.map(([name]) => [name, []]));
  for (let r = 0; r < runs; r++) {
    for (const [name, addon] of all) {
      const connection = await instance.connect();
      const writer = await TopicTableWriter.create(
        connection,
        'scan',
        { key: false, value: true, headers: false },
        addon,
      );
      const before = process.cpuUsage();
      let next = 0;
      for (const fetch of fetches) next = walkRecords(fetch, next, Number.POSITIVE_INFINITY, writer);
      writer.finish();
      const used = process.cpuUsage(before);
      cpu.get(name)!.push((used.user + used.system) / 1000);
      if (writer.rowsWritten !== records) throw new Error(`loaded ${writer.rowsWritten} rows of ${records}`);
      connection.closeSync();
    }
  }
  instance.closeSync();
  console.log(`loading ${records} JSON records (value column), CPU ms, least of ${runs}:`);
  const least = (name: string): number => Math.min(...cpu.get(name)!);
  for (const [name] of all)
    console.log(
      `  ${name.padEnd(30)} ${least(name).toFixed(0)}  (${cpu
        .get(name)!
        .map((v) => v.toFixed(0))
        .join(', ')})`,
    );
  if (all.length === 2)
    console.log(`  ratio (addon / per value): ${(least(all[1]![0]) / least(all[0]![0])).toFixed(2)}`);
  else console.log('  the addon is not built here (npm install builds it)');
}
