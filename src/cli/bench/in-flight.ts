/**
 * Keeps `sending` in `inFlight` until it settles, whichever way. The caller
 * awaits what is left in the set at the end. `sending` handles its own
 * failure (counts or keeps it), so this never leaves a rejection unhandled.
 */
export function trackInFlight(inFlight: Set<Promise<void>>, sending: Promise<void>): void {
  inFlight.add(sending);
  const remove = (): void => {
    inFlight.delete(sending);
  };
  sending.then(remove, remove);
}
