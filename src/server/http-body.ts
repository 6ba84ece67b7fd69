import { FrontDoorError, FrontDoorProblem } from '../protocol/front-door-errors.js';
import type { HttpExchange } from './http-exchange.js';

/**
 * Collects a request body from uWS's `onData` chunks, with three bounds:
 * - a declared content-length over `maxBytes` is refused before a byte is read;
 * - a body that grows past `maxBytes` (chunked, or lying about its length) is
 *   refused as soon as it does, without buffering the rest (413);
 * - every byte held is reserved from the acceptor's shared body budget, and a
 *   body that does not fit is refused with 503 so memory stays bounded however
 *   many clients upload at once.
 * If the client goes away mid-body the promise rejects, so no handler waits
 * for a body that will never come. Must be called synchronously in the uWS
 * handler (uWS hands the first chunk over in the same tick as the headers).
 */
const INITIAL_CAPACITY_BYTES = 16 * 1024;

function tooLarge(message: string): FrontDoorProblem {
  return new FrontDoorProblem(FrontDoorError.TOO_LARGE, message);
}

function overBudget(): FrontDoorProblem {
  return new FrontDoorProblem(
    FrontDoorError.UNAVAILABLE,
    'the server is holding too many request bodies at once; retry shortly',
  );
}

export function readBody(
  exchange: HttpExchange,
  res: { onData(handler: (chunk: ArrayBuffer, isLast: boolean) => void): unknown },
  contentLength: string,
  maxBytes: number,
): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const declared = /^\d{1,15}$/.test(contentLength) ? Number(contentLength) : -1;
    if (declared > maxBytes) {
      exchange.bodyPending = true;
      reject(tooLarge(`body of ${declared} bytes exceeds the limit of ${maxBytes}`));
      return;
    }
    // A declared length is reserved whole up front; a chunked body reserves as its buffer grows.
    let capacity = declared >= 0 ? declared : Math.min(INITIAL_CAPACITY_BYTES, maxBytes);
    if (!exchange.takeBodyBytes(capacity)) {
      exchange.bodyPending = true;
      reject(overBudget());
      return;
    }
    let body = new Uint8Array(capacity);
    let length = 0;
    let settled = false;
    const fail = (problem: FrontDoorProblem): void => {
      settled = true;
      reject(problem);
    };
    exchange.bodyPending = true;
    exchange.onAbort(() => {
      if (!settled) fail(new FrontDoorProblem(FrontDoorError.BAD_REQUEST, 'the client went away'));
    });
    res.onData((chunk, isLast) => {
      if (settled || !exchange.open) return;
      const size = chunk.byteLength;
      if (length + size > maxBytes) {
        fail(tooLarge(`body exceeds the limit of ${maxBytes} bytes`));
        return;
      }
      if (length + size > capacity) {
        const grown = Math.min(maxBytes, Math.max(capacity * 2, length + size));
        if (!exchange.takeBodyBytes(grown - capacity)) {
          fail(overBudget());
          return;
        }
        const next = new Uint8Array(grown);
        next.set(body.subarray(0, length));
        body = next;
        capacity = grown;
      }
      // uWS reuses the chunk's memory after this callback returns: copy now.
      body.set(new Uint8Array(chunk), length);
      length += size;
      if (isLast) {
        settled = true;
        exchange.bodyPending = false;
        resolve(body.subarray(0, length));
      }
    });
  });
}
