import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CredentialStore } from '../../src/security/credential-store.js';
import { type SaslClientMechanism, saslClientConversation } from '../../src/security/sasl-client.js';
import { SaslServerExchange } from '../../src/security/sasl-server.js';
import { makeTempDir } from '../support/temp-dir.js';

/**
 * The client side of SASL a broker uses towards another broker (sasl-client.ts), run against the
 * broker's own server exchange: the right password succeeds and the server's signature verifies;
 * a wrong one fails; a server that answers with a nonce that does not extend the client's, or a
 * forged final signature, is refused by the client.
 */
describe('SASL client conversations', () => {
  let store: CredentialStore;
  let cleanup = (): void => {};
  beforeAll(async () => {
    const temp = makeTempDir('sasl-client');
    cleanup = temp.cleanup;
    store = CredentialStore.open(temp.dir);
    await store.setPassword('broker', 'SCRAM-SHA-512', 'broker-pw');
    await store.setPassword('sam', 'SCRAM-SHA-256', 'sam-pw');
  });
  afterAll(() => cleanup());

  /** Runs a whole conversation; the server's last step, or the client's error. */
  async function converse(mechanism: SaslClientMechanism, user: string, password: string) {
    const client = saslClientConversation(mechanism, user, password);
    const server = new SaslServerExchange(mechanism, store);
    let token = await client.next(new Uint8Array(0));
    for (let step = 0; token !== null && step < 4; step++) {
      const answer = await server.step(Buffer.from(token));
      if (answer.kind === 'failure') return answer;
      token = await client.next((answer as { bytes?: Uint8Array }).bytes ?? new Uint8Array(0));
      if (answer.kind === 'success' && token === null) return answer;
    }
    return { kind: 'unfinished' };
  }

  for (const [mechanism, user, password] of [
    ['SCRAM-SHA-512', 'broker', 'broker-pw'],
    ['SCRAM-SHA-256', 'sam', 'sam-pw'],
    ['PLAIN', 'broker', 'broker-pw'],
  ] as const) {
    it(`given ${mechanism} with the right password should authenticate as the user`, async () => {
      expect(await converse(mechanism, user, password)).toMatchObject({
        kind: 'success',
        principal: { type: 'User', name: user },
      });
    });
    it(`given ${mechanism} with a wrong password should fail`, async () => {
      expect((await converse(mechanism, user, 'wrong')).kind).toBe('failure');
    });
  }

  it('given a server nonce that does not extend the client nonce should refuse it', async () => {
    const client = saslClientConversation('SCRAM-SHA-512', 'broker', 'broker-pw');
    await client.next(new Uint8Array(0));
    await expect(client.next(Buffer.from('r=someone-else,s=c2FsdA==,i=4096'))).rejects.toThrow(/nonce/);
  });

  it('given a forged server signature should refuse it', async () => {
    const client = saslClientConversation('SCRAM-SHA-512', 'broker', 'broker-pw');
    const server = new SaslServerExchange('SCRAM-SHA-512', store);
    const first = await server.step(Buffer.from((await client.next(new Uint8Array(0)))!));
    const final = await client.next((first as { bytes: Uint8Array }).bytes);
    expect(final).not.toBeNull();
    await expect(client.next(Buffer.from(`v=${Buffer.alloc(64, 7).toString('base64')}`))).rejects.toThrow(
      /signature/,
    );
  });
});
