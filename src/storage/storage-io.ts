import {
  close,
  closeSync,
  fdatasync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  writeSync,
  writevSync,
} from 'node:fs';

/**
 * The one seam every partition-log file operation goes through (DESIGN.md §3,
 * "One I/O seam"): segments, indexes, the clean-shutdown marker, recovery and
 * group commit call `storageIo()` and nothing in `node:fs` directly. Tests
 * replace it with a fault layer (faulty-storage-io.ts: EIO, ENOSPC, torn
 * writes, chosen by PYRALOG_STORAGE_FAULTS inside a real shard worker) or a
 * simulated disk that models power loss (test/support/simulated-disk.ts).
 *
 * Every call but `fdatasync` is synchronous, as the log's callers are: the
 * shard thread owns its files and writes with positional system calls, and
 * only the sync (which may take milliseconds) runs on libuv's pool so the
 * shard keeps serving other partitions meanwhile.
 *
 * One instance per thread (module state): a shard worker uses the one its
 * entry installs for its whole life.
 */
export type OpenMode = 'r' | 'r+' | 'w' | 'w+';

/** A file's device and inode numbers, as fstat gives them. */
export interface FileIdentity {
  device: number;
  inode: number;
}

export interface StorageIo {
  /** Opens a file: 'r' read, 'r+' read/write existing, 'w'/'w+' create or truncate. */
  open(path: string, mode: OpenMode): number;
  close(fd: number): void;
  /**
   * Closes a descriptor on libuv's pool instead of this thread, for a file already replaced or removed:
   * its last close frees the file's blocks, which takes milliseconds for a segment. Optional: without
   * it, `close` runs here.
   */
  closeInBackground?(fd: number): void;
  /** Positional write of bytes[offset, offset+length); returns the bytes written (may be fewer). */
  write(fd: number, bytes: Uint8Array, offset: number, length: number, position: number): number;
  /** Positional gather write; returns the bytes written (may be fewer than the sum). */
  writev(fd: number, chunks: readonly Uint8Array[], position: number): number;
  /** Positional read into bytes[offset, offset+length); returns the bytes read (0 at the end). */
  read(fd: number, bytes: Uint8Array, offset: number, length: number, position: number): number;
  /** The file's size in bytes. */
  sizeOf(fd: number): number;
  /**
   * Which file `fd` is (device and inode), so a reader in another process can
   * check that the path it opens is still that file. Only the real file
   * system has it: a fault layer or a simulated disk leaves it out, and
   * readers then go through the shard.
   */
  fileIdentity?(fd: number): FileIdentity;
  truncate(fd: number, sizeBytes: number): void;
  /** Synchronous full sync (small files written once: indexes, marker, a truncation). */
  fsync(fd: number): void;
  /** Asynchronous fdatasync on libuv's pool; `done` runs on the owning thread. */
  fdatasync(fd: number, done: (error: Error | null) => void): void;
  /** The whole file; throws (ENOENT) when it is missing. */
  readFile(path: string): Uint8Array;
  /** Removes a file; no error when it is already gone. */
  removeFile(path: string): void;
  /** Renames a file, atomically replacing `to` when it exists (durable once the directory is synced). */
  rename(from: string, to: string): void;
  /** Removes a directory and everything under it; no error when it is already gone. */
  removeDirectory(path: string): void;
  /** Creates a directory and its parents; no error when it exists. */
  makeDirectory(path: string): void;
  listDirectory(path: string): string[];
  /** Makes a directory's entries (created, removed files) durable. */
  syncDirectory(path: string): void;
}

/** The real file system. */
export const nodeStorageIo: StorageIo = {
  open: (path, mode) => openSync(path, mode),
  close: (fd) => closeSync(fd),
  closeInBackground: (fd) =>
    close(fd, () => {
      // Nothing to report: the file's data was synced before it was replaced or removed.
    }),
  write: (fd, bytes, offset, length, position) => writeSync(fd, bytes, offset, length, position),
  writev: (fd, chunks, position) => writevSync(fd, chunks as Uint8Array[], position),
  read: (fd, bytes, offset, length, position) => readSync(fd, bytes, offset, length, position),
  sizeOf: (fd) => fstatSync(fd).size,
  fileIdentity: (fd) => {
    const stat = fstatSync(fd);
    return { device: stat.dev, inode: stat.ino };
  },
  truncate: (fd, sizeBytes) => ftruncateSync(fd, sizeBytes),
  fsync: (fd) => fsyncSync(fd),
  fdatasync: (fd, done) => fdatasync(fd, done),
  readFile: (path) => readFileSync(path),
  removeFile: (path) => rmSync(path, { force: true }),
  rename: (from, to) => renameSync(from, to),
  removeDirectory: (path) => rmSync(path, { recursive: true, force: true }),
  makeDirectory: (path) => {
    mkdirSync(path, { recursive: true });
  },
  listDirectory: (path) => readdirSync(path),
  syncDirectory: (path) => {
    const fd = openSync(path, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  },
};

let current: StorageIo = nodeStorageIo;

/** The storage I/O in use on this thread. */
export function storageIo(): StorageIo {
  return current;
}

/** Installs `io` for this thread and returns a function that puts the previous one back. */
export function useStorageIo(io: StorageIo): () => void {
  const previous = current;
  current = io;
  return () => {
    current = previous;
  };
}
