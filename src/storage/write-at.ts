import { storageIo } from './storage-io.js';

/**
 * Positional writes that finish what they start: the kernel may write fewer
 * bytes than asked (a signal, a full disk), so both loop until every byte is
 * written or a call throws.
 */

/** Writes all of `bytes` at `position`. */
export function writeFullyAt(fd: number, bytes: Uint8Array, position: number): void {
  const io = storageIo();
  let written = 0;
  while (written < bytes.length) {
    written += io.write(fd, bytes, written, bytes.length - written, position + written);
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
  const written = storageIo().writev(fd, chunks, position);
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

/** Creates or replaces the file at `path` with `bytes` and syncs it (index files, the clean marker). */
export function writeFileSynced(path: string, bytes: Uint8Array): void {
  const io = storageIo();
  const fd = io.open(path, 'w');
  try {
    writeFullyAt(fd, bytes, 0);
    io.fsync(fd);
  } finally {
    io.close(fd);
  }
}
