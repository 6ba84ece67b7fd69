import { FrontDoorError } from '../front-door-errors.js';

/**
 * The error codes a WebSocket client can see, as stable strings: those the
 * HTTP API shares (engine and coordinator errors arrive as Kafka codes and are
 * mapped to them in one place, front-door-errors.ts `fromKafkaCode`), plus
 * the WebSocket's own limits. Each keeps an HTTP status for symmetry with
 * the HTTP API; the upgrade refusal is the only one sent as a status.
 */
export const WsError = {
  ...FrontDoorError,
  /** A message over --max-frame-bytes: sent just before the connection closes with 1009. */
  FRAME_TOO_LARGE: { code: 'FRAME_TOO_LARGE', status: 413 },
  /** More subscriptions on one connection than the limit (64 by default). */
  TOO_MANY_SUBSCRIPTIONS: { code: 'TOO_MANY_SUBSCRIPTIONS', status: 429 },
  /** The upgrade of a connection past --max-connections (HTTP 503, JSON body). */
  TOO_MANY_CONNECTIONS: { code: 'TOO_MANY_CONNECTIONS', status: 503 },
  /** No or bad credentials (upgrade refused 401, or the first message's token refused, then closed). */
  UNAUTHORIZED: { code: 'UNAUTHORIZED', status: 401 },
  /** The ACLs do not allow this operation to the connection's principal. */
  FORBIDDEN: { code: 'FORBIDDEN', status: 403 },
} as const;

export interface WsErrorKind {
  readonly code: string;
  readonly status: number;
}

/**
 * Close codes the broker ends a connection with; the close reason starts
 * with the matching error code name (e.g. "FRAME_TOO_LARGE: …").
 */
export const WsCloseCode = {
  /** The client closed, or the server is stopping (1001 below). */
  NORMAL: 1000,
  /** The server is stopping, or the connection sat idle past --idle-timeout-ms. */
  GOING_AWAY: 1001,
  /** The client stopped reading while its unsent data passed the limit (64 MiB by default). */
  POLICY_VIOLATION: 1008,
  /** A message over --max-frame-bytes. */
  MESSAGE_TOO_BIG: 1009,
} as const;

/** A WebSocket request's failure, ready to send: the error kind plus a message for people. */
export class WsProblem extends Error {
  constructor(
    readonly kind: WsErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'WsProblem';
  }
}
