import uWS, { type us_listen_socket } from '@trufflesuite/uws-js-unofficial';
import type { FrontDoor, FrontDoorDeps } from './front-door-deps.js';
import { registerHttpRoutes } from './http-routes.js';
import { attachWebSocketRoute } from './ws-route.js';

/**
 * The uWebSockets.js app on the acceptor thread (`--host`, `--http-port`):
 * the HTTP API (http-routes.ts) and the WebSocket protocol at /ws
 * (ws-route.ts).
 */
export async function startHttpServer(deps: FrontDoorDeps): Promise<FrontDoor> {
  // The package is CommonJS: its functions come from the default export.
  const app = uWS.App();
  const ws = attachWebSocketRoute(app, deps);
  registerHttpRoutes(app, deps);
  const listenSocket = await new Promise<us_listen_socket>((resolve, reject) => {
    app.listen(deps.config.host, deps.config.httpPort, (socket) => {
      if (socket === false) reject(new Error(`cannot listen on ${deps.config.host}:${deps.config.httpPort}`));
      else resolve(socket);
    });
  });
  return {
    port: uWS.us_socket_local_port(listenSocket),
    async close() {
      uWS.us_listen_socket_close(listenSocket);
      ws.close();
    },
  };
}
