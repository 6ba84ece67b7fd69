/**
 * The console's credentials: a bearer token (`pyralog token create`) kept in this tab's
 * sessionStorage, sent on every API request and as the WebSocket's first message. Without one
 * the console works as before on a broker that needs no credentials.
 */
const TOKEN_KEY = 'pyralog-token';

export function currentToken(): string {
  return sessionStorage.getItem(TOKEN_KEY) ?? '';
}

export function setToken(token: string): void {
  if (token === '') sessionStorage.removeItem(TOKEN_KEY);
  else sessionStorage.setItem(TOKEN_KEY, token);
}

/** The Authorization header for the API, or none. */
export function authHeaders(): Record<string, string> {
  const token = currentToken();
  return token === '' ? {} : { authorization: `Bearer ${token}` };
}

/** The WebSocket's first message when a token is set (the browser cannot send headers). */
export function webSocketAuthMessage(): string | null {
  const token = currentToken();
  return token === '' ? null : JSON.stringify({ op: 'auth', id: 0, token });
}
