import { closeSync, existsSync, fdatasyncSync, fstatSync, ftruncateSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { assert } from '../common/errors.js';
import { fsyncDirectory } from './segment-files.js';

/**
 * The Obelisk sequencer: a persistent counter that never goes back, not even
 * across crashes. Its value is its file's length. Growing a file with
 * `ftruncate` and then `fdatasync` is a metadata change the kernel makes
 * durable in one step, and a file never shrinks by itself, so the length read
 * back after any crash is at least the last one synced.
 *
 * To be fast it reserves ranges: the file grows by a block (1024 values)
 * at a time, and values inside the block are handed out from memory. On open
 * the whole reserved length counts as used, so a crash skips the rest of a
 * block but never repeats a value. The file is sparse, so a large counter
 * costs no disk space.
 *
 * Owned by one thread (the acceptor, for topic and producer ids).
 */
export const SEQUENCER_BLOCK = 1024;
const VALUE_MAX = Number.MAX_SAFE_INTEGER;

export class ObeliskSequencer {
  private constructor(
    private readonly fd: number,
    private current: number,
    private reservedUntil: number,
  ) {}

  static open(path: string): ObeliskSequencer {
    const created = !existsSync(path);
    const fd = openSync(path, 'a+');
    // A new file's directory entry must be durable too, or a power loss could lose the file and its values.
    if (created) fsyncDirectory(dirname(path));
    const length = fstatSync(fd).size;
    return new ObeliskSequencer(fd, length, length);
  }

  /** The last value handed out (0 before the first). */
  get(): number {
    return this.current;
  }

  /** Hands out `count` fresh values and returns the first; the rest follow it. */
  next(count = 1): number {
    assert(Number.isInteger(count) && count >= 1, `sequencer count must be a positive integer, got ${count}`);
    assert(this.current + count <= VALUE_MAX, 'sequencer exhausted');
    if (this.current + count > this.reservedUntil) {
      const reserveTo = Math.min(VALUE_MAX, this.current + count + SEQUENCER_BLOCK);
      ftruncateSync(this.fd, reserveTo);
      fdatasyncSync(this.fd);
      this.reservedUntil = reserveTo;
    }
    const first = this.current + 1;
    this.current += count;
    return first;
  }

  close(): void {
    closeSync(this.fd);
  }
}
