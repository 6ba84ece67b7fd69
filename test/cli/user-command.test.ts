import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import { ApiKey } from '../../src/protocol/kafka/api.js';
import { credentialsPath } from '../../src/security/credential-store.js';
import { KafkaWire } from '../support/kafka-wire.js';
import { runPyralog, type ServeProcess, startServe } from '../support/serve-process.js';
import { makeTempDir } from '../support/temp-dir.js';
import { makeTestCertificates } from '../support/test-certificates.js';

/** `pyralog user` on a data directory, and a running broker picking its changes up on SIGHUP. */
describe('pyralog user', () => {
  let cleanup = (): void => {};
  let serve: ServeProcess | null = null;
  afterEach(async () => {
    if (serve !== null) {
      serve.child.kill('SIGKILL');
      await serve.exited;
      serve = null;
    }
    cleanup();
  });
  const tempDir = (): string => {
    const temp = makeTempDir('user-cli');
    cleanup = temp.cleanup;
    return temp.dir;
  };

  it('given create, list and delete should manage users, read passwords from stdin only, and keep none on disk', async () => {
    const dir = tempDir();
    const created = await runPyralog(
      ['user', 'create', 'alice', '--mechanism', 'SCRAM-SHA-256', '--password-stdin', '--data', dir],
      20_000,
      'alice-secret\n',
    );
    expect(created.code).toBe(0);
    expect(readFileSync(credentialsPath(dir), 'utf8')).not.toContain('alice-secret');
    const listed = await runPyralog(['user', 'list', '--data', dir, '--format', 'json']);
    expect(JSON.parse(listed.stdout)).toEqual({
      users: [{ name: 'alice', credentials: [{ mechanism: 'SCRAM-SHA-256', iterations: 4096 }] }],
    });
    const noStdin = await runPyralog(['user', 'create', 'bob', '--data', dir]);
    expect(noStdin.code).toBe(2);
    expect(noStdin.stderr).toMatch(/--password-stdin/);
    const badMechanism = await runPyralog(
      ['user', 'create', 'bob', '--mechanism', 'MD5', '--password-stdin', '--data', dir],
      20_000,
      'x',
    );
    expect(badMechanism.code).toBe(2);
    expect((await runPyralog(['user', 'delete', 'alice', '--data', dir])).code).toBe(0);
    expect((await runPyralog(['user', 'delete', 'alice', '--data', dir])).code).toBe(4);
  }, 60_000);

  it('given --url and admin credentials should create, list and delete users on the running broker at once, over HTTPS', async () => {
    const dir = tempDir();
    const certDir = join(dir, 'certs');
    mkdirSync(certDir);
    const certs = makeTestCertificates(certDir);
    const admin = await runPyralog(
      ['user', 'create', 'admin', '--password-stdin', '--data', dir],
      20_000,
      'admin-pw',
    );
    expect(admin.code).toBe(0);
    serve = await startServe([
      '--data',
      dir,
      '--listeners',
      'SASL_PLAINTEXT://127.0.0.1:0,HTTPS://127.0.0.1:0',
      '--tls-cert-file',
      certs.serverCert,
      '--tls-key-file',
      certs.serverKey,
      '--super-users',
      'User:admin',
      '--authentication-failure-delay-ms',
      '0',
    ]);
    const url = `https://127.0.0.1:${serve.httpPort}`;
    // The CLI checks the broker's certificate against the system CAs and NODE_EXTRA_CA_CERTS.
    const trust = { NODE_EXTRA_CA_CERTS: certs.caCert };
    const asAdmin = { ...trust, PYRALOG_USER: 'admin', PYRALOG_PASSWORD: 'admin-pw' };
    const plainLogin = async (user: string, password: string): Promise<number> => {
      const wire = await KafkaWire.open(serve!.kafkaPort);
      try {
        wire.request(ApiKey.SASL_HANDSHAKE, 1, 1, (w) => w.string('PLAIN'));
        await wire.next();
        wire.request(ApiKey.SASL_AUTHENTICATE, 0, 2, (w) =>
          w.bytesField(Buffer.from(`\u0000${user}\u0000${password}`)),
        );
        return (await wire.next())!.reader.int16();
      } finally {
        wire.close();
      }
    };
    const create = (env: NodeJS.ProcessEnv, name: string, password: string) =>
      runPyralog(['user', 'create', name, '--password-stdin', '--url', url], 20_000, password, env);

    // No credentials: 401 from the broker, exit code 6 (refused), nothing created.
    const anonymous = await create(trust, 'erin', 'erin-pw');
    expect(anonymous.code).toBe(6);
    expect(anonymous.stderr).toMatch(/UNAUTHORIZED/);

    const created = await create(asAdmin, 'erin', 'erin-pw');
    expect(created.code).toBe(0);
    // Served at once: no SIGHUP, no file edit.
    expect(await plainLogin('erin', 'erin-pw')).toBe(KafkaErrorCode.NONE);
    expect(readFileSync(credentialsPath(dir), 'utf8')).not.toContain('erin-pw');

    // A user without Alter on the cluster is refused (403, exit 6).
    const notAdmin = await create(
      { ...trust, PYRALOG_USER: 'erin', PYRALOG_PASSWORD: 'erin-pw' },
      'frank',
      'f',
    );
    expect(notAdmin.code).toBe(6);
    expect(notAdmin.stderr).toMatch(/FORBIDDEN/);

    const listed = await runPyralog(
      ['user', 'list', '--url', url, '--format', 'json'],
      20_000,
      undefined,
      asAdmin,
    );
    expect(listed.code).toBe(0);
    expect((JSON.parse(listed.stdout) as { users: { name: string }[] }).users.map((u) => u.name)).toEqual([
      'admin',
      'erin',
    ]);

    expect(
      (await runPyralog(['user', 'delete', 'erin', '--url', url], 20_000, undefined, asAdmin)).code,
    ).toBe(0);
    expect(await plainLogin('erin', 'erin-pw')).toBe(KafkaErrorCode.SASL_AUTHENTICATION_FAILED);
    expect(
      (await runPyralog(['user', 'delete', 'erin', '--url', url], 20_000, undefined, asAdmin)).code,
    ).toBe(4);
  }, 60_000);

  it('given a user created while the broker runs should let it log in after SIGHUP', async () => {
    const dir = tempDir();
    serve = await startServe([
      '--data',
      dir,
      '--listeners',
      'SASL_PLAINTEXT://127.0.0.1:0,HTTP://127.0.0.1:0',
      '--authentication-failure-delay-ms',
      '0',
    ]);
    const plainLogin = async (): Promise<number> => {
      const wire = await KafkaWire.open(serve!.kafkaPort);
      try {
        wire.request(ApiKey.SASL_HANDSHAKE, 1, 1, (w) => w.string('PLAIN'));
        await wire.next();
        wire.request(ApiKey.SASL_AUTHENTICATE, 0, 2, (w) =>
          w.bytesField(Buffer.from('\u0000dave\u0000dave-pw')),
        );
        return (await wire.next())!.reader.int16();
      } finally {
        wire.close();
      }
    };
    expect(await plainLogin()).toBe(KafkaErrorCode.SASL_AUTHENTICATION_FAILED);
    const created = await runPyralog(
      ['user', 'create', 'dave', '--mechanism', 'PLAIN', '--password-stdin', '--data', dir],
      20_000,
      'dave-pw',
    );
    expect(created.code).toBe(0);
    serve.child.kill('SIGHUP');
    const deadline = Date.now() + 5000;
    while (!serve.stderr().includes('reloaded') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    expect(await plainLogin()).toBe(KafkaErrorCode.NONE);
  }, 60_000);
});
