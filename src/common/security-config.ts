import { ConfigError } from './errors.js';

/**
 * Listeners and their security (`--listeners`, `--tls-*`, `--sasl-*`), as Kafka names them:
 *
 *   PLAINTEXT://127.0.0.1:9092,SASL_SSL://0.0.0.0:9093,HTTP://127.0.0.1:8080
 *
 * PLAINTEXT, SSL, SASL_PLAINTEXT and SASL_SSL are Kafka-protocol listeners (any number of them,
 * all on the acceptor thread); HTTP or HTTPS serves HTTP and WebSocket (one). Without `--listeners`
 * the broker listens as it always has: Kafka on `--host`:`--kafka-port`, HTTP on `--host`:`--http-port`.
 */
export const KAFKA_LISTENER_PROTOCOLS = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'] as const;
export const HTTP_LISTENER_PROTOCOLS = ['HTTP', 'HTTPS'] as const;
export type KafkaListenerProtocol = (typeof KAFKA_LISTENER_PROTOCOLS)[number];
export type HttpListenerProtocol = (typeof HTTP_LISTENER_PROTOCOLS)[number];
export type ListenerProtocol = KafkaListenerProtocol | HttpListenerProtocol;

export interface ListenerSpec {
  readonly protocol: ListenerProtocol;
  readonly host: string;
  readonly port: number;
}

export type TlsClientAuth = 'none' | 'request' | 'require';

export interface SecurityConfig {
  /** null: the listeners `--host`, `--kafka-port` and `--http-port` give (PLAINTEXT and HTTP). */
  readonly listeners: readonly ListenerSpec[] | null;
  /** Lets a listener on a non-loopback address run without authentication. */
  readonly allowInsecureListeners: boolean;
  readonly tlsCertFile: string | null;
  readonly tlsKeyFile: string | null;
  readonly tlsCaFile: string | null;
  readonly tlsClientAuth: TlsClientAuth;
  /** Mechanisms SASL listeners offer. */
  readonly saslMechanisms: readonly string[];
  /** connections.max.reauth.ms (KIP-368): 0 keeps a SASL session for the life of the connection. */
  readonly reauthMs: number;
  /** A connection on a SASL or TLS listener that has not authenticated (or shaken hands) by then is closed. */
  readonly authenticationTimeoutMs: number;
  /** How long a failed SASL authentication waits before it is answered. */
  readonly authenticationFailureDelayMs: number;
  /**
   * Cluster mode: the listener (by protocol) followers fetch from, Kafka's
   * security.inter.broker.protocol; null: the first Kafka listener, as before.
   */
  readonly interBrokerListener: KafkaListenerProtocol | null;
  /** The SASL mechanism, user and password file a follower authenticates with on a SASL inter-broker listener. */
  readonly interBrokerSaslMechanism: string;
  readonly interBrokerSaslUsername: string | null;
  readonly interBrokerSaslPasswordFile: string | null;
  /** TLS to other brokers: the CA their certificates are checked against (default --tls-ca-file), a client certificate. */
  readonly interBrokerTlsCaFile: string | null;
  readonly interBrokerTlsCertFile: string | null;
  readonly interBrokerTlsKeyFile: string | null;
  /** TLS to etcd (https:// endpoints): its CA, and a client certificate for etcd's --client-cert-auth. */
  readonly etcdTlsCaFile: string | null;
  readonly etcdTlsCertFile: string | null;
  readonly etcdTlsKeyFile: string | null;
}

export const defaultSecurityConfig: SecurityConfig = {
  listeners: null,
  allowInsecureListeners: false,
  tlsCertFile: null,
  tlsKeyFile: null,
  tlsCaFile: null,
  tlsClientAuth: 'none',
  saslMechanisms: ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'],
  reauthMs: 0,
  authenticationTimeoutMs: 10_000,
  authenticationFailureDelayMs: 100,
  interBrokerListener: null,
  interBrokerSaslMechanism: 'SCRAM-SHA-512',
  interBrokerSaslUsername: null,
  interBrokerSaslPasswordFile: null,
  interBrokerTlsCaFile: null,
  interBrokerTlsCertFile: null,
  interBrokerTlsKeyFile: null,
  etcdTlsCaFile: null,
  etcdTlsCertFile: null,
  etcdTlsKeyFile: null,
};

export function isKafkaListener(
  spec: ListenerSpec,
): spec is ListenerSpec & { protocol: KafkaListenerProtocol } {
  return (KAFKA_LISTENER_PROTOCOLS as readonly string[]).includes(spec.protocol);
}

export function usesTls(protocol: ListenerProtocol): boolean {
  return protocol === 'SSL' || protocol === 'SASL_SSL' || protocol === 'HTTPS';
}

export function usesSasl(protocol: ListenerProtocol): boolean {
  return protocol === 'SASL_PLAINTEXT' || protocol === 'SASL_SSL';
}

