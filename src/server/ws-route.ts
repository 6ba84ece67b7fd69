import type { TemplatedApp, WebSocket } from '@trufflesuite/uws-js-unofficial';
import type { FrontDoorDeps } from './front-door-deps.js';
import { SEND_BUFFER_HIGH_BYTES, WsSession } from './ws-session.js';

/**
 * The WebSocket endpoint `/ws` on the uWS app: binary frames
 * (src/protocol/ws/binary-frame.ts) and JSON text messages
 * (src/protocol/ws/json-request.ts) on the same connection.
 *
 * Limits: a message over maxFrameBytes closes the connection with 1009 and
 * a reason (uWS itself drops one over twice that); an idle connection is closed after idleTimeoutMs (uWS
 * pings healthy ones); past maxConnections an upgrade is refused with 503;
 * a client whose unsent data reaches 64 MiB (it stopped reading while its
 * requests were answered) is closed rather than buffered without limit.
 */
export interface WebSocketRoute {
  close(): void;
  connectionCount(): number;
}

interface UserData {
  session: WsSession | null;
  /** Marks the socket closed for the session's sends (uWS must not be touched after close). */
  close?: () => void;
}

const BACKPRESSURE_CLOSE_BYTES = 64 * 1024 * 1024;

export function attachWebSocketRoute(app: TemplatedApp, deps: FrontDoorDeps): WebSocketRoute {
  const open = new Set<WebSocket<UserData>>();
  app.ws<UserData>('/ws', {
    // uWS drops a connection past maxPayloadLength without a close frame, so its cap sits at twice
    // the limit and the session closes cleanly (1009) for messages between the two.
    maxPayloadLength: deps.config.maxFrameBytes * 2,
    idleTimeout: Math.min(960, Math.max(8, Math.round(deps.config.idleTimeoutMs / 1000))),
    maxBackpressure: Math.max(BACKPRESSURE_CLOSE_BYTES, SEND_BUFFER_HIGH_BYTES * 4),
    closeOnBackpressureLimit: 1,
    sendPingsAutomatically: true,
    upgrade: (res, req, context) => {
      if (open.size >= deps.config.maxConnections) {
        res.cork(() => {
          res
            .writeStatus('503 Service Unavailable')
            .writeHeader('content-type', 'application/json')
            .end(
              JSON.stringify({
                error: {
                  code: 'TOO_MANY_CONNECTIONS',
                  message: `at most ${deps.config.maxConnections} connections`,
                },
              }),
            );
        });
        return;
      }
      res.upgrade<UserData>(
        { session: null },
        req.getHeader('sec-websocket-key'),
        req.getHeader('sec-websocket-protocol'),
        req.getHeader('sec-websocket-extensions'),
        context,
      );
    },
    open: (ws) => {
      open.add(ws);
      let closed = false;
      ws.getUserData().session = new WsSession(
        {
          send: (message, isBinary) => {
            if (!closed) ws.send(message, isBinary);
          },
          bufferedAmount: () => (closed ? 0 : ws.getBufferedAmount()),
          end: (code, reason) => {
            if (!closed) ws.end(code, reason);
          },
        },
        deps,
      );
      ws.getUserData().close = () => {
        closed = true;
      };
    },
    message: (ws, message, isBinary) => {
      if (message.byteLength > deps.config.maxFrameBytes) {
        ws.end(
          1009,
          `message of ${message.byteLength} bytes exceeds the limit of ${deps.config.maxFrameBytes}`,
        );
        return;
      }
      ws.getUserData().session?.onMessage(message, isBinary);
    },
    drain: (ws) => ws.getUserData().session?.onDrain(),
    close: (ws) => {
      open.delete(ws);
      const data = ws.getUserData();
      data.close?.();
      data.session?.onClose();
      data.session = null;
    },
  });
  return {
    close() {
      for (const ws of [...open]) ws.end(1001, 'server stopping');
    },
    connectionCount: () => open.size,
  };
}
