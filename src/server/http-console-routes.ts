import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FrontDoorError, FrontDoorProblem } from '../protocol/front-door-errors.js';
import type { HttpRoute } from './http-route-table.js';

/**
 * The web console (console/, built by `npm run build` into dist/console):
 *
 *   GET /                  index.html, `cache-control: no-cache` (it names the current assets)
 *   GET /assets/:file      the bundles, named by content hash: cached for a year, immutable
 *
 * The files are read once, when the routes are made; the console talks only
 * to the public HTTP API and the WebSocket protocol, like any other client.
 */
const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** dist/console, whether this module runs compiled (dist/src/server) or from its sources (src/server). */
export function consoleDirectory(): string {
  const relative = import.meta.url.endsWith('.ts') ? '../../dist/console/' : '../../console/';
  return fileURLToPath(new URL(relative, import.meta.url));
}

export function consoleRoutes(directory = consoleDirectory()): HttpRoute[] {
  const indexPath = join(directory, 'index.html');
  const index = existsSync(indexPath) ? readFileSync(indexPath) : null;
  const assets = new Map<string, Uint8Array>();
  const assetsDir = join(directory, 'assets');
  if (existsSync(assetsDir)) {
    for (const name of readdirSync(assetsDir)) assets.set(name, readFileSync(join(assetsDir, name)));
  }
  return [
    {
      method: 'get',
      pattern: '/',
      handler: async (exchange) => {
        if (index === null) {
          throw new FrontDoorProblem(FrontDoorError.NOT_FOUND, 'the console is not built: run npm run build');
        }
        exchange.send(200, CONTENT_TYPES['.html']!, index, [
          ['cache-control', 'no-cache'],
          ['x-content-type-options', 'nosniff'],
        ]);
      },
    },
    {
      method: 'get',
      pattern: '/assets/:file',
      handler: async (exchange, request) => {
        const name = request.parameters[0]!;
        const body = assets.get(name);
        const type = CONTENT_TYPES[extname(name)];
        if (body === undefined || type === undefined)
          throw new FrontDoorProblem(FrontDoorError.NOT_FOUND, `no console asset "${name.slice(0, 80)}"`);
        exchange.send(200, type, body, [
          ['cache-control', 'public, max-age=31536000, immutable'],
          ['x-content-type-options', 'nosniff'],
        ]);
      },
    },
  ];
}
