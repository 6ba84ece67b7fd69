import { createRequire } from 'node:module';
import { crc32c as nodeRsCrc32c } from '@node-rs/crc32';

/**
 * CRC32C (Castagnoli), the checksum RecordBatch v2 uses.
 *
 * The shard checks it on every byte it appends, so there are two implementations:
 * - `native-pclmul`: our addon (src/native/crc32c.c), folding with carry-less
 *   multiplication, about three times faster than one `crc32` stream. `npm install`
 *   builds it with node-gyp; it reads the caller's view in place, with no wrapper per call.
 * - `@node-rs/crc32`: the SSE4.2 `crc32` instruction in one stream. Used where the
 *   addon did not build or the CPU lacks PCLMULQDQ, and when the environment sets
 *   PYRALOG_CRC32C=@node-rs/crc32 (to compare the two in one build).
 */
export type Crc32cImplementation = 'native-pclmul' | '@node-rs/crc32';

interface NativeCrc32c {
  readonly accelerated: boolean;
  crc32c(view: Uint8Array, start: number, end: number): number;
}

/** The addon's build output, from src/record (tsx) and from dist/src/record (compiled). */
const addonPaths = ['../native/build/Release/crc32c.node', '../../../src/native/build/Release/crc32c.node'];

function loadNative(): NativeCrc32c | undefined {
  if (process.env.PYRALOG_CRC32C === '@node-rs/crc32') return undefined;
  const require = createRequire(import.meta.url);
  for (const path of addonPaths) {
    try {
      const addon = require(path) as NativeCrc32c;
      if (addon.accelerated) return addon;
    } catch {
      // Not built at this path (or not loadable here): try the next, then fall back.
    }
  }
  return undefined;
}

const native = loadNative();

/** Which implementation computes CRC32C in this thread. */
export const crc32cImplementation: Crc32cImplementation = native ? 'native-pclmul' : '@node-rs/crc32';

function nodeRsRange(bytes: Uint8Array, start: number, end: number): number {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('crc32c: view must be a Uint8Array');
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || start > end || end > bytes.length) {
    throw new RangeError('crc32c: need integers 0 <= start <= end <= view.length');
  }
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start);
  return nodeRsCrc32c(buffer) >>> 0;
}

const crcOfRange: (bytes: Uint8Array, start: number, end: number) => number = native
  ? native.crc32c
  : nodeRsRange;

/** CRC32C of `bytes[start, end)`. */
export function crc32c(bytes: Uint8Array, start = 0, end = bytes.length): number {
  return crcOfRange(bytes, start, end);
}

/** The fallback, always available: tests compare the two. */
export function crc32cNodeRs(bytes: Uint8Array, start = 0, end = bytes.length): number {
  return nodeRsRange(bytes, start, end);
}