/** `PROTOCOL://host:port[,...]`; IPv6 hosts in brackets (`SSL://[::1]:9093`). */
export function parseListeners(source: string, value: string): ListenerSpec[] {
  const specs: ListenerSpec[] = [];
  for (const item of value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)) {
    const match = /^([A-Z_]+):\/\/(\[[^\]]+\]|[^:/]*):(\d+)$/.exec(item);
    if (match === null) throw new ConfigError(source, `expected PROTOCOL://host:port, got "${item}"`);
    const protocol = match[1]!;
    if (
      !(KAFKA_LISTENER_PROTOCOLS as readonly string[]).includes(protocol) &&
      !(HTTP_LISTENER_PROTOCOLS as readonly string[]).includes(protocol)
    ) {
      throw new ConfigError(
        source,
        `unknown listener protocol ${protocol} in "${item}" (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL, HTTP, HTTPS)`,
      );
    }
    const rawHost = match[2]!;
    const host = rawHost.startsWith('[') ? rawHost.slice(1, -1) : rawHost === '' ? '0.0.0.0' : rawHost;
    const port = Number(match[3]);
    if (port > 65535) throw new ConfigError(source, `port out of range in "${item}"`);
    specs.push({ protocol: protocol as ListenerProtocol, host, port });
  }
  if (specs.length === 0) throw new ConfigError(source, 'names no listener');
  return specs;
}

export function listenerText(spec: ListenerSpec): string {
  return `${spec.protocol}://${spec.host.includes(':') ? `[${spec.host}]` : spec.host}:${spec.port}`;
}

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * Whether a listener identifies its clients: SASL listeners, SSL requiring client certificates,
 * and HTTPS while the HTTP door requires credentials (Basic or bearer, which only TLS keeps
 * secret on the wire; plain HTTP never counts).
 */
function listenerAuthenticates(
  spec: ListenerSpec,
  security: SecurityConfig,
  httpCredentialsRequired: boolean,
): boolean {
  if (usesSasl(spec.protocol)) return true;
  if (spec.protocol === 'SSL') return security.tlsClientAuth === 'require';
  return spec.protocol === 'HTTPS' && httpCredentialsRequired;
}

/** Whether any Kafka listener authenticates its clients (then HTTP needs credentials and ACLs deny by default). */
export function kafkaAuthenticationConfigured(security: SecurityConfig): boolean {
  return (
    security.listeners?.some(
      (spec) => isKafkaListener(spec) && listenerAuthenticates(spec, security, false),
    ) ?? false
  );
}

/**
 * Throws a ConfigError naming the option (and the listener) at fault. `httpAnonymous` is
 * `--http-anonymous`: with it an HTTPS listener does not authenticate.
 */
export function validateSecurityConfig(security: SecurityConfig, httpAnonymous = false): void {
  validateInterBroker(security);
  if ((security.etcdTlsCertFile === null) !== (security.etcdTlsKeyFile === null)) {
    throw new ConfigError('etcd-tls-cert-file', 'give both --etcd-tls-cert-file and --etcd-tls-key-file');
  }
  const listeners = security.listeners;
  if (listeners === null) return;
  const http = listeners.filter((l) => !isKafkaListener(l));
  if (http.length > 1) throw new ConfigError('listeners', 'at most one HTTP or HTTPS listener');
  const httpCredentialsRequired = kafkaAuthenticationConfigured(security) && !httpAnonymous;
  for (const spec of listeners) {
    if (usesTls(spec.protocol) && (security.tlsCertFile === null || security.tlsKeyFile === null)) {
      throw new ConfigError('listeners', `${listenerText(spec)} needs --tls-cert-file and --tls-key-file`);
    }
    if (
      !listenerAuthenticates(spec, security, httpCredentialsRequired) &&
      !isLoopbackHost(spec.host) &&
      !security.allowInsecureListeners
    ) {
      throw new ConfigError(
        'listeners',
        `${listenerText(spec)} is on a non-loopback address without authentication; use a SASL listener ` +
          '(or SSL with --tls-client-auth require, or HTTPS beside one of those), bind it to 127.0.0.1, ' +
          'or pass --allow-insecure-listeners',
      );
    }
  }
  if (security.tlsClientAuth !== 'none' && security.tlsCaFile === null) {
    throw new ConfigError('tls-client-auth', 'needs --tls-ca-file to check client certificates against');
  }
  for (const mechanism of security.saslMechanisms) {
    if (!['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'].includes(mechanism)) {
      throw new ConfigError('sasl-enabled-mechanisms', `unknown mechanism ${mechanism}`);
    }
  }
  if (security.saslMechanisms.length === 0) throw new ConfigError('sasl-enabled-mechanisms', 'names none');
}

function validateInterBroker(security: SecurityConfig): void {
  const protocol = security.interBrokerListener;
  if ((security.interBrokerTlsCertFile === null) !== (security.interBrokerTlsKeyFile === null)) {
    throw new ConfigError(
      'inter-broker-tls-cert-file',
      'give both --inter-broker-tls-cert-file and --inter-broker-tls-key-file',
    );
  }
  if (protocol === null) return;
  if (!security.listeners?.some((spec) => spec.protocol === protocol)) {
    throw new ConfigError('inter-broker-listener', `names ${protocol}, which --listeners does not list`);
  }
  if (usesSasl(protocol)) {
    if (security.interBrokerSaslUsername === null || security.interBrokerSaslPasswordFile === null) {
      throw new ConfigError(
        'inter-broker-listener',
        `${protocol} needs --inter-broker-sasl-username and --inter-broker-sasl-password-file`,
      );
    }
    if (!['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'].includes(security.interBrokerSaslMechanism)) {
      throw new ConfigError(
        'inter-broker-sasl-mechanism',
        `unknown mechanism ${security.interBrokerSaslMechanism}`,
      );
    }
  }
}
