import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BenchOptionError, parseBenchOptions } from '../../src/cli/bench/bench-options.js';
import { type BenchResult, runBench } from '../../src/cli/bench/run-bench.js';
import { renderPercentileChart, renderThroughputChart } from '../../src/cli/bench/svg-charts.js';
import { type Broker, startBroker } from '../../src/server/broker.js';
import { testBrokerConfig } from '../support/engine-fixture.js';
import { makeTempDir } from '../support/temp-dir.js';

/** `pyralog bench`: its options, a short real run over each front door, and its charts. */
describe('pyralog bench', () => {
  let broker: Broker;
  const temp = makeTempDir('bench');
  beforeAll(async () => {
    broker = await startBroker(testBrokerConfig(join(temp.dir, 'data')));
  });
  afterAll(async () => {
    await broker.stop();
    temp.cleanup();
  });

  it('parses its options with defaults and names the option that is wrong', () => {
    const options = parseBenchOptions(['e2e', '--rate', '5000', '--protocol', 'ws']);
    expect(options).toMatchObject({
      scenario: 'e2e',
      rate: 5000,
      protocol: 'ws',
      recordBytes: 1024,
      consumers: 1,
      label: 'ws-e2e-5000rps',
    });
    expect(() => parseBenchOptions(['--acks', '0'])).toThrow(BenchOptionError);
    expect(() => parseBenchOptions(['--record-bytes', 'big'])).toThrow(/record-bytes/);
    expect(() => parseBenchOptions(['--fly', '1'])).toThrow(/unknown option --fly/);
  });

  const common = (extra: string[]) => [
    '--kafka',
    `127.0.0.1:${broker.kafkaPort}`,
    '--ws',
    `ws://127.0.0.1:${broker.httpPort}/ws`,
    '--http',
    `http://127.0.0.1:${broker.httpPort}`,
    '--duration-s',
    '2',
    '--warmup-s',
    '0',
    '--out',
    join(temp.dir, 'out'),
    '--partitions',
    '2',
    ...extra,
  ];

  it('measures Kafka end-to-end latency at a fixed rate, with the broker profile, and writes JSON and .hgrm', async () => {
    const options = parseBenchOptions([
      'e2e',
      ...common(['--rate', '2000', '--producers', '1', '--topic', 'bench-e2e', '--profile']),
    ]);
    const result = await runBench(options, () => undefined);
    expect(result.producer?.errors).toBe(0);
    expect(result.producer?.records).toBeGreaterThan(2000);
    expect(result.consumer?.records).toBeGreaterThan(2000);
    expect(result.consumer!.latencyUs.p50).toBeGreaterThan(0);
    expect(result.consumer!.latencyUs.p99).toBeGreaterThanOrEqual(result.consumer!.latencyUs.p50);
    expect(result.profile.map((s) => s.stage)).toContain('append');
    if (process.platform === 'linux') {
      // The CPU each produced batch cost the acceptor and shard threads over the measured window.
      expect(result.threadCpu.map((t) => t.thread)).toEqual(expect.arrayContaining(['acceptor', 'shard 0']));
      // A shard that holds none of the topic's partitions parks and may spend no measurable CPU at all.
      for (const thread of result.threadCpu) expect(thread.usPerBatch).toBeGreaterThanOrEqual(0);
      const usPerBatch = (prefix: string) =>
        result.threadCpu.filter((t) => t.thread.startsWith(prefix)).reduce((sum, t) => sum + t.usPerBatch, 0);
      expect(usPerBatch('acceptor')).toBeGreaterThan(0);
      expect(usPerBatch('shard')).toBeGreaterThan(0);
    }
    const saved = JSON.parse(
      readFileSync(join(temp.dir, 'out', `${options.label}.json`), 'utf8'),
    ) as BenchResult;
    expect(saved.producer?.records).toBe(result.producer?.records);
    expect(readFileSync(join(temp.dir, 'out', `${options.label}-consumer.hgrm`), 'utf8')).toContain(
      'Percentile',
    );
  }, 30_000);

  it('drives the WebSocket front door in a closed loop', async () => {
    const options = parseBenchOptions([
      'produce',
      ...common(['--protocol', 'ws', '--producers', '1', '--in-flight', '2', '--topic', 'bench-ws']),
    ]);
    const result = await runBench(options, () => undefined);
    expect(result.producer?.errors).toBe(0);
    expect(result.producer?.recordsPerSecond).toBeGreaterThan(100);
    expect(existsSync(join(temp.dir, 'out', `${options.label}-producer.hgrm`))).toBe(true);
  }, 30_000);

  it('draws percentile and throughput charts as SVG, overlaying runs', () => {
    const run = (label: string, p50: number): BenchResult =>
      ({
        label,
        throughputSeries: [100, 200, 150],
        producer: {
          latencyUs: {
            p50,
            p90: p50 * 2,
            p99: p50 * 4,
            p999: p50 * 8,
            p9999: p50 * 9,
            max: p50 * 10,
            mean: p50,
          },
        },
        consumer: null,
      }) as unknown as BenchResult;
    const svg = renderPercentileChart([run('a', 100), run('b', 300)]);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<polyline/g)).toHaveLength(2);
    expect(svg).toContain('>a<');
    expect(svg).toContain('>b<');
    expect(renderThroughputChart([run('a', 1)])).toMatch(
      /<polyline points="[^"]+,[^"]+ [^"]+,[^"]+ [^"]+,[^"]+"/,
    );
  });
});
