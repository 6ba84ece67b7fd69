import type { HttpResponse } from '@trufflesuite/uws-js-unofficial';
import { FrontDoorError, type FrontDoorErrorKind, FrontDoorProblem } from '../protocol/front-door-errors.js';

/**
 * Request and response plumbing for uWebSockets.js handlers. A uWS response
 * may be aborted by the client at any time: every write checks, and every
 * handler registers `onAborted` before its first await (uWS requires it).
 */
export interface ResponseState {
  aborted: boolean;
}

export function watchAborted(res: HttpResponse): ResponseState {
  const state: ResponseState = { aborted: false };
  res.onAborted(() => {
    state.aborted = true;
  });
  return state;
}

const statusText: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  400: 'Bad Request',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Payload Too Large',
  416: 'Range Not Satisfiable',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function send(
  res: HttpResponse,
  state: ResponseState,
  status: number,
  contentType: string,
  body: string | Uint8Array,
): void {
  if (state.aborted) return;
  res.cork(() => {
    res.writeStatus(`${status} ${statusText[status] ?? ''}`).writeHeader('content-type', contentType);
    res.end(body);
  });
  state.aborted = true;
}

export function sendJson(res: HttpResponse, state: ResponseState, status: number, body: unknown): void {
  send(res, state, status, 'application/json', JSON.stringify(body));
}

export function sendError(
  res: HttpResponse,
  state: ResponseState,
  kind: FrontDoorErrorKind,
  message: string,
): void {
  sendJson(res, state, kind.status, { error: { code: kind.code, message } });
}

/** Sends the error a handler threw: its own kind when it is a FrontDoorProblem, else INTERNAL. */
export function sendFailure(res: HttpResponse, state: ResponseState, error: unknown): void {
  if (error instanceof FrontDoorProblem) sendError(res, state, error.kind, error.message);
  else sendError(res, state, FrontDoorError.INTERNAL, error instanceof Error ? error.message : String(error));
}

/**
 * Collects a request body up to `maxBytes`. Past the limit it rejects with
 * TOO_LARGE at once, without buffering the rest (the handler answers 413 and
 * uWS closes the connection). A declared content-length over the limit is
 * refused before any byte is read.
 */
export function readBody(
  res: HttpResponse,
  state: ResponseState,
  contentLength: string,
  maxBytes: number,
): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const declared = contentLength === '' ? -1 : Number(contentLength);
    if (declared > maxBytes) {
      reject(
        new FrontDoorProblem(
          FrontDoorError.TOO_LARGE,
          `body of ${declared} bytes exceeds the limit of ${maxBytes}`,
        ),
      );
      return;
    }
    let body = new Uint8Array(declared > 0 ? declared : 1024);
    let length = 0;
    let failed = false;
    res.onData((chunk, isLast) => {
      if (failed || state.aborted) return;
      const bytes = new Uint8Array(chunk);
      if (length + bytes.length > maxBytes) {
        failed = true;
        reject(new FrontDoorProblem(FrontDoorError.TOO_LARGE, `body exceeds the limit of ${maxBytes} bytes`));
        return;
      }
      if (length + bytes.length > body.length) {
        const grown = new Uint8Array(Math.min(maxBytes, Math.max(body.length * 2, length + bytes.length)));
        grown.set(body.subarray(0, length));
        body = grown;
      }
      body.set(bytes, length); // uWS reuses the chunk's memory after this callback: copy now
      length += bytes.length;
      if (isLast) resolve(body.subarray(0, length));
    });
  });
}

export function parseJson(body: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(body));
  } catch (error) {
    throw new FrontDoorProblem(
      FrontDoorError.BAD_REQUEST,
      `body is not valid JSON: ${(error as Error).message}`,
    );
  }
}

/** A whole number from a query parameter, within bounds; `fallback` when absent. */
export function queryInteger(
  raw: string | undefined,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new FrontDoorProblem(
      FrontDoorError.BAD_REQUEST,
      `${name} must be a whole number from ${min} to ${max}`,
    );
  }
  return value;
}
