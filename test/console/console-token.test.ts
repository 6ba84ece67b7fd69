import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSecurityConfig } from '../../src/common/security-config.js';
import { AclOperation, AclPatternType, AclPermission, AclResourceType } from '../../src/security/acl.js';
import { AclStore } from '../../src/security/acl-store.js';
import { TokenStore } from '../../src/security/token-store.js';
import { type Broker, startBroker } from '../../src/server/broker.js';
import { consoleDirectory } from '../../src/server/http-console-routes.js';
import { testBrokerConfig } from '../support/engine-fixture.js';
import { makeTempDir } from '../support/temp-dir.js';

/**
 * The web console against a broker that requires credentials (a SASL listener is configured, so
 * HTTP and WebSocket need them): Debian's chromium driven by playwright-core. Without a token
 * the console gets 401s; with a bearer token pasted into its token field it lists topics and
 * tails one over the WebSocket (which authenticates with its first message); with a token of a
 * user who may describe one topic only, it lists that one.
 */
const CHROMIUM = process.env.PYRALOG_CHROMIUM ?? '/usr/bin/chromium';

describe.skipIf(!existsSync(CHROMIUM))('web console with a token', () => {
  const temp = makeTempDir('console-token');
  let broker: Broker;
  let base: string;
  let browser: Browser;
  let page: Page;
  let adminToken = '';
  let readerToken = '';

  beforeAll(async () => {
    expect(existsSync(join(consoleDirectory(), 'index.html')), 'npm run build builds the console').toBe(true);
    const dataDir = join(temp.dir, 'data');
    new AclStore(dataDir).add([
      {
        resourceType: AclResourceType.TOPIC,
        resourceName: 'visible',
        patternType: AclPatternType.LITERAL,
        principal: 'User:reader',
        host: '*',
        operation: AclOperation.READ,
        permission: AclPermission.ALLOW,
      },
    ]);
    const tokens = new TokenStore(dataDir);
    adminToken = tokens.issue('admin', 600_000).token;
    readerToken = tokens.issue('reader', 600_000).token;
    broker = await startBroker(
      testBrokerConfig(dataDir, {
        fsync: 'never',
        superUsers: ['User:admin'],
        security: {
          ...defaultSecurityConfig,
          listeners: [
            { protocol: 'SASL_PLAINTEXT', host: '127.0.0.1', port: 0 },
            { protocol: 'HTTP', host: '127.0.0.1', port: 0 },
          ],
        },
      }),
    );
    base = `http://127.0.0.1:${broker.httpPort}`;
    for (const name of ['visible', 'secret']) {
      const created = await fetch(`${base}/topics`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminToken}` },
        body: JSON.stringify({ name, partitions: 1 }),
      });
      expect(created.status).toBe(201);
    }
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--no-first-run',
      ],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await broker?.stop();
    temp.cleanup();
  });

  const useToken = async (token: string): Promise<void> => {
    // Typing then leaving the field fires its change event once, as for a person pasting a token.
    await page.locator('#token').fill(token);
    await page.locator('#token').blur();
  };
  const listedTopics = async (): Promise<string[]> => {
    await page.getByTestId('topics-table').waitFor();
    return page.locator('[data-testid="topics-table"] tbody a').allTextContents();
  };

  it('given no token should show the 401 instead of the topics', async () => {
    await page.goto(`${base}/`);
    await page.locator('.error', { hasText: 'credentials required' }).first().waitFor();
    expect(await page.getByTestId('topics-table').count()).toBe(0);
  }, 30_000);

  it('given an admin token should list the topics and tail one over the authenticated WebSocket', async () => {
    await page.goto(`${base}/`);
    await useToken(adminToken);
    // The admin also sees the internal __consumer_offsets topic.
    expect((await listedTopics()).filter((name) => !name.startsWith('__')).sort()).toEqual([
      'secret',
      'visible',
    ]);
    await page.goto(`${base}/#/topics/visible`);
    await page.getByTestId('partitions-table').waitFor();
    await page.getByTestId('start-tail').click();
    await page.locator('[data-testid="tail-status"][data-state="live"]').waitFor();
    const produced = await fetch(`${base}/topics/visible/records?acks=1`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}` },
      body: JSON.stringify([{ key: 'k0', value: 'through-the-token' }]),
    });
    expect(produced.status).toBe(200);
    await page.locator('[data-testid="tail"] li .key', { hasText: 'k0' }).waitFor();
  }, 60_000);

  it("given a reader's token should list only the topic it may describe", async () => {
    await page.goto(`${base}/`);
    await useToken(readerToken);
    expect(await listedTopics()).toEqual(['visible']);
  }, 30_000);
});
