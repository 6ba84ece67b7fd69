import { readFileSync } from 'node:fs';
import { createSecureContext, createServer, type SecureContext, type Server, type TLSSocket } from 'node:tls';
import type { SecurityConfig } from '../common/security-config.js';
import { isValidUserName, type Principal, userPrincipal } from '../security/principal.js';

/**
 * TLS for Kafka listeners, with node:tls. The certificate and key (and CA) are read at start and
 * again on `reload()` (SIGHUP): `setSecureContext` makes new handshakes use the new files while
 * connections already up keep theirs, so nothing is dropped. A file that cannot be read or does
 * not match makes reload throw and leaves the old context serving.
 *
 * `handshakeTimeout` closes a connection that has not finished its handshake in
 * authenticationTimeoutMs (a slowloris on the handshake holds nothing past that).
 */
export interface TlsListener {
  createServer(onSecure: (socket: TLSSocket) => void): Server;
  /** Re-reads the files into every server made; throws (and changes nothing) when they are bad. */
  reload(): void;
}

interface TlsFiles {
  cert: Buffer;
  key: Buffer;
  ca: Buffer | undefined;
}

function readTlsFiles(security: SecurityConfig): TlsFiles {
  return {
    cert: readFileSync(security.tlsCertFile!),
    key: readFileSync(security.tlsKeyFile!),
    ca: security.tlsCaFile === null ? undefined : readFileSync(security.tlsCaFile),
  };
}

export function makeTlsListener(security: SecurityConfig): TlsListener {
  let files = readTlsFiles(security);
  const contextOf = (f: TlsFiles): SecureContext =>
    createSecureContext({ cert: f.cert, key: f.key, ...(f.ca === undefined ? {} : { ca: f.ca }) });
  // Made once here, so a bad file fails the start rather than the first handshake.
  contextOf(files);
  const servers: Server[] = [];
  return {
    createServer(onSecure) {
      const server = createServer(
        {
          cert: files.cert,
          key: files.key,
          ...(files.ca === undefined ? {} : { ca: files.ca }),
          requestCert: security.tlsClientAuth !== 'none',
          rejectUnauthorized: security.tlsClientAuth === 'require',
          handshakeTimeout: security.authenticationTimeoutMs,
          minVersion: 'TLSv1.2',
        },
        onSecure,
      );
      // A failed handshake (bad bytes, timeout) is the client's problem: destroy the socket, log nothing.
      server.on('tlsClientError', (_error, socket) => socket.destroy());
      servers.push(server);
      return server;
    },
    reload() {
      const next = readTlsFiles(security);
      contextOf(next);
      files = next;
      for (const server of servers) {
        server.setSecureContext({
          cert: next.cert,
          key: next.key,
          ...(next.ca === undefined ? {} : { ca: next.ca }),
        });
      }
    },
  };
}

/** User:<subject CN> of a client certificate the CA vouched for; null without one. */
export function principalOfClientCertificate(socket: TLSSocket): Principal | null {
  if (!socket.authorized) return null;
  const subject = socket.getPeerCertificate().subject as { CN?: string | string[] } | undefined;
  const cn = Array.isArray(subject?.CN) ? subject.CN[0] : subject?.CN;
  return cn !== undefined && isValidUserName(cn) ? userPrincipal(cn) : null;
}
