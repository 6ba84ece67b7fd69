import { writeFileSync } from 'node:fs';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient } from '../../src/cluster/etcd/etcd-client.js';
import { defaultSecurityConfig } from '../../src/common/security-config.js';
import { CredentialStore } from '../../src/security/credential-store.js';
import { type Broker, startBroker } from '../../src/server/broker.js';
import { testBrokerConfig } from '../support/engine-fixture.js';
import { type EtcdCluster, etcdAvailable, startEtcd } from '../support/etcd.js';
import { makeTempDir } from '../support/temp-dir.js';
import { makeTestCertificates } from '../support/test-certificates.js';

/**
 * A secured cluster: etcd serves its client port over TLS and requires client certificates
 * (--client-cert-auth), the brokers reach it with the test CA and a client certificate; and the
 * followers fetch from their leaders over a SASL_SSL inter-broker listener as the broker principal
 * (SCRAM-SHA-512, a super user), while clients use a PLAINTEXT listener on loopback. An acks=all
 * produce on a topic of replication factor 2 is answered only once the follower fetched it, so its
 * success shows replication over the secured link.
 */

async function eventually(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`not within ${timeoutMs} ms: ${what}`);
}

describe.skipIf(!etcdAvailable)('inter-broker SASL_SSL and etcd over TLS', () => {
  let etcd: EtcdCluster;
  const brokers: Broker[] = [];
  const temps: (() => void)[] = [];

  beforeAll(async () => {
    const temp = makeTempDir('inter-broker-tls');
    temps.push(temp.cleanup);
    // Certificates and credentials before any broker starts: openssl and PBKDF2 block this process.
    const certs = makeTestCertificates(temp.dir);
    const etcdClient = certs.client('etcd-client');
    etcd = await startEtcd({
      tls: {
        certFile: certs.serverCert,
        keyFile: certs.serverKey,
        caFile: certs.caCert,
        clientCertFile: etcdClient.cert,
        clientKeyFile: etcdClient.key,
      },
    });
    const passwordFile = `${temp.dir}/broker-password`;
    writeFileSync(passwordFile, 'broker-secret\n', { mode: 0o600 });
    const dataDirs = [1, 2].map((id) => `${temp.dir}/b${id}`);
    for (const dataDir of dataDirs) {
      await CredentialStore.open(dataDir).setPassword('broker', 'SCRAM-SHA-512', 'broker-secret');
    }
    for (const id of [1, 2]) {
      brokers.push(
        await startBroker(
          testBrokerConfig(dataDirs[id - 1]!, {
            nodeId: id,
            shardCount: 1,
            etcdEndpoints: etcd.endpoints,
            clusterName: 'secured',
            etcdLeaseTtlMs: 2000,
            superUsers: ['User:broker'],
            // Clients here are anonymous on the loopback PLAINTEXT listener; the broker user is what is tested.
            allowEveryoneIfNoAclFound: true,
            security: {
              ...defaultSecurityConfig,
              listeners: [
                { protocol: 'PLAINTEXT', host: '127.0.0.1', port: 0 },
                { protocol: 'SASL_SSL', host: '127.0.0.1', port: 0 },
              ],
              tlsCertFile: certs.serverCert,
              tlsKeyFile: certs.serverKey,
              tlsCaFile: certs.caCert,
              interBrokerListener: 'SASL_SSL',
              interBrokerSaslMechanism: 'SCRAM-SHA-512',
              interBrokerSaslUsername: 'broker',
              interBrokerSaslPasswordFile: passwordFile,
              etcdTlsCaFile: certs.caCert,
              etcdTlsCertFile: etcdClient.cert,
              etcdTlsKeyFile: etcdClient.key,
            },
          }),
          { http: false },
        ),
      );
    }
    await eventually(() => brokers[0]!.cluster!.liveBrokers().length === 2, 20_000, 'two live brokers');
  }, 120_000);

  afterAll(async () => {
    await Promise.all(brokers.map((broker) => broker.stop()));
    await etcd?.stop();
    for (const cleanup of temps) cleanup();
  });

  it('given etcd requiring client certificates, should refuse a client without one', async () => {
    const bare = new EtcdClient({ endpoints: etcd.endpoints, requestTimeoutMs: 2000 });
    await expect(bare.range('/pyralog/secured/', { prefix: true })).rejects.toThrow();
  });

  it('given --inter-broker-listener SASL_SSL, should register that listener as where followers fetch', () => {
    const saslPort = (broker: Broker) => broker.kafkaListeners.find((l) => l.protocol === 'SASL_SSL')!.port;
    for (const viewer of brokers) {
      expect(viewer.cluster!.brokerEndpoint(1)).toEqual({ host: '127.0.0.1', port: saslPort(brokers[0]!) });
      expect(viewer.cluster!.brokerEndpoint(2)).toEqual({ host: '127.0.0.1', port: saslPort(brokers[1]!) });
    }
  });

  it('given a topic of replication factor 2, should acknowledge acks=all produces replicated over SASL_SSL', async () => {
    const kafka = new Kafka({
      clientId: 'inter-broker-tls',
      brokers: [`127.0.0.1:${brokers[0]!.kafkaPort}`],
      logLevel: logLevel.NOTHING,
      retry: { retries: 8, initialRetryTime: 100 },
    });
    const admin = kafka.admin();
    await admin.connect();
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    try {
      await admin.createTopics({
        topics: [{ topic: 'secured', numPartitions: 2, replicationFactor: 2 }],
        waitForLeaders: true,
      });
      await producer.connect();
      const answers = await producer.send({
        topic: 'secured',
        acks: -1,
        timeout: 15_000,
        messages: Array.from({ length: 10 }, (_, i) => ({ partition: i % 2, value: `m${i}` })),
      });
      expect(answers.map((answer) => answer.errorCode)).toEqual(answers.map(() => 0));
      const offsets = await admin.fetchTopicOffsets('secured');
      expect(offsets.map((o) => Number(o.high)).reduce((a, b) => a + b, 0)).toBe(10);
    } finally {
      await producer.disconnect();
      await admin.disconnect();
    }
  }, 60_000);
});
