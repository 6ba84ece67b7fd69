import { createRequire } from 'node:module';

/**
 * The doorbell addon (src/native/doorbell.c): another thread rings it and a
 * function runs on the owning thread's event loop, at the cost of one
 * uv_async_send, where Atomics.waitAsync's wake-up costs V8's futex-emulation
 * bookkeeping, a posted task and a promise on top (see the addon's comment).
 *
 * `nativeDoorbell` is undefined where the addon did not build or cannot load,
 * and when the environment sets PYRALOG_DOORBELL=atomics (to compare the two in
 * one build): callers then keep Atomics.waitAsync.
 */
export interface NativeDoorbell {
  /** On the owning thread: a doorbell whose rings run `onRing` on this thread's loop; returns its id. */
  open(onRing: () => void): number;
  /** From any thread: runs the owner's `onRing` soon; rings before it runs coalesce; a closed id does nothing. */
  ring(id: number): void;
  /** On the owning thread: no ring reaches `onRing` after this. */
  close(id: number): void;
}

/** The addon's build output, from src/ring (tsx) and from dist/src/ring (compiled). */
const addonPaths = [
  '../native/build/Release/doorbell.node',
  '../../../src/native/build/Release/doorbell.node',
];

function loadNative(): NativeDoorbell | undefined {
  if (process.env.PYRALOG_DOORBELL === 'atomics') return undefined;
  const require = createRequire(import.meta.url);
  for (const path of addonPaths) {
    try {
      return require(path) as NativeDoorbell;
    } catch {
      // Not built at this path (or not loadable here): try the next, then fall back.
    }
  }
  return undefined;
}

export const nativeDoorbell: NativeDoorbell | undefined = loadNative();
