import uWS, { type TemplatedApp, type us_listen_socket } from '@trufflesuite/uws-js-unofficial';
import type { FrontDoor, FrontDoorDeps } from '../protocol/front-door-deps.js';
import { type HttpRoutesOptions, registerHttpRoutes } from './http-routes.js';
import { attachWebSocketRoute } from './ws-route.js';

/**
 * The uWebSockets.js app on the acceptor thread (`--host`, `--http-port`):
 * the HTTP API (http-routes.ts) and the WebSocket protocol at /ws
 * (ws-route.ts). Port 0 picks a free port; `port` tells which.
 */

/** uWS has `close()` on the app (stop listening, close every socket); its type declarations lag behind. */
type ClosableApp = TemplatedApp & { close?: () => void };

export async function startHttpServer(
  deps: FrontDoorDeps,
  options: HttpRoutesOptions = {},
): Promise<FrontDoor> {
  // The package is CommonJS: its functions come from the default export.
  const app: ClosableApp = uWS.App();
  const ws = attachWebSocketRoute(app, deps, {}, options.authenticator);
  registerHttpRoutes(app, deps, options);
  const listenSocket = await listenWithRetry(app, deps.config.host, deps.config.httpPort);
  let closed = false;
  return {
    port: uWS.us_socket_local_port(listenSocket),
    async close() {
      if (closed) return;
      closed = true;
      uWS.us_listen_socket_close(listenSocket);
      // WebSockets first get a close frame (1001); then every socket left,
      // idle keep-alive HTTP connections included, is closed, and handlers
      // still waiting see their responses aborted.
      ws.close();
      app.close?.();
    },
  };
}

/** How long to keep trying a fixed port that connections of a previous run still hold. */
const LISTEN_RETRY_MS = 90_000;

/**
 * uWebSockets.js listens without SO_REUSEADDR, so right after a restart on a
 * fixed port the bind fails while the previous run's connections sit in
 * TIME_WAIT (up to a minute on Linux). Rather than exit, keep trying for a
 * while and say why on stderr; a port that stays taken still fails clearly.
 */
async function listenWithRetry(app: TemplatedApp, host: string, port: number): Promise<us_listen_socket> {
  const deadlineMs = Date.now() + (port === 0 ? 0 : LISTEN_RETRY_MS);
  let warned = false;
  for (;;) {
    const socket = await new Promise<us_listen_socket | false>((resolve) => app.listen(host, port, resolve));
    if (socket !== false) return socket;
    if (Date.now() >= deadlineMs)
      throw new Error(`cannot listen on ${host}:${port} (is another process using it?)`);
    if (!warned) {
      warned = true;
      process.stderr.write(
        `pyralog: ${host}:${port} is still held (a previous run's connections?); retrying for up to ${LISTEN_RETRY_MS / 1000} s\n`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
