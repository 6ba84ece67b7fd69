/**
 * Who a request acts for. Kafka writes a principal as `<type>:<name>`; Pyralog has one type,
 * `User`, for people and programs alike (a SASL username, or the common name of a TLS client
 * certificate). A connection that has not authenticated, on a listener that does not ask it to,
 * acts as `User:ANONYMOUS`, as Kafka's does.
 *
 * Principals are compared by value (`samePrincipal`), never by identity: the same user seen on two
 * connections gets two objects.
 */
export interface Principal {
  readonly type: 'User';
  readonly name: string;
}

export const ANONYMOUS_PRINCIPAL: Principal = Object.freeze({ type: 'User', name: 'ANONYMOUS' });

/** The most bytes a user name may take; Kafka's SCRAM names fit in far less. */
export const USER_NAME_MAX_BYTES = 256;

export function userPrincipal(name: string): Principal {
  return { type: 'User', name };
}

/** `User:alice`, Kafka's text form (ACL principals, audit lines, super users). */
export function principalText(principal: Principal): string {
  return `${principal.type}:${principal.name}`;
}

/** Parses `User:<name>`; null for any other type, an empty name, or a name past the bound. */
export function parsePrincipal(text: string): Principal | null {
  const separator = text.indexOf(':');
  if (separator < 0 || text.slice(0, separator) !== 'User') return null;
  const name = text.slice(separator + 1);
  return isValidUserName(name) ? userPrincipal(name) : null;
}

export function samePrincipal(a: Principal, b: Principal): boolean {
  return a.type === b.type && a.name === b.name;
}

export function isAnonymous(principal: Principal): boolean {
  return samePrincipal(principal, ANONYMOUS_PRINCIPAL);
}

/**
 * A name a user may be created with: 1..USER_NAME_MAX_BYTES bytes of UTF-8, no control
 * characters, no `,` or `=` (SCRAM's attribute separators; RFC 5802 escapes them, but a stored
 * name that needs escaping only invites mismatches), and not the anonymous principal's name.
 */
export function isValidUserName(name: string): boolean {
  if (name.length === 0 || Buffer.byteLength(name, 'utf8') > USER_NAME_MAX_BYTES) return false;
  if (name === ANONYMOUS_PRINCIPAL.name) return false;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses.
  return !/[\u0000-\u001f\u007f,=]/.test(name);
}
