import { pbkdf2Sync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import { defaultSecurityConfig } from '../../src/common/security-config.js';
import {
  type AlterUserScramCredentialsRequest,
  type AlterUserScramCredentialsResponse,
  alterUserScramCredentialsRequestDescription,
  alterUserScramCredentialsResponseDescription,
} from '../../src/protocol/kafka/alter-user-scram-credentials.js';
import { ApiKey } from '../../src/protocol/kafka/api.js';
import {
  type DescribeUserScramCredentialsRequest,
  type DescribeUserScramCredentialsResponse,
  describeUserScramCredentialsRequestDescription,
  describeUserScramCredentialsResponseDescription,
} from '../../src/protocol/kafka/describe-user-scram-credentials.js';
import { messageCodec } from '../../src/protocol/kafka/message/message-codec.js';
import { CredentialStore } from '../../src/security/credential-store.js';
import { userPrincipal } from '../../src/security/principal.js';
import { type Broker, startBroker } from '../../src/server/broker.js';
import { testBrokerConfig } from '../support/engine-fixture.js';
import { KafkaWire } from '../support/kafka-wire.js';
import { makeTempDir } from '../support/temp-dir.js';

/** DescribeUserScramCredentials and AlterUserScramCredentials on the wire, with their authorization. */
describe('SCRAM credential admin APIs', () => {
  let broker: Broker;
  let cleanup = (): void => {};
  beforeAll(async () => {
    const temp = makeTempDir('scram-apis');
    cleanup = temp.cleanup;
    const store = CredentialStore.open(temp.dir);
    await store.setPassword('admin', 'PLAIN', 'admin-pw');
    broker = await startBroker(
      testBrokerConfig(temp.dir, {
        superUsers: ['User:admin'],
        security: {
          ...defaultSecurityConfig,
          listeners: [
            { protocol: 'SASL_PLAINTEXT', host: '127.0.0.1', port: 0 },
            { protocol: 'PLAINTEXT', host: '127.0.0.1', port: 0 },
          ],
        },
      }),
      { http: false },
    );
  }, 30_000);
  afterAll(async () => {
    await broker?.stop();
    cleanup();
  });

  const alterRequest = messageCodec<AlterUserScramCredentialsRequest>(
    alterUserScramCredentialsRequestDescription,
  );
  const alterResponse = messageCodec<AlterUserScramCredentialsResponse>(
    alterUserScramCredentialsResponseDescription,
  );
  const describeRequest = messageCodec<DescribeUserScramCredentialsRequest>(
    describeUserScramCredentialsRequestDescription,
  );
  const describeResponse = messageCodec<DescribeUserScramCredentialsResponse>(
    describeUserScramCredentialsResponseDescription,
  );
  let correlation = 0;

  const adminWire = async (): Promise<KafkaWire> => {
    const wire = await KafkaWire.open(
      broker.kafkaListeners.find((l) => l.protocol === 'SASL_PLAINTEXT')!.port,
    );
    wire.request(ApiKey.SASL_HANDSHAKE, 1, ++correlation, (w) => w.string('PLAIN'));
    expect((await wire.next())!.reader.int16()).toBe(KafkaErrorCode.NONE);
    wire.request(ApiKey.SASL_AUTHENTICATE, 1, ++correlation, (w) =>
      w.bytesField(Buffer.from('\u0000admin\u0000admin-pw')),
    );
    expect((await wire.next())!.reader.int16()).toBe(KafkaErrorCode.NONE);
    return wire;
  };
  // Flexible requests: header v2 ends with an empty tagged-field section; so does response header v1.
  const alter = async (wire: KafkaWire, body: AlterUserScramCredentialsRequest) => {
    wire.request(ApiKey.ALTER_USER_SCRAM_CREDENTIALS, 0, ++correlation, (w) => {
      w.uvarint(0);
      alterRequest.encode(w, body, 0);
    });
    const reader = (await wire.next())!.reader;
    reader.taggedFields(null);
    return alterResponse.decode(reader, 0);
  };
  const describeUsers = async (wire: KafkaWire, users: { name: string }[] | null) => {
    wire.request(ApiKey.DESCRIBE_USER_SCRAM_CREDENTIALS, 0, ++correlation, (w) => {
      w.uvarint(0);
      describeRequest.encode(w, { users }, 0);
    });
    const reader = (await wire.next())!.reader;
    reader.taggedFields(null);
    return describeResponse.decode(reader, 0);
  };
  const salt = Buffer.from('a-salt-of-16-byt');
  const upsert = (name: string, password: string, iterations = 4096) => ({
    name,
    mechanism: 2,
    iterations,
    salt,
    saltedPassword: pbkdf2Sync(password, salt, iterations, 64, 'sha512'),
  });

  it('given an admin upserting a salted password should store a credential that password logs in with', async () => {
    const wire = await adminWire();
    try {
      const result = await alter(wire, { deletions: [], upsertions: [upsert('carol', 'carol-pw')] });
      expect(result.results).toEqual([{ user: 'carol', errorCode: KafkaErrorCode.NONE, errorMessage: null }]);
      expect(await broker.credentials.verifyPassword('carol', 'carol-pw')).toEqual(userPrincipal('carol'));
      const described = await describeUsers(wire, [{ name: 'carol' }, { name: 'nobody' }]);
      expect(described.errorCode).toBe(KafkaErrorCode.NONE);
      expect(described.results).toEqual([
        {
          user: 'carol',
          errorCode: 0,
          errorMessage: null,
          credentialInfos: [{ mechanism: 2, iterations: 4096 }],
        },
        {
          user: 'nobody',
          errorCode: KafkaErrorCode.RESOURCE_NOT_FOUND,
          errorMessage: expect.any(String),
          credentialInfos: [],
        },
      ]);
      const deleted = await alter(wire, { deletions: [{ name: 'carol', mechanism: 2 }], upsertions: [] });
      expect(deleted.results[0]?.errorCode).toBe(KafkaErrorCode.NONE);
      expect(await broker.credentials.verifyPassword('carol', 'carol-pw')).toBeNull();
    } finally {
      wire.close();
    }
  });

  it('given bad changes should answer each user with its error and change none of them', async () => {
    const wire = await adminWire();
    try {
      const result = await alter(wire, {
        deletions: [{ name: 'ghost', mechanism: 1 }],
        upsertions: [
          upsert('few', 'pw', 100),
          { ...upsert('weird', 'pw'), mechanism: 9 },
          upsert('twice', 'a'),
          upsert('twice', 'b'),
        ],
      });
      const codes = Object.fromEntries(result.results.map((r) => [r.user, r.errorCode]));
      expect(codes).toEqual({
        ghost: KafkaErrorCode.RESOURCE_NOT_FOUND,
        few: KafkaErrorCode.UNACCEPTABLE_CREDENTIAL,
        weird: KafkaErrorCode.UNSUPPORTED_SASL_MECHANISM,
        twice: KafkaErrorCode.DUPLICATE_RESOURCE,
      });
      expect(broker.credentials.list().map((u) => u.name)).toEqual(['admin']);
    } finally {
      wire.close();
    }
  });

  it('given an anonymous client should refuse both APIs with CLUSTER_AUTHORIZATION_FAILED', async () => {
    const wire = await KafkaWire.open(broker.kafkaListeners.find((l) => l.protocol === 'PLAINTEXT')!.port);
    try {
      const result = await alter(wire, { deletions: [], upsertions: [upsert('mallory', 'pw')] });
      expect(result.results).toEqual([
        { user: 'mallory', errorCode: KafkaErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: null },
      ]);
      expect((await describeUsers(wire, null)).errorCode).toBe(KafkaErrorCode.CLUSTER_AUTHORIZATION_FAILED);
      expect(broker.credentials.describe('mallory')).toBeUndefined();
    } finally {
      wire.close();
    }
  });
});
