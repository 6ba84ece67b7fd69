import { closeSync, openSync, readdirSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { afterEach, describe, expect, it } from 'vitest';
import { type Broker, startBroker } from '../../src/server/broker.js';
import { partitionDir } from '../../src/storage/partition-dirs.js';
import { testBrokerConfig } from '../support/engine-fixture.js';
import { makeTempDir } from '../support/temp-dir.js';

/** The HTTP side of the real broker: Prometheus metrics from the shards, Arrow from the offload pool, segment audit. */
describe('HTTP on the real broker', () => {
  let broker: Broker | null = null;
  let cleanup = (): void => {};
  afterEach(async () => {
    await broker?.stop();
    broker = null;
    cleanup();
  });

  it('serves /metrics in Prometheus text format with per-shard counters that move', async () => {
    const temp = makeTempDir('http-metrics');
    cleanup = temp.cleanup;
    broker = await startBroker(testBrokerConfig(temp.dir), { kafka: false });
    const base = `http://127.0.0.1:${broker.httpPort}`;
    await fetch(`${base}/topics`, { method: 'POST', body: JSON.stringify({ name: 'm', partitions: 2 }) });
    await fetch(`${base}/topics/m/records`, {
      method: 'POST',
      body: JSON.stringify([
        { value: 'a', partition: 0 },
        { value: 'b', partition: 1 },
      ]),
    });
    const text = await (await fetch(`${base}/metrics`)).text();
    for (const line of text.split('\n').filter((l) => l !== '')) {
      expect(line).toMatch(
        /^(# (HELP|TYPE) [a-z_]+ .+|[a-z_]+(\{[^}]*\})? -?[0-9.e+-]+|[a-z_]+(\{[^}]*\})? \+Inf)$/,
      );
    }
    const produced = [...text.matchAll(/^pyralog_produce_requests_total\{shard="\d+"\} (\d+)/gm)].reduce(
      (sum, m) => sum + Number(m[1]),
      0,
    );
    expect(produced).toBeGreaterThanOrEqual(2);
    expect(text).toMatch(/pyralog_\w+_seconds_bucket\{/);
  }, 30_000);

  it('encodes Arrow in the offload pool and returns exactly the records', async () => {
    const temp = makeTempDir('http-arrow');
    cleanup = temp.cleanup;
    broker = await startBroker(testBrokerConfig(temp.dir), { kafka: false });
    const base = `http://127.0.0.1:${broker.httpPort}`;
    await fetch(`${base}/topics`, { method: 'POST', body: JSON.stringify({ name: 'a', partitions: 1 }) });
    const records = Array.from({ length: 30 }, (_, i) => ({
      key: `k${i}`,
      value: JSON.stringify({ n: i, even: i % 2 === 0 }),
    }));
    await fetch(`${base}/topics/a/records`, { method: 'POST', body: JSON.stringify(records) });
    const response = await fetch(
      `${base}/topics/a/partitions/0/records?offset=5&limit=10&format=arrow&values=json`,
    );
    const table = tableFromIPC(new Uint8Array(await response.arrayBuffer()));
    expect(table.numRows).toBe(10);
    expect([...(table.getChild('value.n') ?? [])]).toEqual(Array.from({ length: 10 }, (_, i) => i + 5));
    expect([...(table.getChild('value.even') ?? [])]).toEqual(
      Array.from({ length: 10 }, (_, i) => (i + 5) % 2 === 0),
    );
    expect(new TextDecoder().decode(table.getChild('key')?.get(0) as Uint8Array)).toBe('k5');
  }, 30_000);

  it('with --verify-segments, finds a damaged closed segment in the background while serving', async () => {
    const temp = makeTempDir('http-audit');
    cleanup = temp.cleanup;
    const config = testBrokerConfig(temp.dir);
    broker = await startBroker(
      { ...config, topicDefaults: { ...config.topicDefaults, segmentBytes: 2048 } },
      { kafka: false },
    );
    const base = `http://127.0.0.1:${broker.httpPort}`;
    await fetch(`${base}/topics`, { method: 'POST', body: JSON.stringify({ name: 'v', partitions: 1 }) });
    for (let i = 0; i < 10; i++) {
      await fetch(`${base}/topics/v/records`, {
        method: 'POST',
        body: JSON.stringify([{ value: 'z'.repeat(500) }]),
      });
    }
    const partitionPath = partitionDir(temp.dir, broker.engine.describeTopic('v')!.topicId, 'v', 0);
    await broker.stop();
    const segments = readdirSync(partitionPath)
      .filter((name) => name.endsWith('.log'))
      .sort();
    const fd = openSync(join(partitionPath, segments[0]!), 'r+');
    writeSync(fd, Uint8Array.of(0x55, 0x55), 0, 2, 300);
    closeSync(fd);
    broker = await startBroker({ ...config, verifySegmentsOnStart: true }, { kafka: false });
    expect((await fetch(`http://127.0.0.1:${broker.httpPort}/health`)).status).toBe(200);
    const problems = await broker.segmentAudit;
    expect(problems.map((p) => p.path)).toEqual([join(partitionPath, segments[0]!)]);
    expect(problems[0]?.problem).toMatch(/CRC32C mismatch/);
  }, 30_000);
});
