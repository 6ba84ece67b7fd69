import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * SCRAM key derivation (RFC 5802 §3, RFC 7677 for SHA-256; Kafka adds SHA-512):
 *   SaltedPassword = PBKDF2(HMAC-H, password, salt, iterations)
 *   ClientKey      = HMAC(SaltedPassword, "Client Key")
 *   StoredKey      = H(ClientKey)
 *   ServerKey      = HMAC(SaltedPassword, "Server Key")
 * The broker keeps only salt, iterations, StoredKey and ServerKey: enough to check a proof or a
 * password, never enough to recover the password or to log in without it.
 */
export type ScramMechanism = 'SCRAM-SHA-256' | 'SCRAM-SHA-512';

export const SCRAM_MECHANISMS: readonly ScramMechanism[] = ['SCRAM-SHA-256', 'SCRAM-SHA-512'];

/** Kafka's bounds on iterations (ScramMechanism.minIterations / maxIterations). */
export const SCRAM_ITERATIONS_MIN = 4096;
export const SCRAM_ITERATIONS_MAX = 16384;
export const SCRAM_SALT_BYTES = 32;

export interface ScramCredential {
  readonly mechanism: ScramMechanism;
  readonly salt: Buffer;
  readonly iterations: number;
  readonly storedKey: Buffer;
  readonly serverKey: Buffer;
}

export function isScramMechanism(text: string): text is ScramMechanism {
  return text === 'SCRAM-SHA-256' || text === 'SCRAM-SHA-512';
}

export function scramHashName(mechanism: ScramMechanism): 'sha256' | 'sha512' {
  return mechanism === 'SCRAM-SHA-256' ? 'sha256' : 'sha512';
}

export function scramKeyBytes(mechanism: ScramMechanism): number {
  return mechanism === 'SCRAM-SHA-256' ? 32 : 64;
}

export function hmac(mechanism: ScramMechanism, key: Uint8Array, data: Uint8Array | string): Buffer {
  return createHmac(scramHashName(mechanism), key).update(data).digest();
}

export function hash(mechanism: ScramMechanism, data: Uint8Array): Buffer {
  return createHash(scramHashName(mechanism)).update(data).digest();
}

/** PBKDF2 off the calling thread (libuv's pool): thousands of iterations must not stall the acceptor. */
export function saltedPassword(
  mechanism: ScramMechanism,
  password: string,
  salt: Uint8Array,
  iterations: number,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    pbkdf2(password, salt, iterations, scramKeyBytes(mechanism), scramHashName(mechanism), (error, key) =>
      error === null ? resolve(key) : reject(error),
    );
  });
}

export function keysFromSaltedPassword(
  mechanism: ScramMechanism,
  salted: Uint8Array,
): { clientKey: Buffer; storedKey: Buffer; serverKey: Buffer } {
  const clientKey = hmac(mechanism, salted, 'Client Key');
  return {
    clientKey,
    storedKey: hash(mechanism, clientKey),
    serverKey: hmac(mechanism, salted, 'Server Key'),
  };
}

/** A new credential for `password` with a fresh random salt (or the given one, for test vectors). */
export async function makeScramCredential(
  mechanism: ScramMechanism,
  password: string,
  iterations: number,
  salt: Buffer = randomBytes(SCRAM_SALT_BYTES),
): Promise<ScramCredential> {
  assertIterations(iterations);
  const salted = await saltedPassword(mechanism, password, salt, iterations);
  const { storedKey, serverKey } = keysFromSaltedPassword(mechanism, salted);
  return { mechanism, salt, iterations, storedKey, serverKey };
}

/** Whether `password` is the one `credential` was made from (constant time in the comparison). */
export async function scramPasswordMatches(credential: ScramCredential, password: string): Promise<boolean> {
  const salted = await saltedPassword(credential.mechanism, password, credential.salt, credential.iterations);
  const { storedKey } = keysFromSaltedPassword(credential.mechanism, salted);
  return timingSafeEqual(storedKey, credential.storedKey);
}

export function assertIterations(iterations: number): void {
  if (
    !Number.isInteger(iterations) ||
    iterations < SCRAM_ITERATIONS_MIN ||
    iterations > SCRAM_ITERATIONS_MAX
  ) {
    throw new RangeError(
      `SCRAM iterations must be an integer in ${SCRAM_ITERATIONS_MIN}..${SCRAM_ITERATIONS_MAX}, got ${iterations}`,
    );
  }
}

export function xorBytes(a: Uint8Array, b: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}
