import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { CredentialStore } from './credential-store.js';
import { type Principal, userPrincipal } from './principal.js';
import {
  hash,
  hmac,
  isScramMechanism,
  makeScramCredential,
  SCRAM_ITERATIONS_MIN,
  type ScramCredential,
  type ScramMechanism,
  xorBytes,
} from './scram.js';

/**
 * The server side of one SASL exchange, for PLAIN (RFC 4616) and SCRAM-SHA-256/512 (RFC 5802,
 * RFC 7677), as Kafka speaks them:
 *
 *   PLAIN  client: [authzid] NUL authcid NUL password            → success or failure
 *   SCRAM  client-first: gs2-header client-first-bare            → server-first: r=,s=,i=
 *          client-final: c=biws,r=<nonce>,p=<proof>              → server-final: v=<signature>
 *
 * Kafka's extensions: SCRAM's client-first may carry extensions after the nonce; `tokenauth=true`
 * asks for delegation-token authentication, which Pyralog does not issue, so it is refused. Channel
 * binding (`p=` in the gs2 header) is refused; `y` and `n` are accepted.
 *
 * Every input is untrusted: any token that does not parse, or that comes out of turn, ends the
 * exchange with a failure (never an exception). A user that does not exist is carried through to
 * the final step with a made-up credential, so the answer does not tell which names exist.
 */
export type SaslMechanism = 'PLAIN' | ScramMechanism;

export const SASL_MECHANISMS: readonly SaslMechanism[] = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'];

/** The most bytes one SASL token may have; real ones are well under 1 KiB. */
export const SASL_TOKEN_MAX_BYTES = 8 * 1024;

export function isSaslMechanism(text: string): text is SaslMechanism {
  return text === 'PLAIN' || isScramMechanism(text);
}

export type SaslStep =
  | { readonly kind: 'challenge'; readonly bytes: Buffer }
  | { readonly kind: 'success'; readonly bytes: Buffer; readonly principal: Principal }
  | { readonly kind: 'failure'; readonly message: string };

const failure = (message: string): SaslStep => ({ kind: 'failure', message });

export function authenticationFailed(mechanism: SaslMechanism): SaslStep {
  return failure(
    `Authentication failed during authentication due to invalid credentials with SASL mechanism ${mechanism}`,
  );
}

export class SaslServerExchange {
  private state: 'start' | 'scram-final' | 'done' = 'start';
  private user = '';
  private credential: ScramCredential | null = null;
  private knownUser = false;
  private gs2Header = '';
  private nonce = '';
  private clientFirstBare = '';
  private serverFirst = '';

  constructor(
    readonly mechanism: SaslMechanism,
    private readonly store: CredentialStore,
  ) {}

  get finished(): boolean {
    return this.state === 'done';
  }

  async step(token: Uint8Array): Promise<SaslStep> {
    if (this.state === 'done') return failure('the SASL exchange is already over');
    if (token.length > SASL_TOKEN_MAX_BYTES) return this.end(failure('SASL token too large'));
    try {
      if (this.mechanism === 'PLAIN') return this.end(await this.plain(token));
      if (this.state === 'start') return await this.scramFirst(token, this.mechanism);
      return this.end(this.scramFinal(token, this.mechanism));
    } catch {
      return this.end(failure(`malformed ${this.mechanism} message`));
    }
  }

  private end(result: SaslStep): SaslStep {
    this.state = 'done';
    return result;
  }

  private async plain(token: Uint8Array): Promise<SaslStep> {
    const text = Buffer.from(token).toString('utf8');
    const parts = text.split('\u0000');
    if (parts.length !== 3)
      return failure('malformed PLAIN message: expected authzid NUL authcid NUL password');
    const [authzid, user, password] = parts as [string, string, string];
    if (authzid !== '' && authzid !== user)
      return failure('PLAIN authorization id must be empty or the user');
    if (user === '' || password === '') return authenticationFailed('PLAIN');
    const principal = await this.store.verifyPassword(user, password);
    return principal === null
      ? authenticationFailed('PLAIN')
      : { kind: 'success', bytes: Buffer.alloc(0), principal };
  }

