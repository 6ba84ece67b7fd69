import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';

/**
 * How the etcd client's requests travel: Node's fetch for http:// endpoints (and https:// ones
 * trusted by the system's CAs), node:https with our own CA and client certificate when etcd serves
 * TLS with `--trusted-ca-file` / `--client-cert-auth` (fetch cannot take a CA or a client
 * certificate without a dispatcher package). Both give the same two calls: a unary POST answered
 * whole, and a POST whose answer is read as a stream (the watch).
 */
export interface EtcdTransport {
  /** POSTs a JSON body; resolves with the status and the whole answer. Rejects on abort (name AbortError or TimeoutError). */
  post(url: string, body: string, signal: AbortSignal): Promise<{ status: number; text: string }>;
  /** POSTs a JSON body and hands over the answer's bytes as they come. */
  stream(
    url: string,
    body: string,
    signal: AbortSignal,
  ): Promise<{ status: number; chunks: AsyncIterable<Uint8Array> }>;
}

/** PEM files for TLS to etcd (all optional: a CA, and a client certificate with its key for client-cert-auth). */
export interface EtcdTlsFiles {
  readonly caFile: string | null;
  readonly certFile: string | null;
  readonly keyFile: string | null;
}

const JSON_HEADERS = { 'content-type': 'application/json' };

export const fetchTransport: EtcdTransport = {
  async post(url, body, signal) {
    const response = await fetch(url, { method: 'POST', headers: JSON_HEADERS, body, signal });
    return { status: response.status, text: await response.text() };
  },
  async stream(url, body, signal) {
    const response = await fetch(url, { method: 'POST', headers: JSON_HEADERS, body, signal });
    const reader = response.body?.getReader();
    async function* chunks(): AsyncGenerator<Uint8Array> {
      if (reader === undefined) return;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        yield value;
      }
    }
    return { status: response.status, chunks: chunks() };
  },
};

/** A transport over node:https with the given CA and client certificate (read once, here). */
export function tlsTransport(files: EtcdTlsFiles): EtcdTransport {
  const agent = new Agent({
    keepAlive: true,
    ...(files.caFile === null ? {} : { ca: readFileSync(files.caFile) }),
    ...(files.certFile === null ? {} : { cert: readFileSync(files.certFile) }),
    ...(files.keyFile === null ? {} : { key: readFileSync(files.keyFile) }),
  });
  const open = (
    url: string,
    body: string,
    signal: AbortSignal,
  ): Promise<{ status: number; chunks: AsyncIterable<Uint8Array> }> =>
    new Promise((resolve, reject) => {
      const outgoing = request(url, { method: 'POST', agent, headers: JSON_HEADERS, signal }, (incoming) =>
        resolve({ status: incoming.statusCode ?? 0, chunks: incoming }),
      );
      outgoing.on('error', reject);
      outgoing.end(body);
    });
  return {
    async post(url, body, signal) {
      const { status, chunks } = await open(url, body, signal);
      const parts: Buffer[] = [];
      for await (const chunk of chunks) parts.push(Buffer.from(chunk));
      return { status, text: Buffer.concat(parts).toString('utf8') };
    },
    stream: open,
  };
}

/** The transport for a set of TLS files: fetch when none is given. */
export function etcdTransportOf(files: EtcdTlsFiles | null): EtcdTransport {
  if (files === null || (files.caFile === null && files.certFile === null && files.keyFile === null)) {
    return fetchTransport;
  }
  return tlsTransport(files);
}
