import { ConfigError } from '../common/errors.js';
import {
  KAFKA_LISTENER_PROTOCOLS,
  type KafkaListenerProtocol,
  parseListeners,
  type SecurityConfig,
  type TlsClientAuth,
} from '../common/security-config.js';

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
  {
    name: 'inter-broker-listener',
    help: 'cluster mode: the listener protocol followers fetch from (e.g. SASL_SSL); default the first Kafka listener',
    apply: (c, v, s) => {
      if (!(KAFKA_LISTENER_PROTOCOLS as readonly string[]).includes(v)) {
        throw new ConfigError(s, 'expected PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL');
      }
      c.interBrokerListener = v as KafkaListenerProtocol;
    },
  },
  {
    name: 'inter-broker-sasl-mechanism',
    help: 'SASL mechanism of the broker principal on a SASL inter-broker listener (default SCRAM-SHA-512)',
    apply: (c, v) => {
      c.interBrokerSaslMechanism = v;
    },
  },
  {
    name: 'inter-broker-sasl-username',
    help: 'the user brokers authenticate as to each other (give it ClusterAction, e.g. as a super user)',
    apply: (c, v) => {
      c.interBrokerSaslUsername = v;
    },
  },
  {
    name: 'inter-broker-sasl-password-file',
    help: "a file holding that user's password (read at start)",
    apply: (c, v) => {
      c.interBrokerSaslPasswordFile = v;
    },
  },
  {
    name: 'inter-broker-tls-ca-file',
    help: "PEM CA other brokers' certificates are checked against (default --tls-ca-file)",
    apply: (c, v) => {
      c.interBrokerTlsCaFile = v;
    },
  },
  {
    name: 'inter-broker-tls-cert-file',
    help: 'PEM client certificate a follower presents to an SSL inter-broker listener',
    apply: (c, v) => {
      c.interBrokerTlsCertFile = v;
    },
  },
  {
    name: 'inter-broker-tls-key-file',
    help: 'PEM private key of that client certificate',
    apply: (c, v) => {
      c.interBrokerTlsKeyFile = v;
    },
  },
  {
    name: 'etcd-tls-ca-file',
    help: "PEM CA etcd's certificate is checked against (https:// etcd endpoints)",
    apply: (c, v) => {
      c.etcdTlsCaFile = v;
    },
  },
  {
    name: 'etcd-tls-cert-file',
    help: "PEM client certificate for etcd's --client-cert-auth",
    apply: (c, v) => {
      c.etcdTlsCertFile = v;
    },
  },
  {
    name: 'etcd-tls-key-file',
    help: 'PEM private key of that client certificate',
    apply: (c, v) => {
      c.etcdTlsKeyFile = v;
    },
  },
];
