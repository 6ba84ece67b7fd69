import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import { defaultSecurityConfig } from '../../src/common/security-config.js';
import {
  type FetchResponseData,
  fetchRequestDescription,
  fetchResponseDescription,
} from '../../src/protocol/kafka/fetch.js';
import { messageCodec } from '../../src/protocol/kafka/message/message-codec.js';
import {
  type OffsetForLeaderEpochResponse,
  offsetForLeaderEpochRequestDescription,
  offsetForLeaderEpochResponseDescription,
} from '../../src/protocol/kafka/offset-for-leader-epoch.js';
import { PeerConnection, type PeerConnectionOptions } from '../../src/replication/peer-connection.js';
import type { PeerSaslOptions } from '../../src/replication/peer-sasl.js';
import { AclOperation, AclPatternType, AclPermission, AclResourceType } from '../../src/security/acl.js';
import { AclStore } from '../../src/security/acl-store.js';
import { CredentialStore } from '../../src/security/credential-store.js';
import { type Broker, startBroker } from '../../src/server/broker.js';
import { testBrokerConfig } from '../support/engine-fixture.js';
import { makeTempDir } from '../support/temp-dir.js';
import { makeTestCertificates, type TestCertificates } from '../support/test-certificates.js';

/**
 * The connection a follower opens to its leader (PeerConnection) on a SASL_SSL listener, against a
 * real broker: TLS checked against the test CA, SASL (SCRAM-SHA-512, SCRAM-SHA-256, PLAIN) as the
 * broker principal; and the leader's check that replica requests come from a principal with
 * ClusterAction: the broker user (a super user) fetches as a replica; an ordinary user naming a
 * replica id is refused, with Kafka's codes: TOPIC_AUTHORIZATION_FAILED on every partition of the
 * Fetch, CLUSTER_AUTHORIZATION_FAILED on OffsetForLeaderEpoch.
 */
const fetchRequest = messageCodec<Record<string, unknown>>(fetchRequestDescription);
const fetchResponse = messageCodec<FetchResponseData>(fetchResponseDescription);
const epochRequest = messageCodec<Record<string, unknown>>(offsetForLeaderEpochRequestDescription);
const epochResponse = messageCodec<OffsetForLeaderEpochResponse>(offsetForLeaderEpochResponseDescription);

