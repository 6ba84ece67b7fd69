import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSecurityConfig } from '../../src/common/security-config.js';
import { PeerConnection } from '../../src/replication/peer-connection.js';
import { CredentialStore } from '../../src/security/credential-store.js';
import { saltedPassword } from '../../src/security/scram.js';
import { type Broker, startBroker } from '../../src/server/broker.js';
import { testBrokerConfig } from '../support/engine-fixture.js';
import { type EtcdCluster, etcdAvailable, startEtcd } from '../support/etcd.js';
import { makeTempDir } from '../support/temp-dir.js';

/**
 * SCRAM credentials shared through etcd in cluster mode (docs/security.md): two real brokers with a
 * SASL_PLAINTEXT listener on loopback. The first admin, made in broker 1's data directory before it
 * starts, seeds etcd and can log in to broker 2; a user made through broker 1 can log in to broker 2
 * within a bounded time; a user deleted through broker 2 can no longer log in to broker 1.
 */

const PROPAGATION_TIMEOUT_MS = 10_000;

async function eventually(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`not within ${timeoutMs} ms: ${what}`);
}

describe.skipIf(!etcdAvailable)('users in etcd shared by two brokers', () => {
  let etcd: EtcdCluster;
  const brokers: Broker[] = [];
  const temps: (() => void)[] = [];

  beforeAll(async () => {
    etcd = await startEtcd();
    for (const id of [1, 2]) {
      const temp = makeTempDir(`etcd-users-${id}`);
      temps.push(temp.cleanup);
      if (id === 1)
        await CredentialStore.open(temp.dir).setPassword('admin', 'SCRAM-SHA-512', 'admin-secret');
      brokers.push(
        await startBroker(
          testBrokerConfig(temp.dir, {
            nodeId: id,
            shardCount: 1,
            etcdEndpoints: etcd.endpoints,
            clusterName: 'users',
            etcdLeaseTtlMs: 2000,
            allowEveryoneIfNoAclFound: true,
            security: {
              ...defaultSecurityConfig,
              listeners: [
                { protocol: 'PLAINTEXT', host: '127.0.0.1', port: 0 },
                { protocol: 'SASL_PLAINTEXT', host: '127.0.0.1', port: 0 },
              ],
              authenticationFailureDelayMs: 0,
            },
          }),
          { http: false },
        ),
      );
    }
  }, 120_000);

  afterAll(async () => {
    await Promise.all(brokers.map((broker) => broker.stop()));
    await etcd?.stop();
    for (const cleanup of temps) cleanup();
  });

  /** Whether `user` can log in with SCRAM-SHA-512 on broker `index`'s SASL listener. */
  async function logsIn(index: number, user: string, password: string): Promise<boolean> {
    const port = brokers[index]!.kafkaListeners.find((l) => l.protocol === 'SASL_PLAINTEXT')!.port;
    try {
      const connection = await PeerConnection.open({
        host: '127.0.0.1',
        port,
        clientId: 'etcd-users',
        requestTimeoutMs: 5000,
        maxFrameBytes: 1 << 20,
        sasl: { mechanism: 'SCRAM-SHA-512', username: user, password },
      });
      connection.close();
      return true;
    } catch {
      return false;
    }
  }

  it('given the first admin in broker 1’s data directory before start, should log in to broker 2', async () => {
    await eventually(() => logsIn(1, 'admin', 'admin-secret'), PROPAGATION_TIMEOUT_MS, 'admin on broker 2');
    expect(await logsIn(1, 'admin', 'wrong')).toBe(false);
  });

  it('given a user made through broker 1, should log in to broker 2; deleted through broker 2, should not log in to broker 1', async () => {
    expect(await logsIn(1, 'carol', 'carol-secret')).toBe(false);
    const salt = randomBytes(32);
    const salted = await saltedPassword('SCRAM-SHA-512', 'carol-secret', salt, 4096);
    // What AlterUserScramCredentials and POST /users/NAME do on the broker that serves them.
    brokers[0]!.credentials.putSaltedPassword('carol', 'SCRAM-SHA-512', salt, salted, 4096);
    expect(await logsIn(0, 'carol', 'carol-secret')).toBe(true);
    await eventually(() => logsIn(1, 'carol', 'carol-secret'), PROPAGATION_TIMEOUT_MS, 'carol on broker 2');

    expect(brokers[1]!.credentials.deleteUser('carol')).toBe(true);
    expect(await logsIn(1, 'carol', 'carol-secret')).toBe(false);
    await eventually(
      async () => !(await logsIn(0, 'carol', 'carol-secret')),
      PROPAGATION_TIMEOUT_MS,
      'carol gone from broker 1',
    );
  });
});
