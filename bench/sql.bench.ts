import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { openLoop } from '../src/cli/bench/open-loop.js';
import { defaultBrokerConfig } from '../src/common/broker-config.js';
import { KafkaErrorCode } from '../src/common/kafka-error-code.js';
import { buildRecordBatch } from '../src/record/batch-builder.js';
import { startBroker } from '../src/server/broker.js';
import { numberFlag } from './support/flags.js';

/**
 * `npm run bench -- sql`: SQL over a topic against DuckDB reading the same
 * records from a Parquet file, in the same run, and produce latency with and
 * without a heavy query running.
 *
 * 1. Scan: N JSON records (default 1,000,000) in a 2-partition topic;
 *    `SELECT value->>'$.kind', count(*) … GROUP BY 1` through POST /sql
 *    (plan, fetch every batch, load into DuckDB, run), against the same query
 *    on the topic's own Parquet export read by a fresh DuckDB, both with one
 *    DuckDB thread (as the SQL worker runs). Ratio = Parquet ms / topic ms
 *    (1.0 would be as fast as Parquet), best of --runs interleaved runs.
 * 2. Interference: open-loop produce of one small record per batch (acks=1)
 *    at --rate for --seconds, alone, then while the scan query runs back to
 *    back, then while a query that only burns DuckDB CPU (no topic) does;
 *    ratios of the p99s.
 */
const KINDS = ['click', 'view', 'buy', 'scroll', 'hover', 'share', 'like', 'comment'];
const QUERY = `SELECT value->>'$.kind' AS kind, count(*) AS n FROM scan GROUP BY kind ORDER BY kind`;

