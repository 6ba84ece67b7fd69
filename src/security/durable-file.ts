import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Replaces a small file so that after a crash or power loss it holds either the old contents or
 * the new ones, never a mix: write a temporary file beside it, fsync it, rename it over the old
 * one, then fsync the directory so the rename itself is durable.
 */
export function replaceFileDurably(path: string, contents: Uint8Array): void {
  const temporary = `${path}.tmp`;
  const fd = openSync(temporary, 'w', 0o600);
  try {
    let written = 0;
    while (written < contents.length) written += writeSync(fd, contents, written);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);
  const dirFd = openSync(dirname(path), 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}
