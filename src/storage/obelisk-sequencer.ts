import { dirname } from 'node:path';
import { assert, errorMessage, PyralogError } from '../common/errors.js';
import { KafkaErrorCode } from '../common/kafka-error-code.js';
import { fsyncDirectory } from './segment-files.js';
import { storageIo } from './storage-io.js';

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
 * All its file I/O goes through the storage seam (storage-io.ts), so the
 * fault layer covers it: a failed grow or sync throws KAFKA_STORAGE_ERROR and
 * hands out nothing from the block it could not make durable; a later call
 * grows again from where the durable length is known to be at least.
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
    const io = storageIo();
    let fd: number;
    try {
      fd = io.open(path, 'r+');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      fd = io.open(path, 'w+');
      // A new file's directory entry must be durable too, or a power loss could lose the file and its values.
      fsyncDirectory(dirname(path));
    }
    const length = io.sizeOf(fd);
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
      try {
        storageIo().truncate(this.fd, reserveTo);
        storageIo().fsync(this.fd);
      } catch (error) {
        // Nothing of the new block is handed out: after a crash the file may be shorter than reserveTo.
        throw new PyralogError(
          KafkaErrorCode.KAFKA_STORAGE_ERROR,
          `cannot reserve sequencer values: ${errorMessage(error)}`,
        );
      }
      this.reservedUntil = reserveTo;
    }
    const first = this.current + 1;
    this.current += count;
    return first;
  }

  close(): void {
    storageIo().close(this.fd);
  }
}
