import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import type { AppOptions } from '@trufflesuite/uws-js-unofficial';
import type { SecurityConfig } from '../common/security-config.js';

/**
 * The files an HTTPS listener serves (`--tls-cert-file`, `--tls-key-file`, `--tls-ca-file`), and
 * how uWebSockets.js's SSL app is given them. uWS reads the files itself, by name, when an app is
 * made; node:tls reads them first so that a missing file or a key that does not match the
 * certificate fails with a clear message instead of an app that cannot shake hands.
 *
 * Client certificates: with a CA file (`--tls-client-auth request|require`) uWS asks the client
 * for a certificate and a certificate that does not verify against the CA fails the handshake;
 * uWS has no option to refuse a client that sends none, and it does not hand the certificate to
 * JavaScript, so on HTTPS `require` acts as `request` and the certificate names no principal:
 * HTTP clients are identified by Basic or bearer credentials.
 */
export interface HttpsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  /** The CA client certificates are checked against; null: no client certificate is asked for. */
  readonly caFile: string | null;
}

export function httpsFilesOf(security: SecurityConfig): HttpsFiles {
  if (security.tlsCertFile === null || security.tlsKeyFile === null) {
    throw new Error('an HTTPS listener needs --tls-cert-file and --tls-key-file');
  }
  return {
    certFile: security.tlsCertFile,
    keyFile: security.tlsKeyFile,
    caFile: security.tlsClientAuth === 'none' ? null : security.tlsCaFile,
  };
}

/** Throws (naming the problem) when the files cannot be read or the key does not match the certificate. */
export function checkHttpsFiles(files: HttpsFiles): void {
  const cert = readFileSync(files.certFile);
  const key = readFileSync(files.keyFile);
  const ca = files.caFile === null ? undefined : readFileSync(files.caFile);
  createSecureContext({ cert, key, ...(ca === undefined ? {} : { ca }) });
}

export function uwsSslOptions(files: HttpsFiles): AppOptions {
  return {
    cert_file_name: files.certFile,
    key_file_name: files.keyFile,
    ...(files.caFile === null ? {} : { ca_file_name: files.caFile }),
  };
}
