import uWS, { type TemplatedApp, type us_listen_socket } from '@trufflesuite/uws-js-unofficial';
import type { FrontDoor, FrontDoorDeps } from '../protocol/front-door-deps.js';
import { type HttpRoutesOptions, httpRouteSet, mountHttpRoutes } from './http-routes.js';
import { checkHttpsFiles, type HttpsFiles, uwsSslOptions } from './https-files.js';
import { webSocketRoute } from './ws-route.js';

/**
 * The uWebSockets.js app on the acceptor thread (`--host`, `--http-port`, or an HTTP or HTTPS
 * listener): the HTTP API (http-routes.ts) and the WebSocket protocol at /ws (ws-route.ts).
 * Port 0 picks a free port; `port` tells which.
 *
 * HTTPS is uWS's SSL app. uWS reads its certificate files once, when an app is made, and offers
 * no way to give a live app new ones (its SNI contexts only serve clients that send that server
 * name, which clients of an IP address do not). So `reloadTls()` makes a new app with the same
 * routes and listens on the same port beside the old one (uWS listens with SO_REUSEPORT), then
 * closes the old app's listening socket: new connections meet the new certificate while the old
 * app keeps serving the connections it has (HTTP keep-alive, WebSockets) until they close. The
 * routes' shared state (body budget, metrics, the WebSocket connection limit) is one for all
 * apps. Each reload keeps the previous app's small context alive until the server closes. uWS
 * sets SO_REUSEPORT only on sockets bound to a fixed port, so HTTPS on port 0 first finds a free
 * port and then listens on it as a fixed one.
 */
export interface HttpFrontDoor extends FrontDoor {
  /** Whether this door serves HTTPS. */
  readonly tls: boolean;
  /**
   * HTTPS: reads the certificate files again for new connections (live ones keep theirs). Throws,
   * changing nothing, when a file is bad or the new app cannot listen. No-op for plain HTTP.
   */
  reloadTls(): void;
}

export interface HttpServerOptions extends HttpRoutesOptions {
  /** Serve HTTPS with these files; plain HTTP when absent. */
  tls?: HttpsFiles;
}

/** uWS has `close()` on the app (stop listening, close every socket); its type declarations lag behind. */
type ClosableApp = TemplatedApp & { close?: () => void };

export async function startHttpServer(
  deps: FrontDoorDeps,
  options: HttpServerOptions = {},
): Promise<HttpFrontDoor> {
  const tls = options.tls ?? null;
  if (tls !== null) checkHttpsFiles(tls);
  const ws = webSocketRoute(deps, {}, options.authenticator);
  const routes = httpRouteSet(deps, options);
  const makeApp = (): ClosableApp => {
    // The package is CommonJS: its functions come from the default export.
    const app: ClosableApp = tls === null ? uWS.App() : uWS.SSLApp(uwsSslOptions(tls));
    ws.mount(app);
    mountHttpRoutes(app, routes);
    return app;
  };
  const apps: ClosableApp[] = [makeApp()];
  const host = deps.config.host;
  let listenSocket =
    tls !== null && deps.config.httpPort === 0
      ? listenOnFreeFixedPort(apps[0]!, host)
      : await listenWithRetry(apps[0]!, host, deps.config.httpPort);
  const port = uWS.us_socket_local_port(listenSocket);
  let closed = false;
  return {
    port,
    tls: tls !== null,
    reloadTls() {
      if (tls === null || closed) return;
      checkHttpsFiles(tls);
      const app = makeApp();
      const next = listenNow(app, host, port);
      if (next === false) {
        app.close?.();
        throw new Error(`cannot listen again on ${host}:${port} with the new certificate`);
      }
      uWS.us_listen_socket_close(listenSocket);
      listenSocket = next;
      apps.push(app);
    },
    async close() {
      if (closed) return;
      closed = true;
      uWS.us_listen_socket_close(listenSocket);
      // WebSockets first get a close frame (1001); then every socket left,
      // idle keep-alive HTTP connections included, is closed, and handlers
      // still waiting see their responses aborted.
      ws.close();
      for (const app of apps) app.close?.();
    },
  };
}

/** Listens at once (uWS calls back synchronously from listen); false when the port cannot be had. */
function listenNow(app: TemplatedApp, host: string, port: number): us_listen_socket | false {
  const listened: { socket: us_listen_socket | false } = { socket: false };
  app.listen(host, port, (socket) => {
    listened.socket = socket;
  });
  return listened.socket;
}

/**
 * Port 0 for HTTPS: uSockets sets SO_REUSEPORT only on a listening socket bound to a fixed port,
 * and the reload needs it to listen beside the old app. So a free port is found first (bound to
 * port 0 and let go) and then listened on as a fixed port; tried a few times in case another
 * process takes it in between.
 */
function listenOnFreeFixedPort(app: TemplatedApp, host: string): us_listen_socket {
  for (let attempt = 0; attempt < 5; attempt++) {
    const probe: ClosableApp = uWS.App();
    const probed = listenNow(probe, host, 0);
    if (probed === false) break;
    const port = uWS.us_socket_local_port(probed);
    uWS.us_listen_socket_close(probed);
    probe.close?.();
    const socket = listenNow(app, host, port);
    if (socket !== false) return socket;
  }
  throw new Error(`cannot listen on ${host} (no free port)`);
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
