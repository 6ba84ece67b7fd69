import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { defaultSecurityConfig } from '../../src/common/security-config.js';
import { AclOperation, AclPatternType, AclPermission, AclResourceType } from '../../src/security/acl.js';
import { AclStore } from '../../src/security/acl-store.js';
import { CredentialStore } from '../../src/security/credential-store.js';
import { TokenStore } from '../../src/security/token-store.js';
import { type Broker, startBroker } from '../../src/server/broker.js';
import { type HttpFrontDoor, startHttpServer } from '../../src/server/http-server.js';
import { testBrokerConfig } from '../support/engine-fixture.js';
import { testFrontDoorDeps } from '../support/front-door-deps.js';
import { MemoryEngine } from '../support/memory-engine.js';
import { makeTempDir } from '../support/temp-dir.js';
import { makeTestCertificates, type TestCertificates } from '../support/test-certificates.js';

interface Answer {
  status: number;
  body: string;
  /** SHA-256 fingerprint of the certificate the server showed on this connection. */
  fingerprint: string;
  /** The local port of the connection, to tell a reused keep-alive connection from a new one. */
  localPort: number;
}

/**
 * HTTPS and WSS on uWebSockets.js's SSL app: a broker with a SASL_SSL listener (so HTTP requires
 * credentials) and an HTTPS listener, certificates made by openssl for this run. Basic and bearer
 * credentials, an ACL denial, a WSS subscription, a plaintext client refused, and a SIGHUP-style
 * reload that serves the new certificate to new connections while an open keep-alive connection
 * and an open WebSocket keep working.
 */
