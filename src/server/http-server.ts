import uWS, { type TemplatedApp, type us_listen_socket } from '@trufflesuite/uws-js-unofficial';
import type { FrontDoor, FrontDoorDeps } from './front-door-deps.js';
import { registerHttpRoutes } from './http-routes.js';
import { attachWebSocketRoute } from './ws-route.js';

/**
 * The uWebSockets.js app on the acceptor thread (`--host`, `--http-port`):
 * the HTTP API (http-routes.ts) and the WebSocket protocol at /ws
 * (ws-route.ts). Port 0 picks a free port; `port` tells which.
 */

/** uWS has `close()` on the app (stop listening, close every socket); its type declarations lag behind. */
type ClosableApp = TemplatedApp & { close?: () => void };

export async function startHttpServer(deps: FrontDoorDeps): Promise<FrontDoor> {
  // The package is CommonJS: its functions come from the default export.
  const app: ClosableApp = uWS.App();
  const ws = attachWebSocketRoute(app, deps);
  registerHttpRoutes(app, deps);
  const listenSocket = await new Promise<us_listen_socket>((resolve, reject) => {
    app.listen(deps.config.host, deps.config.httpPort, (socket) => {
      if (socket === false) reject(new Error(`cannot listen on ${deps.config.host}:${deps.config.httpPort}`));
      else resolve(socket);
    });
  });
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
