import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BlackholeDirection, FaultProxy } from './fault-proxy.js';

/**
 * A tiny HTTP endpoint on 127.0.0.1 that drives a set of named fault proxies,
 * so the chaos checker (or a person with curl) can break links in brokers it
 * did not start itself:
 *
 *   GET  /links                              → 200, every link's status (JSON array)
 *   POST /links/<name>/blackhole[?direction=both|toTarget|fromTarget]
 *   POST /links/<name>/stall | /reset | /heal  → 200, that link's status
 *   POST /heal                               → 200, every link healed, their statuses
 *
 * Unknown links answer 404, unknown actions or directions 400, other methods 405.
 */
export interface FaultControl {
  readonly port: number;
  close(): Promise<void>;
}

const DIRECTIONS: readonly BlackholeDirection[] = ['both', 'toTarget', 'fromTarget'];

export async function startFaultControl(
  links: ReadonlyMap<string, FaultProxy>,
  options: { port?: number; host?: string } = {},
): Promise<FaultControl> {
  const server = createServer((request, response) => {
    // The body is never read; drain it so a client that sends one is not left hanging.
    request.resume();
    try {
      answer(links, request, response);
    } catch (error) {
      // A malformed path (a bad percent escape) is the client's mistake, never a crash of the checker.
      send(response, 400, { error: error instanceof Error ? error.message : String(error) });
    }
  });
  server.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function answer(
  links: ReadonlyMap<string, FaultProxy>,
  request: IncomingMessage,
  response: ServerResponse,
): void {
  const url = new URL(request.url ?? '/', 'http://control');
  const parts = url.pathname
    .split('/')
    .filter((part) => part !== '')
    .map(decodeURIComponent);
  if (parts.length === 1 && parts[0] === 'links') {
    if (request.method !== 'GET') {
      send(response, 405, { error: 'use GET' });
      return;
    }
    send(
      response,
      200,
      [...links.values()].map((link) => link.status()),
    );
    return;
  }
  if (parts.length === 1 && parts[0] === 'heal') {
    if (request.method !== 'POST') {
      send(response, 405, { error: 'use POST' });
      return;
    }
    for (const link of links.values()) link.heal();
    send(
      response,
      200,
      [...links.values()].map((link) => link.status()),
    );
    return;
  }
  if (parts.length !== 3 || parts[0] !== 'links') {
    send(response, 404, { error: 'no such route' });
    return;
  }
  if (request.method !== 'POST') {
    send(response, 405, { error: 'use POST' });
    return;
  }
  const [, name, action] = parts as [string, string, string];
  const link = links.get(name);
  if (link === undefined) {
    send(response, 404, { error: `no link named ${name}` });
    return;
  }
  switch (action) {
    case 'blackhole': {
      const direction = url.searchParams.get('direction') ?? 'both';
      if (!DIRECTIONS.includes(direction as BlackholeDirection)) {
        send(response, 400, { error: `direction must be one of ${DIRECTIONS.join(', ')}` });
        return;
      }
      link.blackhole(direction as BlackholeDirection);
      break;
    }
    case 'stall':
      link.stall();
      break;
    case 'reset':
      link.reset();
      break;
    case 'heal':
    case 'pass':
      link.heal();
      break;
    default:
      send(response, 400, { error: `unknown action ${action}: blackhole, stall, reset or heal` });
      return;
  }
  send(response, 200, link.status());
}

function send(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}
