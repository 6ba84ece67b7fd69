import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import { defaultSecurityConfig } from '../../src/common/security-config.js';
import { ApiKey } from '../../src/protocol/kafka/api.js';
import { CredentialStore } from '../../src/security/credential-store.js';
import { type Broker, startBroker } from '../../src/server/broker.js';
import { testBrokerConfig } from '../support/engine-fixture.js';
import { KafkaWire } from '../support/kafka-wire.js';
import { makeTempDir } from '../support/temp-dir.js';

/**
 * KIP-368 on the wire: SaslAuthenticate v1 reports the session lifetime; a request after it ends
 * closes the connection, and a new handshake before it ends starts a new session on the same
 * connection. Also SaslHandshake v0, whose tokens come as bare frames.
 */
describe('SASL sessions (connections.max.reauth.ms)', () => {
  let broker: Broker;
  let cleanup = (): void => {};
  const reauthMs = 600;
  beforeAll(async () => {
    const temp = makeTempDir('sasl-reauth');
    cleanup = temp.cleanup;
    const store = CredentialStore.open(temp.dir);
    await store.setPassword('alice', 'PLAIN', 'alice-pw');
    broker = await startBroker(
      testBrokerConfig(temp.dir, {
        superUsers: ['User:alice'],
        security: {
          ...defaultSecurityConfig,
          listeners: [{ protocol: 'SASL_PLAINTEXT', host: '127.0.0.1', port: 0 }],
          reauthMs,
          authenticationFailureDelayMs: 10,
        },
      }),
      { http: false },
    );
  }, 30_000);
  afterAll(async () => {
    await broker?.stop();
    cleanup();
  });

  let correlation = 0;
  const authenticate = async (wire: KafkaWire, password: string) => {
    wire.request(ApiKey.SASL_HANDSHAKE, 1, ++correlation, (w) => w.string('PLAIN'));
    const handshake = (await wire.next())!.reader;
    expect(handshake.int16()).toBe(KafkaErrorCode.NONE);
    wire.request(ApiKey.SASL_AUTHENTICATE, 1, ++correlation, (w) =>
      w.bytesField(Buffer.from(`\u0000alice\u0000${password}`)),
    );
    const reader = (await wire.next())!.reader;
    const errorCode = reader.int16();
    const errorMessage = reader.nullableString();
    reader.bytesField();
    return { errorCode, errorMessage, sessionLifetimeMs: reader.int64() };
  };
  const metadataAnswered = async (wire: KafkaWire): Promise<boolean> => {
    wire.request(ApiKey.METADATA, 1, ++correlation, (w) => w.int32(0));
    return (await wire.next(3000)) !== null;
  };

  it('given a session that runs out should close the connection at the next request', async () => {
    const wire = await KafkaWire.open(broker.kafkaPort);
    try {
      expect(await authenticate(wire, 'alice-pw')).toEqual({
        errorCode: KafkaErrorCode.NONE,
        errorMessage: null,
        sessionLifetimeMs: reauthMs,
      });
      expect(await metadataAnswered(wire)).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, reauthMs + 200));
      expect(await metadataAnswered(wire)).toBe(false);
      expect(wire.closed).toBe(true);
    } finally {
      wire.close();
    }
  });

  it('given re-authentication before the session ends should keep the connection serving', async () => {
    const wire = await KafkaWire.open(broker.kafkaPort);
    try {
      expect((await authenticate(wire, 'alice-pw')).errorCode).toBe(KafkaErrorCode.NONE);
      for (let round = 0; round < 3; round++) {
        await new Promise((resolve) => setTimeout(resolve, reauthMs / 2));
        expect((await authenticate(wire, 'alice-pw')).errorCode).toBe(KafkaErrorCode.NONE);
        expect(await metadataAnswered(wire)).toBe(true);
      }
    } finally {
      wire.close();
    }
  });

  it('given a wrong password should answer SASL_AUTHENTICATION_FAILED with a message', async () => {
    const wire = await KafkaWire.open(broker.kafkaPort);
    try {
      const result = await authenticate(wire, 'wrong');
      expect(result.errorCode).toBe(KafkaErrorCode.SASL_AUTHENTICATION_FAILED);
      expect(result.errorMessage).toMatch(/invalid credentials with SASL mechanism PLAIN/);
    } finally {
      wire.close();
    }
  });

  it('given SaslHandshake v0 should take the PLAIN token as a bare frame, answer with a bare frame, then serve', async () => {
    const { connect } = await import('node:net');
    const socket = connect(broker.kafkaPort, '127.0.0.1');
    socket.on('error', () => undefined);
    let received = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
    });
    const waitFor = async (bytes: number): Promise<void> => {
      for (let i = 0; i < 100 && received.length < bytes; i++) await new Promise((r) => setTimeout(r, 20));
    };
    try {
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      socket.write(KafkaWire.frame(ApiKey.SASL_HANDSHAKE, 0, 1, (w) => w.string('PLAIN')));
      await waitFor(4);
      const handshakeBytes = 4 + received.readInt32BE(0);
      await waitFor(handshakeBytes);
      expect(received.readInt16BE(8)).toBe(KafkaErrorCode.NONE); // size, correlation id, error code
      const token = Buffer.from('\u0000alice\u0000alice-pw');
      const frame = Buffer.alloc(4 + token.length);
      frame.writeInt32BE(token.length);
      token.copy(frame, 4);
      socket.write(frame);
      await waitFor(handshakeBytes + 4);
      expect(received.readInt32BE(handshakeBytes)).toBe(0); // PLAIN's empty reply token
      socket.write(KafkaWire.frame(ApiKey.METADATA, 1, 2, (w) => w.int32(0)));
      await waitFor(handshakeBytes + 12);
      expect(received.readInt32BE(handshakeBytes + 8)).toBe(2); // Metadata's correlation id
    } finally {
      socket.destroy();
    }
  });
});
