import type { CredentialStore } from './credential-store.js';
import { ANONYMOUS_PRINCIPAL, type Principal } from './principal.js';
import type { TokenStore } from './token-store.js';

/** Who an HTTP request or WebSocket acts for, or why it is refused (answered 401). */
export type HttpAuthentication = { readonly principal: Principal } | { readonly refusal: string };

/**
 * Checks an HTTP `Authorization` header: `Basic` against the credential store (the same users
 * as SASL), `Bearer` against the token store. Without a header the request is anonymous, which
 * is allowed only while `anonymousAllowed` (no listener authenticates, or `--http-anonymous`).
 */
export class HttpAuthenticator {
  constructor(
    private readonly credentials: CredentialStore | null,
    private readonly tokens: TokenStore | null,
    readonly anonymousAllowed: boolean,
  ) {}

  async authenticate(authorization: string): Promise<HttpAuthentication> {
    if (authorization.length === 0) {
      return this.anonymousAllowed
        ? { principal: ANONYMOUS_PRINCIPAL }
        : { refusal: 'credentials required: Authorization: Basic or Bearer' };
    }
    const space = authorization.indexOf(' ');
    const scheme = (space < 0 ? authorization : authorization.slice(0, space)).toLowerCase();
    const value = space < 0 ? '' : authorization.slice(space + 1).trim();
    if (scheme === 'bearer') return this.bearer(value);
    if (scheme === 'basic') return this.basic(value);
    return { refusal: `unsupported authorization scheme ${scheme.slice(0, 20)}` };
  }

  /** A bearer token alone (the WebSocket's first message from a browser). */
  bearer(token: string): HttpAuthentication {
    if (this.tokens === null) return { refusal: 'this broker issues no tokens' };
    const result = this.tokens.verify(token);
    return typeof result === 'string' ? { refusal: result } : { principal: result };
  }

  private async basic(encoded: string): Promise<HttpAuthentication> {
    if (this.credentials === null) return { refusal: 'this broker has no users' };
    const decoded = Buffer.from(encoded, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) return { refusal: 'malformed Basic credentials' };
    const principal = await this.credentials.verifyPassword(
      decoded.slice(0, colon),
      decoded.slice(colon + 1),
    );
    return principal === null ? { refusal: 'wrong user name or password' } : { principal };
  }
}
