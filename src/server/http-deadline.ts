import { FrontDoorError, FrontDoorProblem } from '../protocol/front-door-errors.js';

/**
 * Bounds a wait of the HTTP API on the engine or the offload pool: past
 * `timeoutMs` the request is answered 503 (retry) instead of being held
 * open for as long as a stuck shard or pool takes. The work itself is not
 * cancelled; its late result is dropped.
 */
export function withDeadline<T>(work: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(new FrontDoorProblem(FrontDoorError.UNAVAILABLE, `${what} timed out after ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}
