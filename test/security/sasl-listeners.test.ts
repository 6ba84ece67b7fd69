import { readFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSecurityConfig } from '../../src/common/security-config.js';
import { ApiKey } from '../../src/protocol/kafka/api.js';
import { CredentialStore } from '../../src/security/credential-store.js';
import { type Broker, startBroker } from '../../src/server/broker.js';
import { testBrokerConfig } from '../support/engine-fixture.js';
import { KafkaWire } from '../support/kafka-wire.js';
import { runCommand } from '../support/run-command.js';
import { makeTempDir } from '../support/temp-dir.js';
import { makeTestCertificates, type TestCertificates } from '../support/test-certificates.js';

/**
 * Listeners with TLS and SASL against real clients: kcat (librdkafka), kafkajs and kafka-python,
 * with certificates made by openssl for this run and users made in the credential store first.
 */
describe('TLS and SASL listeners', () => {
  let broker: Broker;
  let certs: TestCertificates;
  let cleanup = (): void => {};
  let tempDir = '';
  const port = (protocol: string): number => broker.kafkaListeners.find((l) => l.protocol === protocol)!.port;

  beforeAll(async () => {
    const temp = makeTempDir('sasl-listeners');
    cleanup = temp.cleanup;
    tempDir = temp.dir;
    certs = makeTestCertificates(temp.dir);
    const dataDir = `${temp.dir}/data`;
    const store = CredentialStore.open(dataDir);
    await store.setPassword('alice', 'SCRAM-SHA-512', 'alice-secret');
    await store.setPassword('sam', 'SCRAM-SHA-256', 'sam-secret');
    await store.setPassword('bob', 'PLAIN', 'bob-secret');
    broker = await startBroker(
      testBrokerConfig(dataDir, {
        // Authorization is not what this file tests: the users it makes may do everything.
        superUsers: ['User:alice', 'User:bob', 'User:sam'],
        security: {
          ...defaultSecurityConfig,
          listeners: [
            { protocol: 'PLAINTEXT', host: '127.0.0.1', port: 0 },
            { protocol: 'SASL_SSL', host: '127.0.0.1', port: 0 },
            { protocol: 'SASL_PLAINTEXT', host: '127.0.0.1', port: 0 },
            { protocol: 'SSL', host: '127.0.0.1', port: 0 },
          ],
          tlsCertFile: certs.serverCert,
          tlsKeyFile: certs.serverKey,
          tlsCaFile: certs.caCert,
          tlsClientAuth: 'request',
          authenticationTimeoutMs: 1500,
          authenticationFailureDelayMs: 50,
        },
      }),
      { http: false },
    );
  }, 60_000);
  afterAll(async () => {
    await broker?.stop();
    cleanup();
  });

  const kcatSasl = (
    mechanism: string,
    user: string,
    password: string,
    args: readonly string[],
    input?: string,
  ) =>
    runCommand(
      'kcat',
      [
        '-b',
        `127.0.0.1:${port('SASL_SSL')}`,
        '-X',
        'security.protocol=SASL_SSL',
        '-X',
        `sasl.mechanisms=${mechanism}`,
        '-X',
        `sasl.username=${user}`,
        '-X',
        `sasl.password=${password}`,
        '-X',
        `ssl.ca.location=${certs.caCert}`,
        '-m',
        '5',
        ...args,
      ],
      input,
      20_000,
    );

  it('given kcat over SASL_SSL with SCRAM-SHA-512 should produce and consume', async () => {
    await kcatSasl(
      'SCRAM-SHA-512',
      'alice',
      'alice-secret',
      ['-P', '-t', 'scram-orders'],
      'one\ntwo\nthree\n',
    );
    const out = await kcatSasl('SCRAM-SHA-512', 'alice', 'alice-secret', [
      '-C',
      '-t',
      'scram-orders',
      '-o',
      'beginning',
      '-e',
      '-q',
    ]);
    expect(out.trim().split('\n')).toEqual(['one', 'two', 'three']);
  }, 30_000);

  it('given kcat over SASL_SSL with PLAIN should produce and consume', async () => {
    await kcatSasl('PLAIN', 'bob', 'bob-secret', ['-P', '-t', 'plain-orders'], 'a\nb\n');
    const out = await kcatSasl('PLAIN', 'bob', 'bob-secret', [
      '-C',
      '-t',
      'plain-orders',
      '-o',
      'beginning',
      '-e',
      '-q',
    ]);
    expect(out.trim().split('\n')).toEqual(['a', 'b']);
  }, 30_000);

  it('given a wrong password (SCRAM and PLAIN) should be refused with an authentication failure', async () => {
    await expect(kcatSasl('SCRAM-SHA-512', 'alice', 'wrong', ['-L'])).rejects.toThrow(/[Aa]uthenticat/);
    await expect(kcatSasl('PLAIN', 'bob', 'wrong', ['-L'])).rejects.toThrow(/[Aa]uthenticat/);
    await expect(kcatSasl('SCRAM-SHA-512', 'nobody', 'alice-secret', ['-L'])).rejects.toThrow(
      /[Aa]uthenticat/,
    );
  }, 60_000);

  it('given kafkajs over SSL with SASL/SCRAM-SHA-256 should produce and read back', async () => {
    const kafka = new Kafka({
      clientId: 'sasl-test',
      brokers: [`127.0.0.1:${port('SASL_SSL')}`],
      ssl: { ca: [readFileSync(certs.caCert)] },
      sasl: { mechanism: 'scram-sha-256', username: 'sam', password: 'sam-secret' },
      logLevel: logLevel.NOTHING,
      retry: { retries: 3, initialRetryTime: 100 },
    });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'kafkajs-scram', messages: [{ value: 'hello' }] });
    await producer.disconnect();
    const admin = kafka.admin();
    await admin.connect();
    const offsets = await admin.fetchTopicOffsets('kafkajs-scram');
    await admin.disconnect();
    expect(offsets[0]?.high).toBe('1');
  }, 30_000);

  it('given kafka-python over SASL_SSL with SCRAM-SHA-512 should produce and consume', async () => {
    const script = `
import sys
from kafka import KafkaProducer, KafkaConsumer
common = dict(bootstrap_servers='127.0.0.1:${port('SASL_SSL')}', security_protocol='SASL_SSL',
              sasl_mechanism='SCRAM-SHA-512', sasl_plain_username='alice', sasl_plain_password='alice-secret',
              ssl_cafile='${certs.caCert}', api_version_auto_timeout_ms=10000)
p = KafkaProducer(**common)
p.send('python-scram', b'from-python').get(timeout=10)
p.close()
c = KafkaConsumer('python-scram', auto_offset_reset='earliest', consumer_timeout_ms=5000, **common)
print([m.value.decode() for m in c])
c.close()
`;
    const out = await runCommand('/usr/bin/python3', ['-c', script], '', 40_000);
    expect(out).toContain("['from-python']");
  }, 45_000);

  it('given requests beyond ApiVersions before authentication should close the connection', async () => {
    const wire = await KafkaWire.open(port('SASL_PLAINTEXT'));
    try {
      wire.request(ApiKey.API_VERSIONS, 0, 1, () => {});
      expect((await wire.next())?.correlationId).toBe(1);
      wire.request(ApiKey.METADATA, 1, 2, (w) => w.int32(-1));
      // Well before the authentication deadline (1500 ms), and without an answer.
      expect(await wire.closedWithin(500)).toBe(true);
      expect(await wire.next(10)).toBeNull();
    } finally {
      wire.close();
    }
  });

  it('given an unauthenticated connection sending a frame past the pre-auth bound should close it', async () => {
    const wire = await KafkaWire.open(port('SASL_PLAINTEXT'));
    try {
      const header = Buffer.alloc(4);
      header.writeInt32BE(128 * 1024);
      wire.send(header);
      expect(await wire.closedWithin(3000)).toBe(true);
    } finally {
      wire.close();
    }
  });

  it('given a SASL connection that never authenticates should close it after the authentication timeout', async () => {
    const wire = await KafkaWire.open(port('SASL_PLAINTEXT'));
    try {
      const started = Date.now();
      expect(await wire.closedWithin(5000)).toBe(true);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    } finally {
      wire.close();
    }
  });

  it('given a slowloris on the TLS handshake should close it after the timeout', async () => {
    const socket = netConnect(port('SSL'), '127.0.0.1');
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(Buffer.from([0x16, 0x03, 0x01])); // the start of a ClientHello, and nothing more
    const started = Date.now();
    const closed = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 6000);
      socket.once('close', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    expect(closed).toBe(true);
    expect(Date.now() - started).toBeLessThan(6000);
  }, 10_000);

  it('given a TLS handshake cut off at every byte should close each connection and keep serving', async () => {
    // Record a real ClientHello (sent to a plain TCP server that keeps the first bytes), then replay
    // each prefix of it to the TLS listener and hang up.
    const { createServer } = await import('node:net');
    const hello = await new Promise<Buffer>((resolve) => {
      const server = createServer((socket) => {
        socket.once('data', (chunk: Buffer) => {
          resolve(chunk);
          socket.destroy();
          server.close();
        });
      });
      server.listen(0, '127.0.0.1', () => {
        const address = server.address() as import('node:net').AddressInfo;
        const client = tlsConnect({ port: address.port, host: '127.0.0.1', rejectUnauthorized: false });
        client.on('error', () => undefined);
      });
    });
    expect(hello[0]).toBe(0x16);
    const cutAt = Math.min(hello.length, 400);
    const deadline = Date.now() + 20_000;
    for (let bytes = 1; bytes < cutAt && Date.now() < deadline; bytes += bytes < 64 ? 1 : 7) {
      await new Promise<void>((resolve) => {
        const socket = netConnect(port('SASL_SSL'), '127.0.0.1', () => {
          socket.end(hello.subarray(0, bytes));
        });
        socket.on('error', () => resolve());
        socket.on('close', () => resolve());
        socket.resume();
      });
    }
    // Still serving TLS after all of that.
    const out = await kcatSasl('SCRAM-SHA-512', 'alice', 'alice-secret', ['-L']);
    expect(out).toContain('broker');
  }, 40_000);

  it('given SIGHUP with a new certificate should keep a live connection and serve the new certificate to a new one', async () => {
    const fingerprint = (): Promise<{ fingerprint: string; socket: import('node:tls').TLSSocket }> =>
      new Promise((resolve, reject) => {
        const socket = tlsConnect(
          { port: port('SSL'), host: '127.0.0.1', ca: readFileSync(certs.caCert) },
          () => resolve({ fingerprint: socket.getPeerCertificate().fingerprint256, socket }),
        );
        socket.once('error', reject);
      });
    // openssl runs synchronously on this thread, which the in-process broker shares: make the new
    // files before the live connection exists, or a slow openssl stalls its TLS handshake past the timeout.
    const next = certs.server('server-2');
    const before = await fingerprint();
    // The broker reads the paths it was given: put the new files there, then reload.
    const { copyFileSync } = await import('node:fs');
    copyFileSync(next.cert, certs.serverCert);
    copyFileSync(next.key, certs.serverKey);
    broker.reloadSecurity();
    const after = await fingerprint();
    expect(after.fingerprint).not.toBe(before.fingerprint);
    // The connection made before the reload still answers requests.
    const answered = await new Promise<boolean>((resolve) => {
      const frame = KafkaWire.frame(ApiKey.API_VERSIONS, 0, 7, () => {});
      const timer = setTimeout(() => resolve(false), 5000);
      before.socket.once('data', () => {
        clearTimeout(timer);
        resolve(true);
      });
      before.socket.write(frame);
    });
    expect(answered).toBe(true);
    before.socket.destroy();
    after.socket.destroy();
    expect(tempDir).not.toBe('');
  }, 20_000);
});
