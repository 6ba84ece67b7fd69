import type { TemplatedApp, WebSocket, WebSocketBehavior } from '@trufflesuite/uws-js-unofficial';
import type { FrontDoorDeps } from '../protocol/front-door-deps.js';
import { WsCloseCode, WsError } from '../protocol/ws/ws-error-code.js';
import type { HttpAuthenticator } from '../security/http-authenticator.js';
import { ANONYMOUS_PRINCIPAL, type Principal } from '../security/principal.js';
import { webOriginPolicy } from './web-origin.js';
import { WsOutbox } from './ws-outbox.js';
import type { WsSocket } from './ws-replies.js';
import { DEFAULT_WS_LIMITS, type WsLimits, WsSession } from './ws-session.js';

/**
 * The WebSocket endpoint `/ws` on the uWS app: binary frames
 * (src/protocol/ws/binary-frame.ts) and JSON text messages
 * (src/protocol/ws/json-request.ts) on the same connection.
 *
 * Limits, each with its own signal:
 * - a message over maxFrameBytes gets a FRAME_TOO_LARGE error and a 1009
 *   close. uWS itself drops a connection whose message passes twice the
 *   limit (it must not buffer without bound), with no close frame (1006).
 * - an upgrade whose Host does not name this broker, or from a page of an
 *   origin that is not allowed (web-origin.ts), is refused: HTTP 403.
 * - past maxConnections the upgrade is refused: HTTP 503 with a JSON
 *   TOO_MANY_CONNECTIONS body.
 * - a connection with no request, none in flight and no subscription for
 *   idleTimeoutMs is closed with 1001 "IDLE_TIMEOUT"; uWS pings the others
 *   and drops a peer that stops answering (1006).
 * - a client that stops reading while its unsent data passes
 *   sendBufferCloseBytes is closed with 1008 "SLOW_CONSUMER" (its
 *   subscriptions pause long before that; see ws-session.ts).
 */
export interface WebSocketRoute {
  close(): void;
  connectionCount(): number;
  /** The largest send buffer of any open connection, in bytes (for tests and metrics). */
  bufferedBytesMax(): number;
}

interface UserData {
  session: WsSession | null;
  /** Who the upgrade authenticated as; null when the first message must authenticate. */
  principal: Principal | null;
  clientHost: string;
  /** Marks the socket closed for the session's sends (uWS must not be touched after close). */
  markClosed: (() => void) | null;
}

/** uWS counts idle time in seconds, from 8 (its timer's resolution is 4 s) to 960. */
function uwsIdleTimeoutSeconds(idleTimeoutMs: number): number {
  return Math.min(960, Math.max(8, Math.round(idleTimeoutMs / 1000)));
}

/**
 * The route made once and mounted on every uWS app that serves it (an HTTPS reload mounts it on a
 * new app): the connection limit, the idle sweep and `close()` cover the connections of all.
 */
export interface MountableWebSocketRoute extends WebSocketRoute {
  mount(app: TemplatedApp): void;
}

export function attachWebSocketRoute(
  app: TemplatedApp,
  deps: FrontDoorDeps,
  limitOverrides: Partial<WsLimits> = {},
  /** Checks the upgrade's Authorization header or the first message's token; absent: all anonymous. */
  authenticator?: HttpAuthenticator,
): WebSocketRoute {
  const route = webSocketRoute(deps, limitOverrides, authenticator);
  route.mount(app);
  return route;
}

