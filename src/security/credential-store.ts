import { join } from 'node:path';
import { storageIo } from '../storage/storage-io.js';
import { writeFileSynced } from '../storage/write-at.js';
import { isValidUserName, type Principal, userPrincipal } from './principal.js';
import {
  assertIterations,
  isScramMechanism,
  keysFromSaltedPassword,
  makeScramCredential,
  SCRAM_ITERATIONS_MIN,
  SCRAM_MECHANISMS,
  type ScramCredential,
  type ScramMechanism,
  scramKeyBytes,
  scramPasswordMatches,
} from './scram.js';

/**
 * The broker's users and their SCRAM credentials, kept in `<data>/security/credentials.json`:
 *
 *   { "version": 1,
 *     "users": { "<name>": { "SCRAM-SHA-512": { "salt": b64, "iterations": n,
 *                                               "storedKey": b64, "serverKey": b64 }, ... } } }
 *
 * No password is ever stored, in any form a login could use: only what RFC 5802 lets a server
 * keep. SASL/PLAIN and HTTP Basic check a password by deriving the StoredKey again from the
 * stored salt and iterations (verifyPassword), so PLAIN needs no plaintext on disk either; a user
 * created "for PLAIN" gets a SCRAM-SHA-512 credential, which also lets it use SCRAM-SHA-512.
 *
 * Every change rewrites the whole file crash-safely (a temporary file written and fsynced, renamed
 * over the old one, the directory fsynced), through the storage I/O seam so fault tests can cut
 * it anywhere: after a crash the file is the old set or the new one, never a mix. Changes are
 * rare admin operations, so the synchronous write is acceptable on the acceptor thread; the
 * PBKDF2 work that precedes it runs on libuv's pool.
 *
 * Owned by the thread that opened it (the acceptor in the broker, the CLI offline).
 */
export const CREDENTIALS_FILE_VERSION = 1;
export const CREDENTIALS_DIR_NAME = 'security';
export const CREDENTIALS_FILE_NAME = 'credentials.json';

/** What `pyralog user create --mechanism` accepts. */
export type CredentialMechanism = ScramMechanism | 'PLAIN';

export const CREDENTIAL_MECHANISMS: readonly CredentialMechanism[] = [...SCRAM_MECHANISMS, 'PLAIN'];

export function isCredentialMechanism(text: string): text is CredentialMechanism {
  return text === 'PLAIN' || isScramMechanism(text);
}

/** The mechanism whose credential PLAIN and HTTP Basic check first. */
const PASSWORD_CHECK_ORDER: readonly ScramMechanism[] = ['SCRAM-SHA-512', 'SCRAM-SHA-256'];

export interface UserCredentialInfo {
  readonly name: string;
  readonly credentials: readonly { mechanism: ScramMechanism; iterations: number }[];
}

export class CredentialFileError extends Error {
  readonly code = 'PYRALOG_CREDENTIAL_FILE';
}

export function credentialsPath(dataDir: string): string {
  return join(dataDir, CREDENTIALS_DIR_NAME, CREDENTIALS_FILE_NAME);
}

/** One user's credentials by mechanism; null when the user was deleted. */
export type UserCredentials = ReadonlyMap<ScramMechanism, ScramCredential>;

/** Told of every change made through this store (not of ones applied from elsewhere). */
export type CredentialChangeListener = (user: string, credentials: UserCredentials | null) => void;

export class CredentialStore {
  private readonly users = new Map<string, Map<ScramMechanism, ScramCredential>>();
  /** Checked against when the user is unknown, so a miss costs what a wrong password costs. */
  private decoy: ScramCredential | null = null;
  private changeListener: CredentialChangeListener | null = null;

  private constructor(private readonly dataDir: string) {}

  /** Reads the store of `dataDir` (empty when it has none). Throws CredentialFileError when the file is damaged. */
  static open(dataDir: string): CredentialStore {
    const store = new CredentialStore(dataDir);
    store.reload();
    return store;
  }

  get path(): string {
    return credentialsPath(this.dataDir);
  }

  /** Replaces what is in memory with the file's contents (SIGHUP, or after an offline change). */
  reload(): void {
    const io = storageIo();
    let text: string;
    try {
      text = Buffer.from(io.readFile(this.path)).toString('utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        this.users.clear();
        return;
      }
      throw error;
    }
    const parsed = parseCredentialFile(text, this.path);
    this.users.clear();
    for (const [name, credentials] of parsed) this.users.set(name, credentials);
  }

  /**
   * Cluster mode (cluster/etcd-credential-sync.ts): told of each change made here, after the file
   * is durable, so the change can be written to etcd for the other brokers.
   */
  onChange(listener: CredentialChangeListener | null): void {
    this.changeListener = listener;
  }

  /** Every user's credentials (cluster mode: what to upload to an etcd that holds none). */
  snapshot(): ReadonlyMap<string, UserCredentials> {
    return new Map(this.users);
  }

