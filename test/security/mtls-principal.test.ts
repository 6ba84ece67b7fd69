import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSecurityConfig } from '../../src/common/security-config.js';
import { type Broker, startBroker } from '../../src/server/broker.js';
import { testBrokerConfig } from '../support/engine-fixture.js';
import { runCommand } from '../support/run-command.js';
import { makeTempDir } from '../support/temp-dir.js';
import { makeTestCertificates, type TestCertificates } from '../support/test-certificates.js';

/**
 * An SSL listener requiring client certificates: the principal is User:<subject CN>, so with
 * authentication on (ACLs deny what none allows) a super user's certificate may produce, another
 * user's may not, and a client without a certificate does not get past the handshake.
 */
describe('mTLS principal', () => {
  let broker: Broker;
  let certs: TestCertificates;
  let cleanup = (): void => {};
  beforeAll(async () => {
    const temp = makeTempDir('mtls');
    cleanup = temp.cleanup;
    certs = makeTestCertificates(temp.dir);
    broker = await startBroker(
      testBrokerConfig(`${temp.dir}/data`, {
        superUsers: ['User:carol'],
        security: {
          ...defaultSecurityConfig,
          listeners: [{ protocol: 'SSL', host: '127.0.0.1', port: 0 }],
          tlsCertFile: certs.serverCert,
          tlsKeyFile: certs.serverKey,
          tlsCaFile: certs.caCert,
          tlsClientAuth: 'require',
        },
      }),
      { http: false },
    );
  }, 60_000);
  afterAll(async () => {
    await broker?.stop();
    cleanup();
  });

  const kcat = (client: { cert: string; key: string } | null, args: readonly string[], input?: string) =>
    runCommand(
      'kcat',
      [
        '-b',
        `127.0.0.1:${broker.kafkaPort}`,
        '-X',
        'security.protocol=SSL',
        '-X',
        `ssl.ca.location=${certs.caCert}`,
        ...(client === null
          ? []
          : ['-X', `ssl.certificate.location=${client.cert}`, '-X', `ssl.key.location=${client.key}`]),
        '-m',
        '5',
        ...args,
      ],
      input,
      20_000,
    );

  it('given the certificate of super user carol should produce and consume', async () => {
    const carol = certs.client('carol');
    await kcat(carol, ['-P', '-t', 'mtls-orders'], 'x\ny\n');
    const out = await kcat(carol, ['-C', '-t', 'mtls-orders', '-o', 'beginning', '-e', '-q']);
    expect(out.trim().split('\n')).toEqual(['x', 'y']);
  }, 30_000);

  it('given the certificate of eve, who no ACL names, should be refused the write', async () => {
    const eve = certs.client('eve');
    await expect(kcat(eve, ['-P', '-t', 'mtls-orders'], 'z\n')).rejects.toThrow(/[Aa]uthoriz/);
  }, 30_000);

  it('given no client certificate should fail the handshake', async () => {
    await expect(kcat(null, ['-L'])).rejects.toThrow(/SSL|handshake|certificate|broker/i);
  }, 30_000);
});