export function webSocketRoute(
  deps: FrontDoorDeps,
  limitOverrides: Partial<WsLimits> = {},
  authenticator?: HttpAuthenticator,
): MountableWebSocketRoute {
  const { config } = deps;
  const limits: WsLimits = { ...DEFAULT_WS_LIMITS, ...limitOverrides };
  const open = new Set<WebSocket<UserData>>();
  const origins = webOriginPolicy(config);
  const behavior: WebSocketBehavior<UserData> = {
    maxPayloadLength: config.maxFrameBytes * 2,
    idleTimeout: uwsIdleTimeoutSeconds(config.idleTimeoutMs),
    sendPingsAutomatically: true,
    // 0: uWS never drops a send by itself; the socket wrapper below closes a slow consumer instead.
    maxBackpressure: 0,
    closeOnBackpressureLimit: 0,
    upgrade: (res, req, context) => {
      const host = req.getHeader('host');
      const refusal = !origins.hostServed(host)
        ? 'this broker does not serve that host name (see --allowed-hosts)'
        : !origins.originAllowed(req.getHeader('origin'), host)
          ? 'WebSocket connections are not accepted from pages of this origin (see --allowed-origins)'
          : null;
      if (refusal !== null) {
        res.cork(() => {
          res
            .writeStatus('403 Forbidden')
            .writeHeader('content-type', 'application/json')
            .end(JSON.stringify({ error: { code: 'FORBIDDEN', message: refusal } }));
        });
        return;
      }
      if (open.size >= config.maxConnections) {
        res.cork(() => {
          res
            .writeStatus('503 Service Unavailable')
            .writeHeader('content-type', 'application/json')
            .end(
              JSON.stringify({
                error: {
                  code: WsError.TOO_MANY_CONNECTIONS.code,
                  message: `at most ${config.maxConnections} WebSocket connections`,
                },
              }),
            );
        });
        return;
      }
      const key = req.getHeader('sec-websocket-key');
      const protocol = req.getHeader('sec-websocket-protocol');
      const extensions = req.getHeader('sec-websocket-extensions');
      const clientHost = Buffer.from(res.getRemoteAddressAsText()).toString();
      const authorization = req.getHeader('authorization');
      const upgrade = (principal: Principal | null) =>
        res.upgrade<UserData>(
          { session: null, markClosed: null, principal, clientHost },
          key,
          protocol,
          extensions,
          context,
        );
      if (authenticator === undefined) {
        upgrade(ANONYMOUS_PRINCIPAL);
        return;
      }
      if (authorization === '') {
        // Without credentials: anonymous when allowed, else the first message must carry a token.
        upgrade(authenticator.anonymousAllowed ? ANONYMOUS_PRINCIPAL : null);
        return;
      }
      let aborted = false;
      res.onAborted(() => {
        aborted = true;
      });
      authenticator.authenticate(authorization).then(
        (outcome) => {
          if (aborted) return;
          res.cork(() => {
            if ('principal' in outcome) {
              upgrade(outcome.principal);
              return;
            }
            res
              .writeStatus('401 Unauthorized')
              .writeHeader('content-type', 'application/json')
              .end(JSON.stringify({ error: { code: WsError.UNAUTHORIZED.code, message: outcome.refusal } }));
          });
        },
        () => {
          if (aborted) return;
          res.cork(() => {
            res
              .writeStatus('500 Internal Server Error')
              .writeHeader('content-type', 'application/json')
              .end(JSON.stringify({ error: { code: 'INTERNAL', message: 'authentication failed' } }));
          });
        },
      );
    },
    open: (ws) => {
      open.add(ws);
      let closed = false;
      const checkBackpressure = (): void => {
        if (closed) return;
        const buffered = ws.getBufferedAmount();
        if (buffered > limits.sendBufferCloseBytes)
          end(WsCloseCode.POLICY_VIOLATION, `SLOW_CONSUMER: ${buffered} bytes unsent`);
      };
      // Answers and pushes leave in one corked write per connection per turn (ws-outbox.ts).
      const outbox = new WsOutbox(ws, checkBackpressure);
      const end = (code: number, reason: string): void => {
        if (closed) return;
        outbox.flush(); // what was answered before the close goes out before it
        if (closed) return;
        closed = true;
        outbox.discard();
        ws.end(code, reason);
      };
      const socket: WsSocket = {
        send(message, isBinary) {
          if (!closed) outbox.send(message, isBinary);
        },
        sendInTwo(head, body) {
          if (!closed) outbox.sendInTwo(head, body);
        },
        bufferedAmount: () => (closed ? 0 : ws.getBufferedAmount() + outbox.queuedBytes),
        end,
      };
      const data = ws.getUserData();
      data.session = new WsSession(socket, deps, limits, data.principal, authenticator, data.clientHost);
      data.markClosed = () => {
        closed = true;
        outbox.discard();
      };
    },
    message: (ws, message, isBinary) => {
      const session = ws.getUserData().session;
      if (session === null) return;
      if (message.byteLength > config.maxFrameBytes)
        session.refuseOversize(message, isBinary, config.maxFrameBytes);
      else session.onMessage(message, isBinary);
    },
    drain: (ws) => ws.getUserData().session?.onDrain(),
    close: (ws) => {
      open.delete(ws);
      const data = ws.getUserData();
      data.markClosed?.();
      data.session?.onClose();
      data.session = null;
    },
  };
  // One sweep closes idle connections, rather than a timer per connection reset on every message.
  const sweepMs = Math.max(250, Math.min(5000, Math.floor(config.idleTimeoutMs / 4)));
  const sweeper = setInterval(() => {
    const nowMs = Date.now();
    for (const ws of open) {
      if (ws.getUserData().session?.isIdle(nowMs, config.idleTimeoutMs)) {
        ws.getUserData().markClosed?.();
        ws.end(WsCloseCode.GOING_AWAY, `IDLE_TIMEOUT: no request for ${config.idleTimeoutMs} ms`);
      }
    }
  }, sweepMs);
  sweeper.unref();
  return {
    mount(app) {
      app.ws<UserData>('/ws', behavior);
    },
    close() {
      clearInterval(sweeper);
      for (const ws of [...open]) ws.end(WsCloseCode.GOING_AWAY, 'server stopping');
    },
    connectionCount: () => open.size,
    bufferedBytesMax() {
      let max = 0;
      for (const ws of open) max = Math.max(max, ws.getBufferedAmount());
      return max;
    },
  };
}