  /**
   * Applies a change made elsewhere (another broker, through etcd): written to the file durably,
   * then served, without telling the change listener (it came from there).
   */
  applyRemote(user: string, credentials: UserCredentials | null): void {
    // The echo of a change made here (or a re-read that changed nothing) writes nothing.
    if (sameCredentials(this.users.get(user) ?? null, credentials)) return;
    this.commit(user, credentials === null ? null : new Map(credentials), false);
  }

  /**
   * Replaces every user with the ones given (a full read of etcd), writing the file once and only
   * when something differs, without telling the change listener.
   */
  replaceAllRemote(users: ReadonlyMap<string, UserCredentials>): void {
    const unchanged =
      users.size === this.users.size &&
      [...users].every(([name, credentials]) => sameCredentials(this.users.get(name) ?? null, credentials));
    if (unchanged) return;
    const next = new Map<string, Map<ScramMechanism, ScramCredential>>();
    for (const [name, credentials] of users) next.set(name, new Map(credentials));
    writeCredentialFile(this.dataDir, next);
    this.users.clear();
    for (const [name, credentials] of next) this.users.set(name, credentials);
  }

  hasUsers(): boolean {
    return this.users.size > 0;
  }

  credential(user: string, mechanism: ScramMechanism): ScramCredential | undefined {
    return this.users.get(user)?.get(mechanism);
  }

  /** Every user with the mechanisms and iterations of its credentials, by name. */
  list(): UserCredentialInfo[] {
    return [...this.users.keys()].sort().map((name) => this.describe(name)!);
  }

  describe(name: string): UserCredentialInfo | undefined {
    const credentials = this.users.get(name);
    if (credentials === undefined) return undefined;
    return {
      name,
      credentials: [...credentials.values()].map((c) => ({
        mechanism: c.mechanism,
        iterations: c.iterations,
      })),
    };
  }

  /** Creates or replaces `user`'s credential for `mechanism` (PLAIN: SCRAM-SHA-512) and writes the file. */
  async setPassword(
    user: string,
    mechanism: CredentialMechanism,
    password: string,
    iterations: number = SCRAM_ITERATIONS_MIN,
  ): Promise<void> {
    assertUserName(user);
    if (password.length === 0) throw new RangeError('the password is empty');
    const scram: ScramMechanism = mechanism === 'PLAIN' ? 'SCRAM-SHA-512' : mechanism;
    const credential = await makeScramCredential(scram, password, iterations);
    this.putCredential(user, credential);
  }

  /**
   * Creates or replaces a credential from a salted password computed by the client
   * (AlterUserScramCredentials carries salt, iterations and SaltedPassword, never the password).
   */
  putSaltedPassword(
    user: string,
    mechanism: ScramMechanism,
    salt: Buffer,
    salted: Buffer,
    iterations: number,
  ): void {
    assertUserName(user);
    assertIterations(iterations);
    if (salt.length === 0) throw new RangeError('the salt is empty');
    if (salted.length !== scramKeyBytes(mechanism)) {
      throw new RangeError(`a ${mechanism} salted password has ${scramKeyBytes(mechanism)} bytes`);
    }
    const { storedKey, serverKey } = keysFromSaltedPassword(mechanism, salted);
    this.putCredential(user, { mechanism, salt, iterations, storedKey, serverKey });
  }

  /** Removes one credential (the user goes when its last one does); false when there was none. */
  deleteCredential(user: string, mechanism: ScramMechanism): boolean {
    const credentials = this.users.get(user);
    if (credentials?.has(mechanism) !== true) return false;
    const next = new Map(credentials);
    next.delete(mechanism);
    this.commit(user, next.size === 0 ? null : next);
    return true;
  }

  /** Removes the user and all its credentials; false when there was no such user. */
  deleteUser(user: string): boolean {
    if (!this.users.has(user)) return false;
    this.commit(user, null);
    return true;
  }

  /**
   * The principal `user` authenticates as when `password` is right (SASL/PLAIN, HTTP Basic), else
   * null. An unknown user costs the same key derivation as a known one, so timing does not tell
   * which names exist.
   */
  async verifyPassword(user: string, password: string): Promise<Principal | null> {
    const credentials = this.users.get(user);
    const credential =
      credentials === undefined
        ? undefined
        : PASSWORD_CHECK_ORDER.map((m) => credentials.get(m)).find((c) => c !== undefined);
    if (credential === undefined) {
      await scramPasswordMatches(await this.decoyCredential(), password);
      return null;
    }
    return (await scramPasswordMatches(credential, password)) ? userPrincipal(user) : null;
  }

  private async decoyCredential(): Promise<ScramCredential> {
    this.decoy ??= await makeScramCredential('SCRAM-SHA-512', 'decoy', SCRAM_ITERATIONS_MIN);
    return this.decoy;
  }

  private putCredential(user: string, credential: ScramCredential): void {
    const next = new Map(this.users.get(user));
    next.set(credential.mechanism, credential);
    this.commit(user, next);
  }

  /** Writes the file with `user` changed, and changes memory only once the file is durable. */
  private commit(user: string, credentials: Map<ScramMechanism, ScramCredential> | null, tell = true): void {
    const next = new Map(this.users);
    if (credentials === null) next.delete(user);
    else next.set(user, credentials);
    writeCredentialFile(this.dataDir, next);
    if (credentials === null) this.users.delete(user);
    else this.users.set(user, credentials);
    if (tell) this.changeListener?.(user, credentials);
  }
}

