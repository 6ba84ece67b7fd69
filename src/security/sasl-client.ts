import { randomBytes, timingSafeEqual } from 'node:crypto';
import {
  hmac,
  isScramMechanism,
  keysFromSaltedPassword,
  type ScramMechanism,
  saltedPassword,
  xorBytes,
} from './scram.js';

/**
 * The client side of SASL PLAIN (RFC 4616) and SCRAM (RFC 5802, RFC 7677; Kafka's SHA-512), for a
 * broker authenticating to another broker as its broker principal. A conversation is a list of
 * steps: each takes the server's last token (empty for the first) and returns the next token to
 * send, or null when the exchange is complete. It throws when the server's answer is not what
 * the mechanism allows (a wrong nonce, a server signature that does not verify).
 */
export type SaslClientMechanism = 'PLAIN' | ScramMechanism;

export interface SaslClientConversation {
  /** The next token for the server's `token` (empty for the first step); null when done. */
  next(token: Uint8Array): Promise<Uint8Array | null>;
}

export function isSaslClientMechanism(text: string): text is SaslClientMechanism {
  return text === 'PLAIN' || isScramMechanism(text);
}

export function saslClientConversation(
  mechanism: SaslClientMechanism,
  username: string,
  password: string,
): SaslClientConversation {
  return mechanism === 'PLAIN'
    ? plainConversation(username, password)
    : scramConversation(mechanism, username, password);
}

function plainConversation(username: string, password: string): SaslClientConversation {
  let sent = false;
  return {
    async next() {
      if (sent) return null;
      sent = true;
      return Buffer.from(`\u0000${username}\u0000${password}`, 'utf8');
    },
  };
}

/** RFC 5802 §5.1 saslname: '=' and ',' escaped. */
function saslName(name: string): string {
  return name.replaceAll('=', '=3D').replaceAll(',', '=2C');
}

function attributes(message: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const part of message.split(',')) {
    const eq = part.indexOf('=');
    if (eq === 1) map.set(part[0]!, part.slice(2));
  }
  return map;
}

function scramConversation(
  mechanism: ScramMechanism,
  username: string,
  password: string,
): SaslClientConversation {
  const clientNonce = randomBytes(24).toString('base64');
  const clientFirstBare = `n=${saslName(username)},r=${clientNonce}`;
  let step = 0;
  let expectedServerSignature: Buffer | null = null;
  return {
    async next(token) {
      step++;
      if (step === 1) return Buffer.from(`n,,${clientFirstBare}`, 'utf8');
      if (step === 2) {
        const serverFirst = Buffer.from(token).toString('utf8');
        const fields = attributes(serverFirst);
        const nonce = fields.get('r');
        const salt = fields.get('s');
        const iterations = Number(fields.get('i'));
        if (nonce === undefined || !nonce.startsWith(clientNonce) || nonce === clientNonce) {
          throw new Error('SCRAM: the server nonce does not extend ours');
        }
        if (salt === undefined || !Number.isSafeInteger(iterations) || iterations < 1) {
          throw new Error('SCRAM: the server sent no salt or iteration count');
        }
        const salted = await saltedPassword(mechanism, password, Buffer.from(salt, 'base64'), iterations);
        const { clientKey, storedKey, serverKey } = keysFromSaltedPassword(mechanism, salted);
        const withoutProof = `c=biws,r=${nonce}`;
        const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`;
        const proof = xorBytes(clientKey, hmac(mechanism, storedKey, authMessage));
        expectedServerSignature = hmac(mechanism, serverKey, authMessage);
        return Buffer.from(`${withoutProof},p=${proof.toString('base64')}`, 'utf8');
      }
      if (step === 3) {
        const fields = attributes(Buffer.from(token).toString('utf8'));
        const error = fields.get('e');
        if (error !== undefined) throw new Error(`SCRAM: the server refused: ${error}`);
        const verifier = Buffer.from(fields.get('v') ?? '', 'base64');
        if (
          expectedServerSignature === null ||
          verifier.length !== expectedServerSignature.length ||
          !timingSafeEqual(verifier, expectedServerSignature)
        ) {
          throw new Error('SCRAM: the server signature does not verify');
        }
        return null;
      }
      return null;
    },
  };
}