describe('HTTPS listener', () => {
  let broker: Broker;
  let certs: TestCertificates;
  let ca: Buffer;
  let aliceToken = '';
  let cleanup = (): void => {};
  const adminBasic = `Basic ${Buffer.from('admin:admin-secret').toString('base64')}`;

  beforeAll(async () => {
    const temp = makeTempDir('https-listener');
    cleanup = temp.cleanup;
    certs = makeTestCertificates(temp.dir);
    ca = readFileSync(certs.caCert);
    const dataDir = `${temp.dir}/data`;
    await CredentialStore.open(dataDir).setPassword('admin', 'SCRAM-SHA-512', 'admin-secret');
    new AclStore(dataDir).add([
      {
        resourceType: AclResourceType.TOPIC,
        resourceName: 'orders',
        patternType: AclPatternType.LITERAL,
        principal: 'User:alice',
        host: '*',
        operation: AclOperation.READ,
        permission: AclPermission.ALLOW,
      },
    ]);
    aliceToken = new TokenStore(dataDir).issue('alice', 600_000).token;
    broker = await startBroker(
      testBrokerConfig(dataDir, {
        superUsers: ['User:admin'],
        security: {
          ...defaultSecurityConfig,
          listeners: [
            { protocol: 'SASL_SSL', host: '127.0.0.1', port: 0 },
            { protocol: 'HTTPS', host: '127.0.0.1', port: 0 },
          ],
          tlsCertFile: certs.serverCert,
          tlsKeyFile: certs.serverKey,
        },
      }),
    );
    const created = await send(
      'POST',
      '/topics',
      { authorization: adminBasic },
      { name: 'orders', partitions: 1 },
    );
    expect(created.status).toBe(201);
  }, 60_000);
  afterAll(async () => {
    await broker?.stop();
    cleanup();
  });

  /** One HTTPS request, bounded to 5 s, checked against the test CA. */
  function send(
    method: string,
    path: string,
    headers: Record<string, string> = {},
    json?: unknown,
    agent?: Agent,
  ): Promise<Answer> {
    const body = json === undefined ? undefined : JSON.stringify(json);
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        {
          host: '127.0.0.1',
          port: broker.httpPort,
          method,
          path,
          ca,
          agent: agent ?? false,
          timeout: 5000,
          headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        },
        (res) => {
          const socket = res.socket as TLSSocket;
          const fingerprint = socket.getPeerCertificate().fingerprint256;
          const localPort = socket.localPort ?? -1;
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, fingerprint, localPort }));
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in 5 s`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  /** A WSS connection with bounded waits (5 s) for each message. */
  async function openWss(headers: Record<string, string>): Promise<{
    socket: WebSocket;
    next: (match: (message: Record<string, unknown>) => boolean) => Promise<Record<string, unknown>>;
  }> {
    const socket = new WebSocket(`wss://127.0.0.1:${broker.httpPort}/ws`, { ca, headers });
    const inbox: Record<string, unknown>[] = [];
    socket.on('message', (data: Buffer) =>
      inbox.push(JSON.parse(data.toString('utf8')) as Record<string, unknown>),
    );
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    const next = async (match: (message: Record<string, unknown>) => boolean) => {
      const deadline = Date.now() + 5000;
      for (;;) {
        const index = inbox.findIndex(match);
        if (index >= 0) return inbox.splice(index, 1)[0]!;
        if (Date.now() > deadline) throw new Error('no matching WebSocket message in 5 s');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    return { socket, next };
  }

  it('produces with Basic, reads with a bearer token, and refuses what the ACLs do not allow', async () => {
    const produced = await send('POST', '/topics/orders/records', { authorization: adminBasic }, [
      { value: 'over-tls' },
    ]);
    expect(produced.status).toBe(200);
    const bearer = { authorization: `Bearer ${aliceToken}` };
    const read = await send('GET', '/topics/orders/partitions/0/records?offset=0', bearer);
    expect(read.status).toBe(200);
    expect(read.body).toContain('over-tls');
    // alice may Read, not Write.
    expect((await send('POST', '/topics/orders/records', bearer, [{ value: 'x' }])).status).toBe(403);
    // No credentials at all: 401, as on plain HTTP once a listener authenticates.
    expect((await send('GET', '/topics')).status).toBe(401);
    expect((await send('GET', '/health')).status).toBe(200);
  });

  it('subscribes over WSS and gets records pushed as they land', async () => {
    const peer = await openWss({ authorization: `Bearer ${aliceToken}` });
    peer.socket.send(
      JSON.stringify({ op: 'subscribe', id: 4, topic: 'orders', partition: 0, from: 'latest' }),
    );
    expect(await peer.next((m) => m.id === 4)).toMatchObject({ ok: true, sub: 4 });
    const produced = await send('POST', '/topics/orders/records', { authorization: adminBasic }, [
      { value: 'pushed-over-wss' },
    ]);
    expect(produced.status).toBe(200);
    const push = await peer.next((m) => m.sub === 4 && m.id === undefined);
    expect(JSON.stringify(push.records)).toContain('pushed-over-wss');
    peer.socket.close();
  });

  it('refuses a plaintext HTTP client on the HTTPS port', async () => {
    // Closed by the broker (its TLS handshake fails), not left hanging until the client gives up.
    const outcome = await fetch(`http://127.0.0.1:${broker.httpPort}/health`, {
      signal: AbortSignal.timeout(5000),
    }).then(
      (response) => `answered ${response.status}`,
      (error: Error) => error.name,
    );
    expect(outcome).not.toMatch(/^answered/);
    expect(outcome).not.toBe('TimeoutError');
    // And keeps serving TLS clients.
    expect((await send('GET', '/health')).status).toBe(200);
  });

  it('given new certificate files and a reload should serve them to new connections and keep open ones', async () => {
    // openssl runs synchronously on this thread, which the in-process broker shares: make the new
    // files before the live connections exist.
    const next = certs.server('server-2');
    const keepAlive = new Agent({ keepAlive: true, maxSockets: 1, ca });
    const before = await send('GET', '/health', {}, undefined, keepAlive);
    const peer = await openWss({ authorization: adminBasic });
    copyFileSync(next.cert, certs.serverCert);
    copyFileSync(next.key, certs.serverKey);
    broker.reloadSecurity();

    const fresh = await send('GET', '/health');
    expect(fresh.status).toBe(200);
    expect(fresh.fingerprint).not.toBe(before.fingerprint);
    // The keep-alive connection made before the reload is the one that answers, with its old certificate.
    const reused = await send('GET', '/topics', { authorization: adminBasic }, undefined, keepAlive);
    expect(reused).toMatchObject({
      status: 200,
      fingerprint: before.fingerprint,
      localPort: before.localPort,
    });
    // The WebSocket opened before the reload still answers.
    peer.socket.send(
      JSON.stringify({
        op: 'produce',
        id: 7,
        topic: 'orders',
        records: [{ value: 'after-reload' }],
        acks: 1,
      }),
    );
    expect(await peer.next((m) => m.id === 7)).toMatchObject({ ok: true });
    peer.socket.close();
    keepAlive.destroy();
  }, 30_000);
});

