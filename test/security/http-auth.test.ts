import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GroupCoordinator } from '../../src/groups/group-coordinator.js';
import type { FrontDoor } from '../../src/protocol/front-door-deps.js';
import { AccessControl } from '../../src/security/access-control.js';
import {
  type AclBinding,
  AclOperation,
  AclPatternType,
  AclPermission,
  AclResourceType,
} from '../../src/security/acl.js';
import { AclStore } from '../../src/security/acl-store.js';
import { CredentialStore } from '../../src/security/credential-store.js';
import { HttpAuthenticator } from '../../src/security/http-authenticator.js';
import { TokenStore } from '../../src/security/token-store.js';
import { type Broker, startBroker } from '../../src/server/broker.js';
import { startHttpServer } from '../../src/server/http-server.js';
import { testBrokerConfig } from '../support/engine-fixture.js';
import { testFrontDoorDeps } from '../support/front-door-deps.js';
import { MemoryEngine } from '../support/memory-engine.js';
import { makeTempDir } from '../support/temp-dir.js';

const allow = (
  principal: string,
  operation: AclBinding['operation'],
  resourceType: AclBinding['resourceType'],
  resourceName: string,
): AclBinding => ({
  resourceType,
  resourceName,
  patternType: AclPatternType.LITERAL,
  principal,
  host: '*',
  operation,
  permission: AclPermission.ALLOW,
});

const basic = (user: string, password: string) => ({
  authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
});

describe('HTTP authentication (credentials required)', () => {
  const temp = makeTempDir('http-auth');
  let server: FrontDoor;
  let groups: GroupCoordinator;
  let base: string;
  let tokens: TokenStore;

  beforeAll(async () => {
    const credentials = CredentialStore.open(temp.dir);
    await credentials.setPassword('alice', 'SCRAM-SHA-512', 'alice-secret');
    tokens = new TokenStore(temp.dir);
    const engine = new MemoryEngine();
    await engine.createTopic('orders', 1);
    const deps = await testFrontDoorDeps(engine);
    groups = deps.groups;
    const access = new AccessControl(new AclStore(temp.dir), {
      superUsers: [],
      allowEveryoneIfNoAclFound: true,
      audit: () => {},
    });
    server = await startHttpServer(
      { ...deps, access },
      { authenticator: new HttpAuthenticator(credentials, tokens, false) },
    );
    base = `http://127.0.0.1:${server.port}`;
  });
  afterAll(async () => {
    await server.close();
    await groups.close();
    temp.cleanup();
  });

  it('answers /health without credentials and 401 with the JSON error shape elsewhere', async () => {
    expect((await fetch(`${base}/health`)).status).toBe(200);
    const refused = await fetch(`${base}/topics`);
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toContain('Basic');
    expect(await refused.json()).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
  });

  it('accepts Basic with the right password and refuses a wrong one', async () => {
    expect((await fetch(`${base}/topics`, { headers: basic('alice', 'alice-secret') })).status).toBe(200);
    expect((await fetch(`${base}/topics`, { headers: basic('alice', 'wrong') })).status).toBe(401);
    expect((await fetch(`${base}/topics`, { headers: basic('mallory', 'alice-secret') })).status).toBe(401);
  });

  it('accepts a bearer token until it is revoked, and refuses a forged or expired one', async () => {
    const issued = tokens.issue('alice', 3_600_000);
    const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
    expect((await fetch(`${base}/topics`, { headers: bearer(issued.token) })).status).toBe(200);
    const forged = `${issued.token.slice(0, -2)}xx`;
    expect((await fetch(`${base}/topics`, { headers: bearer(forged) })).status).toBe(401);
    const expired = tokens.issue('alice', 1, Date.now() - 10_000);
    expect((await fetch(`${base}/topics`, { headers: bearer(expired.token) })).status).toBe(401);
    // Revoked through another store on the same directory, as `pyralog token revoke --data` does.
    new TokenStore(temp.dir).revoke(issued.id, issued.expiresAtMs);
    const revoked = await fetch(`${base}/topics`, { headers: bearer(issued.token) });
    expect(revoked.status).toBe(401);
    expect(await revoked.json()).toMatchObject({ error: { message: 'token revoked' } });
  });
});

describe('HTTP ACL checks on the real broker (anonymous, everyone denied what no ACL names)', () => {
  const temp = makeTempDir('http-acl');
  let broker: Broker;
  let base: string;

  beforeAll(async () => {
    const dataDir = join(temp.dir, 'data');
    new AclStore(dataDir).add([
      allow('User:ANONYMOUS', AclOperation.ALL, AclResourceType.CLUSTER, 'kafka-cluster'),
      allow('User:ANONYMOUS', AclOperation.WRITE, AclResourceType.TOPIC, 'orders'),
    ]);
    broker = await startBroker(
      testBrokerConfig(dataDir, { allowEveryoneIfNoAclFound: false, sqlIsolation: 'thread' }),
      { kafka: false },
    );
    base = `http://127.0.0.1:${broker.httpPort}`;
    const created = await fetch(`${base}/topics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'orders', partitions: 1 }),
    });
    expect(created.status).toBeLessThan(300);
  });
  afterAll(async () => {
    await broker.stop();
    temp.cleanup();
  });

  const produce = (topic: string) =>
    fetch(`${base}/topics/${topic}/records`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{ value: 'hello' }]),
    });

  it('produces with Write, and refuses 403 a topic without it', async () => {
    expect((await produce('orders')).status).toBe(200);
    const denied = await produce('payments');
    expect(denied.status).toBe(403);
    expect(await denied.json()).toMatchObject({ error: { code: 'FORBIDDEN' } });
  });

  it('lists only the topics the principal may describe (Write implies Describe)', async () => {
    const created = await fetch(`${base}/topics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'hidden', partitions: 1 }),
    });
    expect(created.status).toBe(201);
    const listed = (await (await fetch(`${base}/topics`)).json()) as { topics: { name: string }[] };
    expect(listed.topics.map((topic) => topic.name)).toEqual(['orders']);
  });

  it('refuses a read, an export, SQL and a delete without Read or Delete', async () => {
    expect((await fetch(`${base}/topics/orders/partitions/0/records?offset=0`)).status).toBe(403);
    expect((await fetch(`${base}/topics/orders/export`)).status).toBe(403);
    const sql = await fetch(`${base}/sql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sql: 'SELECT count(*) AS n FROM orders' }),
    });
    expect(sql.status).toBe(403);
    expect(await sql.json()).toMatchObject({ error: { code: 'FORBIDDEN' } });
    expect((await fetch(`${base}/topics/orders`, { method: 'DELETE' })).status).toBe(403);
  });
});
