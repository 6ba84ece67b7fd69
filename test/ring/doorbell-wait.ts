/** Record type that ends the echo thread (ring-echo-thread.ts). */
export const STOP_TYPE = 0xffff;

/**
 * Runs one doorbell wait; true when it lasted its whole timeout. A wait that
 * ran out its timeout while a record was published is a lost wake-up: the
 * producer published without seeing "consumer sleeping", or saw it and its
 * notify did not reach the waiter. With timeouts of seconds, a peer that is
 * merely slow does not look like one.
 */
export function doorbellWait(wait: () => unknown, timeoutMs: number): boolean {
  const startMs = performance.now();
  wait();
  return performance.now() - startMs >= timeoutMs;
}