  private async scramFirst(token: Uint8Array, mechanism: ScramMechanism): Promise<SaslStep> {
    const text = utf8Strict(token);
    // gs2-header = cbind-flag "," [authzid] ","
    const first = text.indexOf(',');
    const second = first < 0 ? -1 : text.indexOf(',', first + 1);
    if (second < 0) return this.end(failure(`malformed ${mechanism} client-first message`));
    const cbind = text.slice(0, first);
    if (cbind !== 'n' && cbind !== 'y') return this.end(failure('SCRAM channel binding is not supported'));
    const authzid = text.slice(first + 1, second);
    this.gs2Header = text.slice(0, second + 1);
    this.clientFirstBare = text.slice(second + 1);
    const attributes = this.clientFirstBare.split(',');
    const userAttr = attributes[0] ?? '';
    const nonceAttr = attributes[1] ?? '';
    if (!userAttr.startsWith('n=') || !nonceAttr.startsWith('r=') || nonceAttr.length < 3) {
      return this.end(failure(`malformed ${mechanism} client-first message`));
    }
    const user = scramName(userAttr.slice(2));
    if (user === null) return this.end(failure(`malformed ${mechanism} user name`));
    if (authzid !== '' && (!authzid.startsWith('a=') || scramName(authzid.slice(2)) !== user)) {
      return this.end(failure('SCRAM authorization id must be the user'));
    }
    for (const extension of attributes.slice(2)) {
      if (extension.startsWith('tokenauth=')) {
        return this.end(failure('delegation token authentication (tokenauth) is not supported'));
      }
    }
    const clientNonce = nonceAttr.slice(2);
    if (!/^[\x21-\x2b\x2d-\x7e]+$/.test(clientNonce)) return this.end(failure('malformed SCRAM nonce'));
    this.user = user;
    const credential = this.store.credential(user, mechanism);
    this.knownUser = credential !== undefined;
    this.credential =
      credential ??
      (await makeScramCredential(mechanism, randomBytes(16).toString('hex'), SCRAM_ITERATIONS_MIN));
    this.nonce = clientNonce + randomBytes(18).toString('base64url');
    this.serverFirst = `r=${this.nonce},s=${this.credential.salt.toString('base64')},i=${this.credential.iterations}`;
    this.state = 'scram-final';
    return { kind: 'challenge', bytes: Buffer.from(this.serverFirst, 'utf8') };
  }

  private scramFinal(token: Uint8Array, mechanism: ScramMechanism): SaslStep {
    const text = utf8Strict(token);
    const proofAt = text.lastIndexOf(',p=');
    if (proofAt < 0) return failure(`malformed ${mechanism} client-final message`);
    const withoutProof = text.slice(0, proofAt);
    const attributes = withoutProof.split(',');
    if (attributes[0] !== `c=${Buffer.from(this.gs2Header, 'utf8').toString('base64')}`) {
      return failure('SCRAM channel binding data does not match the client-first message');
    }
    // Kafka accepts a final nonce that ends with the server's (librdkafka sends the client nonce
    // again in front of it); the server's part is what makes the exchange fresh.
    const finalNonce = attributes[1] ?? '';
    if (!finalNonce.startsWith('r=') || !finalNonce.endsWith(this.nonce))
      return failure('SCRAM nonce does not match');
    const proof = Buffer.from(text.slice(proofAt + 3), 'base64');
    const credential = this.credential!;
    if (proof.length !== credential.storedKey.length) return authenticationFailed(mechanism);
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${withoutProof}`;
    const clientSignature = hmac(mechanism, credential.storedKey, authMessage);
    const clientKey = xorBytes(proof, clientSignature);
    const matches = timingSafeEqual(hash(mechanism, clientKey), credential.storedKey);
    if (!matches || !this.knownUser) return authenticationFailed(mechanism);
    const serverSignature = hmac(mechanism, credential.serverKey, authMessage);
    return {
      kind: 'success',
      bytes: Buffer.from(`v=${serverSignature.toString('base64')}`, 'utf8'),
      principal: userPrincipal(this.user),
    };
  }
}

const strictDecoder = new TextDecoder('utf-8', { fatal: true });

/** SCRAM messages are UTF-8; bytes that are not end the exchange (the decoder throws). */
function utf8Strict(bytes: Uint8Array): string {
  return strictDecoder.decode(bytes);
}

/** A SCRAM saslname: `=2C` and `=3D` stand for `,` and `=`; any other `=` is malformed. */
function scramName(encoded: string): string | null {
  if (encoded === '') return null;
  if (/=(?!2C|3D)/.test(encoded)) return null;
  return encoded.replace(/=2C|=3D/g, (sequence) => (sequence === '=2C' ? ',' : '='));
}
