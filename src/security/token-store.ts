import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { replaceFileDurably } from './durable-file.js';
import { isValidUserName, type Principal, userPrincipal } from './principal.js';

/**
 * Bearer tokens for HTTP and WebSocket (`pyralog token create --user U --ttl 1h`).
 *
 * A token is `pyt1.<payload>.<mac>`: payload is base64url of JSON `{"id","user","exp"}` (exp in
 * ms since the epoch), mac is base64url of HMAC-SHA-256(key, "pyt1." + payload). The key is 32
 * random bytes in `<data>/security/token-key` (made once, mode 0600). Revoked ids are kept in
 * `<data>/security/revoked-tokens.json` (`{"version":1,"revoked":[{"id","exp"}]}`), replaced
 * durably on each change; the broker re-reads it when its modification time changes, so a
 * revocation made offline with `--data` takes effect on the next request. Anyone who can read
 * the data directory can mint tokens: keep it as private as the log itself.
 */
const TOKEN_PREFIX = 'pyt1';
const KEY_BYTES = 32;
const REVOKED_VERSION = 1;

export interface IssuedToken {
  readonly id: string;
  readonly user: string;
  readonly expiresAtMs: number;
  readonly token: string;
}

export class TokenStore {
  private readonly key: Buffer;
  private readonly revokedPath: string;
  private revoked = new Map<string, number>();
  private revokedMtimeMs = -1;

  constructor(dataDir: string) {
    const dir = join(dataDir, 'security');
    mkdirSync(dir, { recursive: true });
    const keyPath = join(dir, 'token-key');
    if (!existsSync(keyPath)) replaceFileDurably(keyPath, randomBytes(KEY_BYTES));
    this.key = readFileSync(keyPath);
    if (this.key.length !== KEY_BYTES) throw new Error(`${keyPath}: expected ${KEY_BYTES} bytes`);
    this.revokedPath = join(dir, 'revoked-tokens.json');
    this.refreshRevoked();
  }

  issue(user: string, ttlMs: number, nowMs = Date.now()): IssuedToken {
    if (!isValidUserName(user)) throw new Error(`not a valid user name: ${user}`);
    if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new Error('the time to live must be positive');
    const id = randomBytes(12).toString('base64url');
    const expiresAtMs = nowMs + ttlMs;
    const payload = Buffer.from(JSON.stringify({ id, user, exp: expiresAtMs })).toString('base64url');
    return { id, user, expiresAtMs, token: `${TOKEN_PREFIX}.${payload}.${this.mac(payload)}` };
  }

  /** The principal a token stands for, or the reason it is refused (bad, expired or revoked). */
  verify(token: string, nowMs = Date.now()): Principal | string {
    const parts = token.split('.');
    if (parts.length !== 3 || parts[0] !== TOKEN_PREFIX) return 'not a Pyralog token';
    const payload = parts[1] ?? '';
    const given = Buffer.from(parts[2] ?? '', 'base64url');
    const expected = Buffer.from(this.mac(payload), 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'bad token signature';
    let claims: { id?: unknown; user?: unknown; exp?: unknown };
    try {
      claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    } catch {
      return 'bad token payload';
    }
    if (typeof claims.id !== 'string' || typeof claims.user !== 'string' || typeof claims.exp !== 'number') {
      return 'bad token payload';
    }
    if (claims.exp <= nowMs) return 'token expired';
    this.refreshRevoked();
    if (this.revoked.has(claims.id)) return 'token revoked';
    return userPrincipal(claims.user);
  }

  /** Revokes a token by id, durably; expired entries are dropped from the list as it is rewritten. */
  revoke(id: string, expiresAtMs: number = Number.MAX_SAFE_INTEGER, nowMs = Date.now()): void {
    this.refreshRevoked();
    const next = new Map([...this.revoked].filter(([, exp]) => exp > nowMs));
    next.set(id, expiresAtMs);
    const body = {
      version: REVOKED_VERSION,
      revoked: [...next].map(([revokedId, exp]) => ({ id: revokedId, exp })),
    };
    replaceFileDurably(this.revokedPath, new TextEncoder().encode(`${JSON.stringify(body)}\n`));
    this.revoked = next;
    this.revokedMtimeMs = statSync(this.revokedPath).mtimeMs;
  }

  revokedIds(): string[] {
    this.refreshRevoked();
    return [...this.revoked.keys()];
  }

  private mac(payload: string): string {
    return createHmac('sha256', this.key).update(`${TOKEN_PREFIX}.${payload}`).digest('base64url');
  }

  private refreshRevoked(): void {
    let mtimeMs: number;
    try {
      mtimeMs = statSync(this.revokedPath).mtimeMs;
    } catch {
      this.revoked.clear();
      this.revokedMtimeMs = -1;
      return;
    }
    if (mtimeMs === this.revokedMtimeMs) return;
    const parsed = JSON.parse(readFileSync(this.revokedPath, 'utf8')) as {
      version?: unknown;
      revoked?: { id: string; exp: number }[];
    };
    if (parsed.version !== REVOKED_VERSION || !Array.isArray(parsed.revoked)) {
      throw new Error(`${this.revokedPath}: not a revocation list`);
    }
    this.revoked = new Map(parsed.revoked.map((entry) => [entry.id, entry.exp]));
    this.revokedMtimeMs = mtimeMs;
  }
}
