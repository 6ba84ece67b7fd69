import { ConfigError } from '../common/errors.js';
import { parseListeners, type SecurityConfig, type TlsClientAuth } from '../common/security-config.js';

/**
 * `pyralog serve` options for listeners, TLS and SASL (docs/security.md). Each sets a field of
 * the broker's SecurityConfig; serve-options.ts lists them with the others.
 */
type MutableSecurity = { -readonly [K in keyof SecurityConfig]: SecurityConfig[K] };

export interface SecurityOptionSpec {
  name: string;
  help: string;
  apply(security: MutableSecurity, value: string, source: string): void;
}

function wholeMs(source: string, value: string, min: number): number {
  if (!/^\d+$/.test(value.trim()))
    throw new ConfigError(source, `expected a whole number of ms, got "${value}"`);
  const parsed = Number(value);
  if (parsed < min || !Number.isSafeInteger(parsed)) throw new ConfigError(source, `must be at least ${min}`);
  return parsed;
}

export const BOOLEAN_SECURITY_FLAGS: readonly string[] = ['allow-insecure-listeners', 'http-anonymous'];

export const securityOptions: readonly SecurityOptionSpec[] = [
  {
    name: 'listeners',
    help: 'PROTOCOL://host:port,... (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL, HTTP, HTTPS); default: --host with --kafka-port and --http-port',
    apply: (c, v, s) => {
      c.listeners = parseListeners(s, v);
    },
  },
  {
    name: 'allow-insecure-listeners',
    help: 'let a listener on a non-loopback address run without authentication',
    apply: (c, v, s) => {
      if (/^(true|1|yes|on)$/i.test(v)) c.allowInsecureListeners = true;
      else if (/^(false|0|no|off)$/i.test(v)) c.allowInsecureListeners = false;
      else throw new ConfigError(s, `expected true or false, got "${v}"`);
    },
  },
  {
    name: 'tls-cert-file',
    help: 'PEM certificate (chain) of SSL, SASL_SSL and HTTPS listeners; reloaded on SIGHUP',
    apply: (c, v) => {
      c.tlsCertFile = v;
    },
  },
  {
    name: 'tls-key-file',
    help: 'PEM private key of that certificate; reloaded on SIGHUP',
    apply: (c, v) => {
      c.tlsKeyFile = v;
    },
  },
  {
    name: 'tls-ca-file',
    help: 'PEM CA certificates client certificates are checked against',
    apply: (c, v) => {
      c.tlsCaFile = v;
    },
  },
  {
    name: 'tls-client-auth',
    help: 'none | request | require: client certificates (principal User:<subject CN>) (default none)',
    apply: (c, v, s) => {
      if (v !== 'none' && v !== 'request' && v !== 'require') {
        throw new ConfigError(s, 'expected none, request or require');
      }
      c.tlsClientAuth = v as TlsClientAuth;
    },
  },
  {
    name: 'sasl-enabled-mechanisms',
    help: 'mechanisms SASL listeners offer (default PLAIN,SCRAM-SHA-256,SCRAM-SHA-512)',
    apply: (c, v) => {
      c.saslMechanisms = v
        .split(',')
        .map((m) => m.trim())
        .filter((m) => m.length > 0);
    },
  },
  {
    name: 'connections-max-reauth-ms',
    help: 'SASL session lifetime; clients re-authenticate before it ends (KIP-368) (default 0: never)',
    apply: (c, v, s) => {
      c.reauthMs = wholeMs(s, v, 0);
    },
  },
  {
    name: 'authentication-timeout-ms',
    help: 'close a TLS or SASL connection that has not authenticated by then (default 10000)',
    apply: (c, v, s) => {
      c.authenticationTimeoutMs = wholeMs(s, v, 100);
    },
  },
  {
    name: 'authentication-failure-delay-ms',
    help: 'delay before a failed SASL authentication is answered (default 100)',
    apply: (c, v, s) => {
      c.authenticationFailureDelayMs = wholeMs(s, v, 0);
    },
  },
];
