import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Certificates made for a test with Debian's openssl, in the test's temp dir: a CA, a server
 * certificate for 127.0.0.1 and localhost, and client certificates with a given subject CN.
 * Nothing here is committed; every run makes new keys.
 */
export interface TestCertificates {
  readonly caCert: string;
  readonly serverCert: string;
  readonly serverKey: string;
  /** Makes another server certificate (for a reload) and returns its paths. */
  server(name: string): { cert: string; key: string };
  client(cn: string): { cert: string; key: string };
}

function openssl(args: readonly string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

export function makeTestCertificates(dir: string): TestCertificates {
  const at = (name: string): string => join(dir, name);
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=pyralog-test-ca',
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
    ],
    dir,
  );
  const client = (cn: string): { cert: string; key: string } => {
    const name = `client-${cn}`;
    openssl(
      [
        'req',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-subj',
        `/CN=${cn}`,
        '-keyout',
        `${name}.key`,
        '-out',
        `${name}.csr`,
      ],
      dir,
    );
    openssl(
      [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-days',
        '2',
        '-out',
        `${name}.crt`,
      ],
      dir,
    );
    return { cert: at(`${name}.crt`), key: at(`${name}.key`) };
  };
  writeFileSync(at('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  const serverOf = (name: string): { cert: string; key: string } => {
    openssl(
      [
        'req',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-subj',
        '/CN=localhost',
        '-keyout',
        `${name}.key`,
        '-out',
        `${name}.csr`,
      ],
      dir,
    );
    execFileSync(
      'openssl',
      [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-days',
        '2',
        '-out',
        `${name}.crt`,
        '-extfile',
        'server.ext',
      ],
      { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    return { cert: at(`${name}.crt`), key: at(`${name}.key`) };
  };
  const server = serverOf('server');
  return {
    caCert: at('ca.crt'),
    serverCert: server.cert,
    serverKey: server.key,
    server: serverOf,
    client,
  };
}
