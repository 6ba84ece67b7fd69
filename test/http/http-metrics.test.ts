import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Counter, SHARD_METRICS_BYTES, ShardMetricsWriter, Stage } from '../../src/engine/shard-metrics.js';
import { renderMetrics } from '../../src/server/metrics-exposition.js';
import { call, type HttpAppFixture, startHttpApp } from './http-app-fixture.js';
import { parsePrometheusText } from './prometheus-text.js';

/** GET /metrics: the broker's metrics (rendered from shard buffers) and the HTTP API's own, as Prometheus text. */
describe('GET /metrics', () => {
  const buffers = [new SharedArrayBuffer(SHARD_METRICS_BYTES), new SharedArrayBuffer(SHARD_METRICS_BYTES)];
  let app: HttpAppFixture;
  beforeAll(async () => {
    const writers = buffers.map((buffer) => new ShardMetricsWriter(buffer));
    writers[0]!.add(Counter.PRODUCE_BYTES, 4096);
    writers[1]!.add(Counter.PRODUCE_BYTES, 1024);
    for (const ms of [0.003, 0.2, 3, 40, 2000]) writers[0]!.observeMs(Stage.APPEND, ms);
    writers[1]!.observeMs(Stage.APPEND, 0.5);
    const source = {
      hosts: buffers.map((metricsBuffer, shardId) => ({
        shardId,
        metricsBuffer,
        restarts: 0,
        timedOut: 0,
        requestRingUsedBytes: () => 128 * shardId,
      })),
    };
    app = await startHttpApp({ metricsText: () => renderMetrics(source) });
  });
  afterAll(() => app.close());

  it('serves text/plain version 0.0.4 that parses strictly as Prometheus text', async () => {
    const answer = await call(app.base, '/metrics');
    expect(answer.status).toBe(200);
    expect(answer.type).toBe('text/plain; version=0.0.4; charset=utf-8');
    const families = parsePrometheusText(new TextDecoder().decode(answer.bytes));
    const produced = families.get('pyralog_produce_bytes_total');
    expect(produced?.type).toBe('counter');
    expect(produced?.samples).toEqual([
      { name: 'pyralog_produce_bytes_total', labels: { shard: '0' }, value: 4096 },
      { name: 'pyralog_produce_bytes_total', labels: { shard: '1' }, value: 1024 },
    ]);
    const append = families.get('pyralog_append_seconds');
    expect(append?.type).toBe('histogram');
    expect(append?.samples.find((s) => s.name === 'pyralog_append_seconds_count')?.value).toBe(6);
    expect(append?.samples.find((s) => s.labels.le === '0.001')?.value).toBe(3);
    expect(families.get('pyralog_http_requests_in_flight')?.samples[0]?.value).toBe(1);
  });

  it('counts HTTP answers by route pattern and status, never by raw URL', async () => {
    for (let i = 0; i < 3; i++) await call(app.base, `/topics/missing-${i}`);
    await call(app.base, '/health');
    await call(app.base, '/no/such/route');
    const families = parsePrometheusText(new TextDecoder().decode((await call(app.base, '/metrics')).bytes));
    const requests = families.get('pyralog_http_requests_total')?.samples ?? [];
    const count = (route: string, status: string) =>
      requests.find((s) => s.labels.route === route && s.labels.status === status)?.value;
    expect(count('/topics/:topic', '404')).toBe(3);
    expect(count('/health', '200')).toBe(1);
    expect(count('*', '404')).toBe(1);
    expect(requests.every((s) => !s.labels.route?.includes('missing'))).toBe(true);
    expect(families.get('pyralog_http_body_buffered_bytes')?.samples[0]?.value).toBe(0);
  });

  it('the reader refuses text that is not Prometheus format', () => {
    expect(() => parsePrometheusText('x 1')).toThrow(/newline/);
    expect(() => parsePrometheusText('x 1\n')).toThrow(/before its TYPE/);
    expect(() => parsePrometheusText('# TYPE x counter\nx{a="1" 1\n')).toThrow();
    expect(() => parsePrometheusText('# TYPE x counter\nx one\n')).toThrow(/bad value/);
    expect(() =>
      parsePrometheusText('# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_count 1\n'),
    ).toThrow(/cumulative/);
  });
});
