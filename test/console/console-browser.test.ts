import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Broker, startBroker } from '../../src/server/broker.js';
import { consoleDirectory } from '../../src/server/http-console-routes.js';
import { testBrokerConfig } from '../support/engine-fixture.js';
import { makeTempDir } from '../support/temp-dir.js';

/**
 * The web console in a real browser: Debian's chromium driven by
 * playwright-core (no browser download). Screenshots go to
 * test-output/console/, and to docs/images/ with PYRALOG_UPDATE_SCREENSHOTS=1.
 */
const CHROMIUM = process.env.PYRALOG_CHROMIUM ?? '/usr/bin/chromium';
const root = resolve(import.meta.dirname, '../..');
const screenshotDirs = [
  join(root, 'test-output', 'console'),
  ...(process.env.PYRALOG_UPDATE_SCREENSHOTS === '1' ? [join(root, 'docs', 'images')] : []),
];

describe.skipIf(!existsSync(CHROMIUM))('web console in chromium', () => {
  const temp = makeTempDir('console');
  let broker: Broker;
  let base: string;
  let browser: Browser;
  let page: Page;
  const produce = async (topic: string, records: object[]): Promise<void> => {
    const response = await fetch(`${base}/topics/${topic}/records?acks=1`, {
      method: 'POST',
      body: JSON.stringify(records),
    });
    expect(response.status).toBe(200);
  };
  const screenshot = async (name: string): Promise<void> => {
    for (const dir of screenshotDirs) {
      mkdirSync(dir, { recursive: true });
      await page.screenshot({ path: join(dir, `console-${name}.png`), fullPage: true });
    }
  };

  beforeAll(async () => {
    expect(existsSync(join(consoleDirectory(), 'index.html')), 'npm run build builds the console').toBe(true);
    broker = await startBroker(testBrokerConfig(join(temp.dir, 'data'), { fsync: 'never' }), {
      kafka: false,
    });
    base = `http://127.0.0.1:${broker.httpPort}`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('requestfailed', (request) => {
      // Anything outside this broker would be a CDN or tracker: the console must work offline.
      if (!request.url().startsWith(base) && !request.url().startsWith('blob:'))
        problems.push(`external: ${request.url()}`);
    });
    (page as unknown as { problems: string[] }).problems = problems;
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await broker?.stop();
    temp.cleanup();
  });

  it('given the overview should show the broker and charts that move with live data', async () => {
    await page.goto(`${base}/`);
    await page.getByTestId('cluster').locator('table').waitFor();
    await fetch(`${base}/topics`, { method: 'POST', body: JSON.stringify({ name: 'load', partitions: 2 }) });
    const deadline = Date.now() + 20_000;
    let produced = 0;
    // Produce for a few seconds while the overview polls /metrics every second.
    while (Date.now() < deadline) {
      await produce(
        'load',
        Array.from({ length: 200 }, (_, i) => ({ key: `k${i}`, value: 'x'.repeat(200) })),
      );
      produced++;
      const mbps = Number(
        (await page.getByTestId('throughput-chart').getAttribute('data-produce-mbps')) ?? '0',
      );
      const points = Number((await page.locator('.charts').first().getAttribute('data-points')) ?? '0');
      if (mbps > 0 && points >= 3) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(produced).toBeGreaterThan(0);
    expect(
      Number(await page.getByTestId('throughput-chart').getAttribute('data-produce-mbps')),
    ).toBeGreaterThan(0);
    expect(await page.locator('[data-testid="throughput-chart"] canvas').count()).toBeGreaterThan(0);
    expect(await page.locator('[data-testid="latency-chart"] canvas').count()).toBeGreaterThan(0);
    await screenshot('overview');
  }, 60_000);

  it('given a topic created in the console and a tail open should show records produced meanwhile, in order', async () => {
    await page.goto(`${base}/#/`);
    await page.getByTestId('new-topic-name').fill('orders');
    await page.getByTestId('new-topic-partitions').fill('2');
    await page.getByTestId('create-topic').click();
    await page.locator('[data-testid="topics-table"] a', { hasText: 'orders' }).waitFor();
    await page.goto(`${base}/#/topics/orders`);
    await page.getByTestId('partitions-table').waitFor();
    await page.getByTestId('start-tail').click();
    // Subscribed from the end: records produced before this point would not be shown.
    await page.locator('[data-testid="tail-status"][data-state="live"]').waitFor();
    for (let i = 0; i < 4; i++) {
      await produce(
        'orders',
        Array.from({ length: 5 }, (_, j) => ({
          partition: 1,
          key: `order-${i * 5 + j}`,
          value: JSON.stringify({ n: i * 5 + j }),
        })),
      );
    }
    await page.locator('[data-testid="tail"] li').nth(19).waitFor();
    const offsets = await page
      .locator('[data-testid="tail"] li')
      .evaluateAll((items) => items.map((item) => Number(item.getAttribute('data-offset'))));
    const keys = await page.locator('[data-testid="tail"] li .key').allTextContents();
    expect(offsets).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(keys).toEqual(Array.from({ length: 20 }, (_, i) => `order-${i}`));
    await screenshot('topic');
  }, 60_000);

  it('given a SQL query should show its result table', async () => {
    await page.goto(`${base}/#/sql`);
    await page
      .getByTestId('sql-editor')
      .fill(`SELECT key, (value->>'$.n')::INT AS n FROM orders WHERE "offset" < 3 ORDER BY n`);
    await page.getByTestId('sql-run').click();
    await page.getByTestId('sql-table').waitFor();
    const cells = await page
      .locator('[data-testid="sql-table"] tbody tr')
      .evaluateAll((rows) =>
        rows.map((row) => [...row.querySelectorAll('td')].map((cell) => cell.textContent)),
      );
    expect(cells).toEqual([
      ['order-0', '0'],
      ['order-1', '1'],
      ['order-2', '2'],
    ]);
    expect(await page.getByTestId('sql-status').textContent()).toContain('3 rows');
    await screenshot('sql');
  }, 60_000);

  it('given a group with committed offsets should show its lag per partition', async () => {
    await fetch(`${base}/groups/readers/offsets`, {
      method: 'POST',
      body: JSON.stringify({ offsets: [{ topic: 'orders', partition: 1, offset: 15 }] }),
    });
    await page.goto(`${base}/#/groups`);
    await page.locator('[data-testid="groups"] a', { hasText: 'readers' }).click();
    await page.getByTestId('lag-table').waitFor();
    const rows = await page
      .locator('[data-testid="lag-table"] tbody tr')
      .evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((cell) => cell.textContent)));
    expect(rows).toEqual([['orders', '1', '15', '20', '5']]);
  }, 60_000);

  it('given pyralog bench result files should chart their percentiles and throughput', async () => {
    const result = (label: string, scale: number) => ({
      label,
      producer: {
        recordsPerSecond: 1000 * scale,
        latencyUs: {
          p50: 100 * scale,
          p90: 200 * scale,
          p99: 400 * scale,
          p999: 800 * scale,
          p9999: 1600 * scale,
        },
      },
      consumer: null,
      throughputSeries: [900, 1000, 1100].map((v) => v * scale),
    });
    await page.goto(`${base}/#/bench`);
    await page.getByTestId('bench-files').setInputFiles([
      { name: 'a.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(result('a', 1))) },
      { name: 'b.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(result('b', 2))) },
    ]);
    await page.locator('[data-testid="bench-charts"] canvas').nth(1).waitFor();
    expect(await page.locator('[data-testid="bench-charts"] .u-legend').first().textContent()).toContain('b');
    await screenshot('bench');
    expect((page as unknown as { problems: string[] }).problems).toEqual([]);
  }, 60_000);
});