/**
 * The HTTPS server alone with a CA file (`--tls-client-auth request`): uWS asks for a client
 * certificate, lets a client without one through, and fails the handshake of one signed by
 * another CA. A handshake that never finishes is closed by uWS's idle timeout. And a reload with
 * a key that does not match the certificate is refused.
 */
describe('HTTPS client certificates and a refused reload', () => {
  let server: HttpFrontDoor;
  let certs: TestCertificates;
  let strangers: TestCertificates;
  let close = async (): Promise<void> => {};
  let cleanup = (): void => {};

  beforeAll(async () => {
    const temp = makeTempDir('https-client-certs');
    cleanup = temp.cleanup;
    mkdirSync(`${temp.dir}/ours`);
    mkdirSync(`${temp.dir}/theirs`);
    certs = makeTestCertificates(`${temp.dir}/ours`);
    strangers = makeTestCertificates(`${temp.dir}/theirs`);
    const deps = await testFrontDoorDeps(new MemoryEngine());
    server = await startHttpServer(deps, {
      tls: { certFile: certs.serverCert, keyFile: certs.serverKey, caFile: certs.caCert },
    });
    close = async () => {
      await server.close();
      await deps.groups.close();
    };
  }, 60_000);
  afterAll(async () => {
    await close();
    cleanup();
  });

  const health = (client?: { cert: string; key: string }): Promise<number | string> =>
    new Promise((resolve) => {
      const req = httpsRequest(
        {
          host: '127.0.0.1',
          port: server.port,
          path: '/health',
          ca: readFileSync(certs.caCert),
          agent: false,
          timeout: 5000,
          ...(client === undefined ? {} : { cert: readFileSync(client.cert), key: readFileSync(client.key) }),
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (error) => resolve(error.message));
      req.end();
    });

  it('serves a client without a certificate and one the CA signed, and refuses one from another CA', async () => {
    expect(await health()).toBe(200);
    expect(await health(certs.client('carol'))).toBe(200);
    const refused = await health(strangers.client('mallory'));
    expect(refused).not.toBe(200);
    expect(refused).not.toBe('timeout');
  }, 30_000);

  it('given a client that never finishes its TLS handshake should close it within 20 s (uWS idle timeout)', async () => {
    const closedWithinMs = (send: Buffer | null): Promise<number> =>
      new Promise((resolve) => {
        const startedMs = Date.now();
        const socket = connect(server.port, '127.0.0.1', () => {
          if (send !== null) socket.write(send);
        });
        const timer = setTimeout(() => {
          socket.destroy();
          resolve(Number.POSITIVE_INFINITY);
        }, 20_000);
        socket.on('error', () => undefined);
        socket.on('close', () => {
          clearTimeout(timer);
          resolve(Date.now() - startedMs);
        });
      });
    // Silent, and the first bytes of a ClientHello: both held open only until uWS's 10 s idle timeout.
    const [silent, partial] = await Promise.all([
      closedWithinMs(null),
      closedWithinMs(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01])),
    ]);
    expect(silent).toBeLessThan(20_000);
    expect(partial).toBeLessThan(20_000);
    expect(await health()).toBe(200);
  }, 30_000);

  it('given a key that does not match should refuse the reload and keep serving', async () => {
    const other = certs.server('server-2');
    const keyBefore = readFileSync(certs.serverKey);
    copyFileSync(other.key, certs.serverKey);
    try {
      expect(() => server.reloadTls()).toThrow();
    } finally {
      writeFileSync(certs.serverKey, keyBefore);
    }
    expect(await health()).toBe(200);
  }, 30_000);
});