export async function run(args: readonly string[]): Promise<void> {
  const records = numberFlag(args, 'records', 1_000_000);
  const runs = numberFlag(args, 'runs', 3);
  const rate = numberFlag(args, 'rate', 2000);
  const seconds = numberFlag(args, 'seconds', 8);
  const dir = mkdtempSync(join(tmpdir(), 'pyralog-bench-sql-'));
  const config = {
    ...defaultBrokerConfig(2),
    dataDir: join(dir, 'data'),
    kafkaPort: 0,
    httpPort: 0,
    shardCount: 1,
    fsync: 'never' as const,
    logLevel: 'silent' as const,
    sqlTimeoutMs: 600_000,
    sqlScanBytesMax: 4 * 1024 ** 3,
    sqlMemoryBytes: 2 * 1024 ** 3,
  };
  const broker = await startBroker(config, { kafka: false });
  const base = `http://127.0.0.1:${broker.httpPort}`;
  try {
    const engine = broker.engine;
    await engine.createTopic('scan', 2);
    await engine.createTopic('latency', 1);
    const encoder = new TextEncoder();
    const perBatch = 1000;
    for (let b = 0; b < records / perBatch; b++) {
      const batch = buildRecordBatch(
        Array.from({ length: perBatch }, (_, i) => {
          const n = b * perBatch + i;
          return {
            key: encoder.encode(`user-${n % 1000}`),
            value: encoder.encode(JSON.stringify({ kind: KINDS[n % KINDS.length], n, amount: n % 97 })),
          };
        }),
      );
      const outcome = await engine.produce('scan', b % 2, batch, 1);
      if (outcome.errorCode !== KafkaErrorCode.NONE) throw new Error(`produce failed: ${outcome.errorCode}`);
    }
    const topicQuery = async (): Promise<{ ms: number; loadMs: number; decodeMs: number; bytes: number }> => {
      const started = performance.now();
      const response = await fetch(`${base}/sql`, { method: 'POST', body: JSON.stringify({ sql: QUERY }) });
      const answer = (await response.json()) as {
        scan: { loadMs: number; decodeMs: number; bytes: number };
        rows: unknown[][];
      };
      if (!response.ok || answer.rows.length !== KINDS.length)
        throw new Error(`query failed: ${JSON.stringify(answer)}`);
      return {
        ms: performance.now() - started,
        loadMs: answer.scan.loadMs,
        decodeMs: answer.scan.decodeMs,
        bytes: answer.scan.bytes,
      };
    };
    const parquetFile = join(dir, 'scan.parquet');
    const exported = await fetch(`${base}/topics/scan/export?format=parquet`);
    writeFileSync(parquetFile, new Uint8Array(await exported.arrayBuffer()));
    const duck = await (await DuckDBInstance.create(':memory:', { threads: '1' })).connect();
    const parquetQuery = async (): Promise<number> => {
      const started = performance.now();
      const result = await duck.runAndReadAll(
        QUERY.replace('FROM scan', `FROM read_parquet('${parquetFile}')`),
      );
      if (result.currentRowCount !== KINDS.length) throw new Error('parquet query failed');
      return performance.now() - started;
    };
    await topicQuery(); // warm-up: starts the SQL worker and DuckDB
    await parquetQuery();
    const topicRuns: { ms: number; loadMs: number; decodeMs: number; bytes: number }[] = [];
    const parquetRuns: number[] = [];
    for (let i = 0; i < runs; i++) {
      topicRuns.push(await topicQuery());
      parquetRuns.push(await parquetQuery());
    }
    const bestTopic = topicRuns.reduce((a, b) => (b.ms < a.ms ? b : a));
    const bestParquet = Math.min(...parquetRuns);
    console.log(`records: ${records} JSON values in 2 partitions, ${bestTopic.bytes} record bytes`);
    console.log(`query: ${QUERY}`);
    console.log(
      `Parquet (same records, DuckDB read_parquet, 1 thread): best ${bestParquet.toFixed(0)} ms of ${parquetRuns.map((v) => v.toFixed(0)).join(', ')}`,
    );
    console.log(
      `topic (POST /sql): best ${bestTopic.ms.toFixed(0)} ms of ${topicRuns.map((r) => r.ms.toFixed(0)).join(', ')}; ` +
        `of which fetch + load ${bestTopic.loadMs} ms (decoding into DuckDB in the worker ${bestTopic.decodeMs} ms), ` +
        `plan + query + answer ${(bestTopic.ms - bestTopic.loadMs).toFixed(0)} ms`,
    );
    console.log(`ratio (Parquet ms / topic ms): ${(bestParquet / bestTopic.ms).toFixed(3)}`);

    const tiny = buildRecordBatch([{ key: null, value: encoder.encode('x'.repeat(100)) }]);
    const produce = (): Promise<unknown> => engine.produce('latency', 0, tiny, 1);
    const alone = await openLoop(produce, rate, seconds, 1);
    let querying = true;
    let queries = 0;
    const heavy = (async () => {
      while (querying) {
        await topicQuery();
        queries++;
      }
    })();
    const loaded = await openLoop(produce, rate, seconds, 1);
    querying = false;
    await heavy;
    let cpuOnlyLine = '';
    {
      // The same, while queries that only burn DuckDB CPU (no topic to load) run back to back: this
      // separates DuckDB's execution from fetching and loading records.
      querying = true;
      let cpuOnly = 0;
      const burn = (async () => {
        while (querying) {
          await fetch(`${base}/sql`, {
            method: 'POST',
            body: JSON.stringify({ sql: 'SELECT count(*) FROM range(100000000) WHERE range % 7 = 3' }),
          });
          cpuOnly++;
        }
      })();
      const burnt = await openLoop(produce, rate, seconds, 1);
      querying = false;
      await burn;
      cpuOnlyLine =
        `  with ${cpuOnly} DuckDB-only queries (no topic): p50 ${burnt.p50}  p99 ${burnt.p99}  p99.9 ${burnt.p999}  ` +
        `max ${burnt.max}; p99 ratio ${(burnt.p99 / alone.p99).toFixed(2)}`;
    }
    console.log(`produce at ${rate}/s (1 record, acks=1), open loop, ${seconds} s each, µs:`);
    console.log(
      `  alone:               p50 ${alone.p50}  p99 ${alone.p99}  p99.9 ${alone.p999}  max ${alone.max}`,
    );
    console.log(
      `  with ${queries} scan queries: p50 ${loaded.p50}  p99 ${loaded.p99}  p99.9 ${loaded.p999}  max ${loaded.max}`,
    );
    console.log(`  p99 ratio (with / alone): ${(loaded.p99 / alone.p99).toFixed(2)}`);
    console.log(cpuOnlyLine);
    duck.closeSync();
  } finally {
    await broker.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
