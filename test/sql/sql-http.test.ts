import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrokerConfig } from '../../src/common/broker-config.js';
import { type Broker, startBroker } from '../../src/server/broker.js';
import { testBrokerConfig } from '../support/engine-fixture.js';
import { runPyralog } from '../support/serve-process.js';
import { makeTempDir } from '../support/temp-dir.js';

const exportDirs = (): string[] => readdirSync(tmpdir()).filter((name) => name.startsWith('pyralog-export-'));

interface SqlJson {
  columns: { name: string; type: string }[];
  rows: unknown[][];
  rowCount: number;
  truncated: boolean;
  scan: { records: number; bytes: number; partitions: number };
}

/** POST /sql and the Parquet export against a running broker: real shards, the real SQL worker. */
describe('SQL over HTTP', () => {
  const temp = makeTempDir('sql-http');
  let broker: Broker;
  let base: string;
  const start = async (overrides: Partial<BrokerConfig> = {}): Promise<void> => {
    broker = await startBroker(testBrokerConfig(join(temp.dir, 'data'), { ...overrides, kafkaPort: 0 }), {
      kafka: false,
    });
    base = `http://127.0.0.1:${broker.httpPort}`;
  };
  const sql = async (query: string, status = 200): Promise<SqlJson> => {
    const response = await fetch(`${base}/sql`, { method: 'POST', body: JSON.stringify({ sql: query }) });
    const body = (await response.json()) as SqlJson;
    expect({ status: response.status, body }).toMatchObject({ status });
    return body;
  };
  const produce = async (topic: string, records: object[]): Promise<void> => {
    const response = await fetch(`${base}/topics/${topic}/records`, {
      method: 'POST',
      body: JSON.stringify(records),
    });
    expect(response.status).toBe(200);
  };

  beforeAll(async () => {
    await start({ sqlTimeoutMs: 2_000, sqlScanBytesMax: 4 * 1024 * 1024 });
    await fetch(`${base}/topics`, {
      method: 'POST',
      body: JSON.stringify({ name: 'clicks', partitions: 3 }),
    });
    for (let partition = 0; partition < 3; partition++) {
      await produce(
        'clicks',
        Array.from({ length: 100 }, (_, i) => ({
          partition,
          key: `user-${i % 10}`,
          value: JSON.stringify({ kind: i % 2 === 0 ? 'view' : 'buy', amount: i }),
          headers: { source: 'test' },
          timestamp: 1_700_000_000_000 + i * 1000,
        })),
      );
    }
  }, 30_000);
  afterAll(async () => {
    await broker.stop();
    temp.cleanup();
  });

  it('given a topic of JSON records should group and count them with the JSON functions', async () => {
    const answer = await sql(
      `SELECT value->>'$.kind' AS kind, count(*) AS n, sum((value->>'$.amount')::INT) AS total FROM clicks GROUP BY kind ORDER BY kind`,
    );
    expect(answer.columns.map((c) => c.name)).toEqual(['kind', 'n', 'total']);
    expect(answer.rows).toEqual([
      ['buy', 150, 3 * 2500],
      ['view', 150, 3 * 2450],
    ]);
    expect(answer.scan).toMatchObject({ records: 300, partitions: 3 });
  });

  it('given conditions on partition, offset and time should read only the ranges that can match', async () => {
    const onePartition = await sql(`SELECT count(*) FROM clicks WHERE "partition" = 1 AND "offset" >= 90`);
    expect(onePartition.rows).toEqual([[10]]);
    expect(onePartition.scan.partitions).toBe(1);
    expect(onePartition.scan.records).toBeLessThanOrEqual(100);
    const byTime = await sql(
      `SELECT min("offset"), count(*) FROM clicks WHERE "partition" = 0 AND "timestamp" >= epoch_ms(1700000095000)`,
    );
    expect(byTime.rows).toEqual([[95, 5]]);
    const byTimeLiteral = await sql(
      `SELECT count(*) FROM clicks WHERE "partition" = 2 AND "timestamp" >= '${new Date(1_700_000_098_000).toISOString().replace('T', ' ').replace('Z', '')}'`,
    );
    expect(byTimeLiteral.rows).toEqual([[2]]);
    expect(byTimeLiteral.scan.records).toBeLessThan(100);
  });

  it('given records landing while queries run should see, per partition, an unbroken prefix of the log', async () => {
    await fetch(`${base}/topics`, { method: 'POST', body: JSON.stringify({ name: 'busy', partitions: 2 }) });
    let producing = true;
    const writer = (async () => {
      for (let round = 0; producing && round < 200; round++)
        await produce(
          'busy',
          Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: `v${round}` })),
        );
    })();
    try {
      for (let i = 0; i < 5; i++) {
        const answer = await sql(`SELECT "partition", count(*), max("offset") FROM busy GROUP BY 1`);
        for (const [, count, max] of answer.rows as [number, number, number][]) expect(count).toBe(max + 1);
      }
    } finally {
      producing = false;
      await writer;
    }
  });

  it.each([
    [`COPY (SELECT * FROM clicks) TO '/tmp/pyralog-escape.csv'`, 400, 'SQL_NOT_READ_ONLY'],
    [`SELECT * FROM read_csv('/etc/passwd')`, 400, 'SQL_NOT_READ_ONLY'],
    [`ATTACH '/tmp/pyralog-escape.db'`, 400, 'SQL_NOT_READ_ONLY'],
    [`SELECT * FROM nowhere`, 400, 'SQL_INVALID'],
    [`SELECT count(*) FROM range(100000000000)`, 504, 'SQL_TIMEOUT'],
  ])('refuses or bounds %s with %i %s', async (query, status, code) => {
    const response = await fetch(`${base}/sql`, { method: 'POST', body: JSON.stringify({ sql: query }) });
    expect({
      status: response.status,
      code: ((await response.json()) as { error: { code: string } }).error.code,
    }).toEqual({
      status,
      code,
    });
  });

  it('given a query that would read more than the scan limit should refuse it, and serve the next query', async () => {
    await fetch(`${base}/topics`, { method: 'POST', body: JSON.stringify({ name: 'large', partitions: 1 }) });
    const big = 'x'.repeat(60_000);
    for (let i = 0; i < 8; i++)
      await produce(
        'large',
        Array.from({ length: 10 }, () => ({ value: big })),
      );
    const response = await fetch(`${base}/sql`, {
      method: 'POST',
      body: JSON.stringify({ sql: 'SELECT count(*) FROM large' }),
    });
    expect(response.status).toBe(413);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('SQL_SCAN_TOO_LARGE');
    expect((await sql(`SELECT count(*) FROM large WHERE "offset" < 10`)).rows).toEqual([[10]]);
  });

  it('exports a topic range as Parquet that DuckDB reads back, and leaves no files behind', async () => {
    const before = exportDirs();
    const response = await fetch(`${base}/topics/clicks/export?partition=1&from=10&to=20`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/vnd.apache.parquet');
    const file = join(temp.dir, 'clicks.parquet');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(file, new Uint8Array(await response.arrayBuffer()));
    const duck = await (await DuckDBInstance.create(':memory:')).connect();
    const read = await duck.runAndReadAll(
      `SELECT min("offset"), max("offset"), count(*), min(headers) FROM read_parquet('${file}')`,
    );
    expect(read.getRowsJson()).toEqual([['10', '19', '10', '{"source":"test"}']]);
    duck.closeSync();
    expect(exportDirs()).toEqual(before);
  });

  it('given pyralog sql and pyralog export should print a table and write a Parquet file', async () => {
    const table = await runPyralog([
      'sql',
      `SELECT key, count(*) AS n FROM clicks WHERE key IN ('user-1', 'user-2') GROUP BY key ORDER BY key`,
      '--url',
      base,
    ]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(
      /^KEY\s+N\nuser-1\s+30\nuser-2\s+30\n\(2 rows; 300 records from 3 partitions; \d+ ms\)\n$/,
    );
    const out = join(temp.dir, 'cli.parquet');
    const exported = await runPyralog([
      'export',
      'clicks',
      '--format',
      'parquet',
      '--out',
      out,
      '--from',
      '@1700000090000',
      '--url',
      base,
    ]);
    expect(exported.code).toBe(0);
    expect(readFileSync(out).subarray(0, 4).toString()).toBe('PAR1');
    const invalid = await runPyralog(['sql', 'DROP TABLE clicks', '--url', base]);
    expect(invalid.code).toBe(6);
    expect(invalid.stderr).toContain('SQL_NOT_READ_ONLY');
  });
});
