import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveServeConfig } from '../../src/cli/serve-options.js';
import { CredentialStore } from '../../src/security/credential-store.js';
import { SaslServerExchange, type SaslStep } from '../../src/security/sasl-server.js';
import { makeTempDir } from '../support/temp-dir.js';

/** A SCRAM client written from RFC 5802 with node:crypto, independent of the server's helpers. */
function scramClient(hashName: 'sha256' | 'sha512', user: string, password: string, extensions = '') {
  const clientNonce = randomBytes(18).toString('base64');
  const bare = `n=${user},r=${clientNonce}${extensions}`;
  return {
    first: Buffer.from(`n,,${bare}`),
    final(serverFirst: string): { bytes: Buffer; expectedServerSignature: string } {
      const attrs = Object.fromEntries(serverFirst.split(',').map((a) => [a[0], a.slice(2)]));
      const salted = pbkdf2Sync(
        password,
        Buffer.from(attrs.s!, 'base64'),
        Number(attrs.i),
        hashName === 'sha256' ? 32 : 64,
        hashName,
      );
      const clientKey = createHmac(hashName, salted).update('Client Key').digest();
      const storedKey = createHash(hashName).update(clientKey).digest();
      const withoutProof = `c=biws,r=${attrs.r}`;
      const authMessage = `${bare},${serverFirst},${withoutProof}`;
      const signature = createHmac(hashName, storedKey).update(authMessage).digest();
      const proof = Buffer.from(clientKey.map((b, i) => b ^ signature[i]!));
      const serverKey = createHmac(hashName, salted).update('Server Key').digest();
      return {
        bytes: Buffer.from(`${withoutProof},p=${proof.toString('base64')}`),
        expectedServerSignature: `v=${createHmac(hashName, serverKey).update(authMessage).digest('base64')}`,
      };
    },
  };
}

describe('SASL exchanges', () => {
  let store: CredentialStore;
  let cleanup = (): void => {};
  beforeAll(async () => {
    const temp = makeTempDir('sasl-exchange');
    cleanup = temp.cleanup;
    store = CredentialStore.open(temp.dir);
    await store.setPassword('alice', 'SCRAM-SHA-512', 'alice-pw');
    await store.setPassword('sam', 'SCRAM-SHA-256', 'sam-pw');
  });
  afterAll(() => cleanup());

  for (const [mechanism, hashName, user, password] of [
    ['SCRAM-SHA-512', 'sha512', 'alice', 'alice-pw'],
    ['SCRAM-SHA-256', 'sha256', 'sam', 'sam-pw'],
  ] as const) {
    it(`given a ${mechanism} client with the right password should succeed and prove the server knows the key`, async () => {
      const client = scramClient(hashName, user, password);
      const exchange = new SaslServerExchange(mechanism, store);
      const first = await exchange.step(client.first);
      expect(first.kind).toBe('challenge');
      const final = client.final((first as { bytes: Buffer }).bytes.toString());
      const last = await exchange.step(final.bytes);
      expect(last).toMatchObject({ kind: 'success', principal: { type: 'User', name: user } });
      expect((last as { bytes: Buffer }).bytes.toString()).toBe(final.expectedServerSignature);
    });

    it(`given a ${mechanism} client with a wrong password should fail`, async () => {
      const client = scramClient(hashName, user, 'nope');
      const exchange = new SaslServerExchange(mechanism, store);
      const first = (await exchange.step(client.first)) as { bytes: Buffer };
      const last = await exchange.step(client.final(first.bytes.toString()).bytes);
      expect(last).toMatchObject({ kind: 'failure', message: expect.stringMatching(/invalid credentials/) });
    });
  }

  it('given an unknown user should answer a challenge like a known one and fail at the end', async () => {
    const client = scramClient('sha512', 'nobody', 'x');
    const exchange = new SaslServerExchange('SCRAM-SHA-512', store);
    const first = await exchange.step(client.first);
    expect(first.kind).toBe('challenge');
    const last = await exchange.step(client.final((first as { bytes: Buffer }).bytes.toString()).bytes);
    expect(last.kind).toBe('failure');
  });

  it('given a tokenauth extension or channel binding should refuse them', async () => {
    const withToken = scramClient('sha512', 'alice', 'alice-pw', ',tokenauth=true');
    expect(await new SaslServerExchange('SCRAM-SHA-512', store).step(withToken.first)).toMatchObject({
      kind: 'failure',
      message: expect.stringMatching(/tokenauth/),
    });
    expect(
      await new SaslServerExchange('SCRAM-SHA-512', store).step(Buffer.from('p=tls-unique,,n=alice,r=abc')),
    ).toMatchObject({ kind: 'failure', message: expect.stringMatching(/channel binding/) });
  });

  it('given PLAIN with the right and wrong passwords, and a foreign authzid, should answer accordingly', async () => {
    const plain = (text: string): Promise<SaslStep> =>
      new SaslServerExchange('PLAIN', store).step(Buffer.from(text));
    expect(await plain('\u0000alice\u0000alice-pw')).toMatchObject({
      kind: 'success',
      principal: { name: 'alice' },
    });
    expect(await plain('alice\u0000alice\u0000alice-pw')).toMatchObject({ kind: 'success' });
    expect(await plain('\u0000alice\u0000wrong')).toMatchObject({ kind: 'failure' });
    expect(await plain('sam\u0000alice\u0000alice-pw')).toMatchObject({ kind: 'failure' });
    expect(await plain('alice-pw')).toMatchObject({ kind: 'failure' });
  });

  it('given random tokens in any order should end every exchange with a failure and never throw', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512' as const),
        fc.array(
          fc.oneof(
            fc.uint8Array({ maxLength: 300 }),
            fc.string({ maxLength: 120 }).map((s) => Buffer.from(`n,,n=alice,r=${s}`)),
            fc.string({ maxLength: 120 }).map((s) => Buffer.from(`c=biws,r=${s},p=${s}`)),
            fc.constant(new Uint8Array(9000)),
          ),
          { minLength: 1, maxLength: 4 },
        ),
        async (mechanism, tokens) => {
          const exchange = new SaslServerExchange(mechanism, store);
          for (const token of tokens) {
            const step = await exchange.step(token);
            expect(step.kind).not.toBe('success');
          }
        },
      ),
      { numRuns: 150 },
    );
  }, 30_000);
});

