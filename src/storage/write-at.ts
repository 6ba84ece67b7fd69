import { writeSync, writevSync } from 'node:fs';

/**
 * Positional writes that finish what they start: the kernel may write fewer
 * bytes than asked (a signal, a full disk), so both loop until every byte is
 * written or a call throws.
 */

/** Writes all of `bytes` at `position`. */
export function writeFullyAt(fd: number, bytes: Uint8Array, position: number): void {
  let written = 0;
  while (written < bytes.length) {
    written += writeSync(fd, bytes, written, bytes.length - written, position + written);
  }
}

/**
 * Writes `chunks` back to back from `position` in one system call
 * (pwritev) when the kernel takes them all, which costs far less per byte
 * than a call per chunk; after a short write, finishes chunk by chunk.
 * `totalBytes` is the sum of the chunks' lengths.
 */
export function writeAllAt(
  fd: number,
  chunks: readonly Uint8Array[],
  totalBytes: number,
  position: number,
): void {
  if (chunks.length === 1) {
    writeFullyAt(fd, chunks[0]!, position);
    return;
  }
  const written = writevSync(fd, chunks as Uint8Array[], position);
  if (written === totalBytes) return;
  let chunkStart = 0;
  for (const chunk of chunks) {
    const chunkEnd = chunkStart + chunk.length;
    if (written < chunkEnd) {
      const from = Math.max(0, written - chunkStart);
      writeFullyAt(fd, chunk.subarray(from), position + chunkStart + from);
    }
    chunkStart = chunkEnd;
  }
}