describe('inter-broker connections over SASL_SSL and the replica permission', () => {
  let broker: Broker;
  let certs: TestCertificates;
  let cleanup = (): void => {};

  beforeAll(async () => {
    const temp = makeTempDir('inter-broker-auth');
    cleanup = temp.cleanup;
    // Certificates and credentials first: openssl and PBKDF2 must not run beside a broker in this process.
    certs = makeTestCertificates(temp.dir);
    const dataDir = `${temp.dir}/data`;
    const store = CredentialStore.open(dataDir);
    await store.setPassword('broker', 'SCRAM-SHA-512', 'broker-secret');
    await store.setPassword('broker256', 'SCRAM-SHA-256', 'broker256-secret');
    await store.setPassword('reader', 'SCRAM-SHA-512', 'reader-secret');
    broker = await startBroker(
      testBrokerConfig(dataDir, {
        superUsers: ['User:broker', 'User:broker256'],
        security: {
          ...defaultSecurityConfig,
          listeners: [{ protocol: 'SASL_SSL', host: '127.0.0.1', port: 0 }],
          tlsCertFile: certs.serverCert,
          tlsKeyFile: certs.serverKey,
          authenticationFailureDelayMs: 10,
        },
      }),
      { http: false },
    );
    await broker.engine.createTopic('t', 1);
  }, 60_000);
  afterAll(async () => {
    await broker?.stop();
    cleanup();
  });

  const open = (
    sasl: PeerSaslOptions | null,
    tls: PeerConnectionOptions['tls'] = { ca: readFileSync(certs.caCert) },
  ) =>
    PeerConnection.open({
      host: '127.0.0.1',
      port: broker.kafkaPort,
      clientId: 'replica-test',
      requestTimeoutMs: 5000,
      maxFrameBytes: 1 << 20,
      tls,
      sasl,
    });

  const replicaFetch = async (connection: PeerConnection): Promise<number> => {
    const answer = await connection.send(
      1,
      12,
      fetchRequest,
      {
        replicaId: 2,
        maxWaitMs: 0,
        minBytes: 1,
        maxBytes: 1 << 20,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [
          {
            topic: 't',
            partitions: [
              {
                partition: 0,
                currentLeaderEpoch: -1,
                fetchOffset: 0,
                lastFetchedEpoch: -1,
                logStartOffset: -1,
                partitionMaxBytes: 1 << 20,
              },
            ],
          },
        ],
        forgottenTopicsData: [],
        rackId: '',
        clusterId: null,
      },
      fetchResponse,
    );
    return answer.topics[0]!.partitions[0]!.errorCode;
  };

  const replicaEpoch = async (connection: PeerConnection): Promise<number> => {
    const answer = await connection.send(
      23,
      4,
      epochRequest,
      {
        replicaId: 2,
        topics: [{ topic: 't', partitions: [{ partition: 0, currentLeaderEpoch: -1, leaderEpoch: 0 }] }],
      },
      epochResponse,
    );
    return answer.topics[0]!.partitions[0]!.errorCode;
  };

  for (const [mechanism, username, password] of [
    ['SCRAM-SHA-512', 'broker', 'broker-secret'],
    ['SCRAM-SHA-256', 'broker256', 'broker256-secret'],
    ['PLAIN', 'broker', 'broker-secret'],
  ] as const) {
    it(`given the broker user over ${mechanism}, should fetch as a replica`, async () => {
      const connection = await open({ mechanism, username, password });
      try {
        expect(await replicaFetch(connection)).toBe(KafkaErrorCode.NONE);
        expect(await replicaEpoch(connection)).not.toBe(KafkaErrorCode.CLUSTER_AUTHORIZATION_FAILED);
      } finally {
        connection.close();
      }
    });
  }

  it('given a user without ClusterAction naming a replica id, should refuse its Fetch and OffsetForLeaderEpoch', async () => {
    const connection = await open({
      mechanism: 'SCRAM-SHA-512',
      username: 'reader',
      password: 'reader-secret',
    });
    try {
      expect(await replicaFetch(connection)).toBe(KafkaErrorCode.TOPIC_AUTHORIZATION_FAILED);
      expect(await replicaEpoch(connection)).toBe(KafkaErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    } finally {
      connection.close();
    }
  });

  it('given a wrong password, should fail to open, naming SASL', async () => {
    await expect(open({ mechanism: 'SCRAM-SHA-512', username: 'broker', password: 'wrong' })).rejects.toThrow(
      /SASL SCRAM-SHA-512 .* as broker: SaslAuthenticate/,
    );
    await expect(open({ mechanism: 'PLAIN', username: 'broker', password: 'wrong' })).rejects.toThrow(
      /SASL PLAIN/,
    );
  });

  it('given no CA for the test certificate, should refuse the TLS handshake', async () => {
    await expect(
      open({ mechanism: 'SCRAM-SHA-512', username: 'broker', password: 'broker-secret' }, {}),
    ).rejects.toThrow(/certificate/i);
  });

  it('given no SASL on the SASL_SSL listener, should not get a replica fetch answered', async () => {
    const connection = await open(null);
    // A SASL listener closes a connection whose first request is not ApiVersions or SASL.
    await expect(replicaFetch(connection)).rejects.toThrow(/closed|reset|error/);
    connection.close();
  });
});

describe('inter-broker connections over SSL with client certificates, ClusterAction granted by an ACL', () => {
  let broker: Broker;
  let certs: TestCertificates;
  let replica: { cert: string; key: string };
  let stranger: { cert: string; key: string };
  let cleanup = (): void => {};

  beforeAll(async () => {
    const temp = makeTempDir('inter-broker-mtls');
    cleanup = temp.cleanup;
    certs = makeTestCertificates(temp.dir);
    replica = certs.client('replica-cn');
    stranger = certs.client('stranger-cn');
    const dataDir = `${temp.dir}/data`;
    // Not a super user: the broker principal gets ClusterAction (and nothing on the topic) from an ACL.
    new AclStore(dataDir).add([
      {
        resourceType: AclResourceType.CLUSTER,
        resourceName: 'kafka-cluster',
        patternType: AclPatternType.LITERAL,
        principal: 'User:replica-cn',
        host: '*',
        operation: AclOperation.CLUSTER_ACTION,
        permission: AclPermission.ALLOW,
      },
    ]);
    broker = await startBroker(
      testBrokerConfig(dataDir, {
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
    await broker.engine.createTopic('t', 1);
  }, 60_000);
  afterAll(async () => {
    await broker?.stop();
    cleanup();
  });

  const replicaFetchAs = async (client: { cert: string; key: string }): Promise<number> => {
    const connection = await PeerConnection.open({
      host: '127.0.0.1',
      port: broker.kafkaPort,
      clientId: 'replica-test',
      requestTimeoutMs: 5000,
      maxFrameBytes: 1 << 20,
      tls: { ca: readFileSync(certs.caCert), cert: readFileSync(client.cert), key: readFileSync(client.key) },
    });
    try {
      const answer = await connection.send(
        1,
        12,
        fetchRequest,
        {
          replicaId: 2,
          maxWaitMs: 0,
          minBytes: 1,
          maxBytes: 1 << 20,
          isolationLevel: 0,
          sessionId: 0,
          sessionEpoch: -1,
          topics: [
            {
              topic: 't',
              partitions: [
                {
                  partition: 0,
                  currentLeaderEpoch: -1,
                  fetchOffset: 0,
                  lastFetchedEpoch: -1,
                  logStartOffset: -1,
                  partitionMaxBytes: 1 << 20,
                },
              ],
            },
          ],
          forgottenTopicsData: [],
          rackId: '',
          clusterId: null,
        },
        fetchResponse,
      );
      return answer.topics[0]!.partitions[0]!.errorCode;
    } finally {
      connection.close();
    }
  };

  it('given the certificate of the principal the ACL allows ClusterAction, should fetch as a replica without topic Read', async () => {
    expect(await replicaFetchAs(replica)).toBe(KafkaErrorCode.NONE);
  });

  it('given another client certificate, should refuse the replica fetch', async () => {
    expect(await replicaFetchAs(stranger)).toBe(KafkaErrorCode.TOPIC_AUTHORIZATION_FAILED);
  });
});