function assertUserName(user: string): void {
  if (!isValidUserName(user)) {
    throw new RangeError(
      `invalid user name ${JSON.stringify(user)}: 1..256 bytes, no control characters, ',' or '=', not ANONYMOUS`,
    );
  }
}

function sameCredentials(a: UserCredentials | null, b: UserCredentials | null): boolean {
  if (a === null || b === null) return a === b;
  return encodeUserCredentials(a) === encodeUserCredentials(b);
}

/** One user's credentials as JSON (the file's per-user entry; also the value of its etcd key). */
export function encodeUserCredentials(credentials: UserCredentials): string {
  return JSON.stringify(storedEntryOf(credentials));
}

/** One user's credentials as stored: each mechanism's salt and keys in base64. */
function storedEntryOf(credentials: UserCredentials): Record<string, StoredCredential> {
  const entry: Record<string, StoredCredential> = {};
  for (const c of credentials.values()) {
    entry[c.mechanism] = {
      salt: c.salt.toString('base64'),
      iterations: c.iterations,
      storedKey: c.storedKey.toString('base64'),
      serverKey: c.serverKey.toString('base64'),
    };
  }
  return entry;
}

/** The credentials of `name` from encodeUserCredentials' JSON; undefined when it does not decode. */
export function decodeUserCredentials(name: string, text: string): UserCredentials | undefined {
  try {
    const parsed = parseCredentialFile(
      `{"version":${CREDENTIALS_FILE_VERSION},"users":{${JSON.stringify(name)}:${text}}}`,
      'etcd',
    );
    return parsed.get(name);
  } catch {
    return undefined;
  }
}

interface StoredCredential {
  salt: string;
  iterations: number;
  storedKey: string;
  serverKey: string;
}

function writeCredentialFile(
  dataDir: string,
  users: Map<string, Map<ScramMechanism, ScramCredential>>,
): void {
  const io = storageIo();
  const dir = join(dataDir, CREDENTIALS_DIR_NAME);
  io.makeDirectory(dir);
  const body: Record<string, Record<string, StoredCredential>> = {};
  for (const [name, credentials] of users) body[name] = storedEntryOf(credentials);
  const text = `${JSON.stringify({ version: CREDENTIALS_FILE_VERSION, users: body }, null, 2)}\n`;
  const path = join(dir, CREDENTIALS_FILE_NAME);
  const temporary = `${path}.tmp`;
  writeFileSynced(temporary, Buffer.from(text, 'utf8'));
  io.rename(temporary, path);
  io.syncDirectory(dir);
}

function parseCredentialFile(text: string, path: string): Map<string, Map<ScramMechanism, ScramCredential>> {
  const fail = (why: string): never => {
    throw new CredentialFileError(
      `${path}: ${why}; restore it from a backup or remove it to start with no users`,
    );
  };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return fail('not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null) return fail('not an object');
  const { version, users } = parsed as { version?: unknown; users?: unknown };
  if (version !== CREDENTIALS_FILE_VERSION) return fail(`unknown version ${String(version)}`);
  if (typeof users !== 'object' || users === null) return fail('no users object');
  const result = new Map<string, Map<ScramMechanism, ScramCredential>>();
  for (const [name, entry] of Object.entries(users as Record<string, unknown>)) {
    if (!isValidUserName(name)) return fail(`invalid user name ${JSON.stringify(name)}`);
    if (typeof entry !== 'object' || entry === null) return fail(`user ${name} is not an object`);
    const credentials = new Map<ScramMechanism, ScramCredential>();
    for (const [mechanism, stored] of Object.entries(entry as Record<string, unknown>)) {
      if (!isScramMechanism(mechanism)) return fail(`user ${name}: unknown mechanism ${mechanism}`);
      const s = stored as Partial<StoredCredential> | null;
      if (
        s === null ||
        typeof s !== 'object' ||
        typeof s.salt !== 'string' ||
        typeof s.storedKey !== 'string' ||
        typeof s.serverKey !== 'string' ||
        typeof s.iterations !== 'number'
      ) {
        return fail(`user ${name}: ${mechanism} credential is incomplete`);
      }
      const credential: ScramCredential = {
        mechanism,
        salt: Buffer.from(s.salt, 'base64'),
        iterations: s.iterations,
        storedKey: Buffer.from(s.storedKey, 'base64'),
        serverKey: Buffer.from(s.serverKey, 'base64'),
      };
      const keyBytes = scramKeyBytes(mechanism);
      if (credential.storedKey.length !== keyBytes || credential.serverKey.length !== keyBytes) {
        return fail(`user ${name}: ${mechanism} keys have the wrong length`);
      }
      if (credential.iterations < SCRAM_ITERATIONS_MIN) return fail(`user ${name}: too few iterations`);
      credentials.set(mechanism, credential);
    }
    if (credentials.size > 0) result.set(name, credentials);
  }
  return result;
}