describe('--listeners and the security options', () => {
  const resolve = (argv: string[]) => resolveServeConfig(argv, {}, 2);

  it('given no --listeners should keep the default plaintext loopback listener', () => {
    const config = resolve([]);
    expect(config.security.listeners).toBeNull();
    expect(config.host).toBe('127.0.0.1');
    expect(config.kafkaPort).toBe(9092);
  });

  it('given several listeners should parse them and take the first Kafka one as the advertised port', () => {
    const config = resolve([
      '--listeners',
      'PLAINTEXT://127.0.0.1:9092,SASL_SSL://0.0.0.0:9093,HTTP://127.0.0.1:8081',
      '--tls-cert-file',
      'c.pem',
      '--tls-key-file',
      'k.pem',
    ]);
    expect(config.security.listeners).toEqual([
      { protocol: 'PLAINTEXT', host: '127.0.0.1', port: 9092 },
      { protocol: 'SASL_SSL', host: '0.0.0.0', port: 9093 },
      { protocol: 'HTTP', host: '127.0.0.1', port: 8081 },
    ]);
    expect(config.httpPort).toBe(8081);
    expect(config.advertisedPort).toBe(9092);
  });

  it('given a non-loopback listener without authentication should refuse to start, naming it, unless allowed', () => {
    expect(() => resolve(['--listeners', 'PLAINTEXT://0.0.0.0:9092'])).toThrow(
      /PLAINTEXT:\/\/0\.0\.0\.0:9092.*--allow-insecure-listeners/,
    );
    expect(() => resolve(['--listeners', 'HTTP://10.0.0.1:8080'])).toThrow(/HTTP:\/\/10\.0\.0\.1:8080/);
    expect(
      resolve(['--listeners', 'PLAINTEXT://0.0.0.0:9092', '--allow-insecure-listeners']).security
        .allowInsecureListeners,
    ).toBe(true);
    expect(() => resolveServeConfig([], { PYRALOG_LISTENERS: 'PLAINTEXT://0.0.0.0:9092' }, 2)).toThrow(
      /non-loopback/,
    );
  });

  it('given an HTTPS listener should take its port for HTTP, and allow it off loopback only while HTTP needs credentials', () => {
    const tls = ['--tls-cert-file', 'c.pem', '--tls-key-file', 'k.pem'];
    const config = resolve(['--listeners', 'SASL_SSL://0.0.0.0:9093,HTTPS://0.0.0.0:8443', ...tls]);
    expect(config.security.listeners).toContainEqual({ protocol: 'HTTPS', host: '0.0.0.0', port: 8443 });
    expect(config.httpPort).toBe(8443);
    // Without a listener that authenticates, or with --http-anonymous, HTTPS identifies nobody.
    expect(() => resolve(['--listeners', 'PLAINTEXT://127.0.0.1:9092,HTTPS://0.0.0.0:8443', ...tls])).toThrow(
      /HTTPS:\/\/0\.0\.0\.0:8443.*non-loopback/,
    );
    expect(() =>
      resolve(['--listeners', 'SASL_SSL://0.0.0.0:9093,HTTPS://0.0.0.0:8443', '--http-anonymous', ...tls]),
    ).toThrow(/HTTPS:\/\/0\.0\.0\.0:8443/);
    expect(() => resolve(['--listeners', 'HTTPS://127.0.0.1:8443'])).toThrow(/--tls-cert-file/);
  });

  it('given a TLS listener without a certificate, or an unknown protocol, should say what is missing', () => {
    expect(() => resolve(['--listeners', 'SSL://127.0.0.1:9093'])).toThrow(/--tls-cert-file/);
    expect(() => resolve(['--listeners', 'QUIC://127.0.0.1:9093'])).toThrow(/unknown listener protocol QUIC/);
    expect(() =>
      resolve(['--listeners', 'SASL_PLAINTEXT://127.0.0.1:9093', '--sasl-enabled-mechanisms', 'GSSAPI']),
    ).toThrow(/GSSAPI/);
  });
});
