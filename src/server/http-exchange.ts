import type { HttpResponse } from '@trufflesuite/uws-js-unofficial';
import { errorMessage, PyralogError } from '../common/errors.js';
import {
  FrontDoorError,
  type FrontDoorErrorKind,
  FrontDoorProblem,
  problemFromKafkaCode,
} from '../protocol/front-door-errors.js';
import type { BodyBudget } from './http-body-budget.js';
import type { HttpMetrics } from './http-metrics.js';

/**
 * One HTTP request and its response on the uWS app. A uWS response may be
 * aborted by the client at any moment and must not be touched afterwards, so
 * every write goes through here: it checks, corks, answers once, counts the
 * status, and gives back the body bytes the request held. uWS requires
 * `onAborted` before the handler returns, so the constructor registers it.
 */
/** A front-door error kind (front-door-errors.ts), or one only HTTP has, such as FORBIDDEN. */
export interface HttpErrorKind {
  readonly code: string;
  readonly status: number;
}

/** A state-changing request from a web page of another origin (see http-route-table.ts). */
export const FORBIDDEN: HttpErrorKind = { code: 'FORBIDDEN', status: 403 };

const statusText: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Payload Too Large',
  416: 'Range Not Satisfiable',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

export class HttpExchange {
  /** The client went away; nothing may be written. */
  aborted = false;
  /** A response has been sent; nothing more may be written. */
  answered = false;
  /** True while a request body is still arriving: answering now must close the connection. */
  bodyPending = false;
  private heldBodyBytes = 0;
  private finished = false;
  private abortListener: (() => void) | null = null;

  constructor(
    private readonly res: HttpResponse,
    readonly route: string,
    private readonly budget: BodyBudget,
    private readonly metrics: HttpMetrics,
  ) {
    metrics.inFlight++;
    res.onAborted(() => {
      this.aborted = true;
      this.abortListener?.();
      this.finish();
    });
  }

  /** Called once if the client goes away (after which `aborted` is true). */
  onAbort(listener: () => void): void {
    this.abortListener = listener;
  }

  get open(): boolean {
    return !this.aborted && !this.answered;
  }

  /** Reserves body bytes from the shared budget; false when it is spent or this exchange is over. */
  takeBodyBytes(sizeBytes: number): boolean {
    if (this.finished || !this.budget.tryTake(sizeBytes)) return false;
    this.heldBodyBytes += sizeBytes;
    return true;
  }

  /** Ends the exchange's claim on shared resources; safe to call more than once. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.budget.give(this.heldBodyBytes);
    this.heldBodyBytes = 0;
    this.metrics.inFlight--;
  }

  send(
    status: number,
    contentType: string,
    body: string | Uint8Array,
    headers: readonly [string, string][] = [],
  ): void {
    if (!this.open) return;
    this.answered = true;
    this.metrics.countResponse(this.route, status);
    // Answering before the whole body has arrived (413, unknown topic) closes
    // the connection, so the client stops uploading and no stray bytes are
    // read as the next request.
    const closeConnection = this.bodyPending;
    this.res.cork(() => {
      this.res.writeStatus(`${status} ${statusText[status] ?? ''}`).writeHeader('content-type', contentType);
      for (const [name, value] of headers) this.res.writeHeader(name, value);
      this.res.end(body, closeConnection);
    });
  }

  sendJson(status: number, body: unknown, headers: readonly [string, string][] = []): void {
    this.send(status, 'application/json', JSON.stringify(body), headers);
  }

  sendError(
    kind: HttpErrorKind,
    message: string,
    headers: readonly [string, string][] = [],
    extra: Record<string, unknown> = {},
  ): void {
    this.send(
      kind.status,
      'application/json',
      JSON.stringify({ error: { code: kind.code, message }, ...extra }),
      headers,
    );
  }

  /** Answers whatever a handler threw: its own kind for known errors, else 500 INTERNAL. */
  fail(error: unknown): void {
    const problem = asProblem(error);
    this.sendError(problem.kind, problem.message, [], problem.extra);
  }
}

/** A FrontDoorProblem that also carries fields to add beside `error` in the JSON body. */
export class DetailedProblem extends FrontDoorProblem {
  constructor(
    kind: FrontDoorErrorKind,
    message: string,
    readonly extra: Record<string, unknown>,
  ) {
    super(kind, message);
  }
}

function asProblem(error: unknown): {
  kind: HttpErrorKind;
  message: string;
  extra: Record<string, unknown>;
} {
  if (error instanceof DetailedProblem)
    return { kind: error.kind, message: error.message, extra: error.extra };
  if (error instanceof FrontDoorProblem) return { kind: error.kind, message: error.message, extra: {} };
  if (error instanceof PyralogError) {
    return { kind: problemFromKafkaCode(error.kafkaCode, '').kind, message: error.message, extra: {} };
  }
  const message = errorMessage(error);
  return { kind: FrontDoorError.INTERNAL, message, extra: {} };
}
