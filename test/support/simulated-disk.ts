import { basename, dirname } from 'node:path';
import { type FaultCode, storageFault } from '../../src/storage/faulty-storage-io.js';
import type { OpenMode, StorageIo } from '../../src/storage/storage-io.js';

/**
 * An in-memory disk behind the storage I/O seam, for seeded simulations of
 * the partition log (after TigerBeetle's src/testing/storage.zig). Each file
 * keeps two images: what the page cache holds now (`current`) and what has
 * reached the platter (`durable`), advanced by a completed fdatasync or fsync
 * to what the file held when the sync was issued.
 *
 * - `crash()`: the process dies, the machine does not: the page cache
 *   survives, so every file keeps `current`; syncs in flight never answer.
 * - `powerLoss()`: each file keeps its durable image plus an arbitrary part
 *   of what was not synced (a prefix of the unsynced bytes, sometimes zeroed,
 *   as a file system that allocated blocks before writing them leaves it); a
 *   file whose directory entry was never synced may vanish.
 * - Faults, at the rates set: a write fails with EIO or ENOSPC after landing
 *   a random prefix (a torn write); an fdatasync fails with EIO, after which
 *   the kernel may have dropped the file's dirty pages (so `current` may fall
 *   back to `durable`, as on Linux after a failed writeback).
 *
 * Syncs complete only when the simulation says so (`completeSyncs`), or at
 * once with `autoCompleteSyncs`. Everything is deterministic for a given
 * random source. Directory removal and file removal are durable at once (a
 * simplification: the log never relies on a removal surviving power loss).
 */
interface SimFile {
  current: Uint8Array;
  currentBytes: number;
  durable: Uint8Array;
  /** Bumped by every change to `current`; `durableVersion` is the version `durable` holds. */
  version: number;
  durableVersion: number;
  /** The directory entry is durable (its directory was synced since the file was created). */
  linked: boolean;
}

interface PendingSync {
  file: SimFile;
  image: Uint8Array;
  version: number;
  done: (error: Error | null) => void;
}

export class SimulatedDisk implements StorageIo {
  private readonly files = new Map<string, SimFile>();
  private readonly directories = new Set<string>();
  private readonly fds = new Map<number, { path: string; file: SimFile }>();
  private nextFd = 3;
  private pendingSyncs: PendingSync[] = [];
  autoCompleteSyncs = false;
  /** Probability that a write fails (torn); that an fdatasync fails. */
  writeFaultRate = 0;
  syncFaultRate = 0;
  /** Faults injected since the last `takeFaults()`. */
  private faults = 0;

  constructor(private readonly random: () => number) {}

  takeFaults(): number {
    const faults = this.faults;
    this.faults = 0;
    return faults;
  }

  get pendingSyncCount(): number {
    return this.pendingSyncs.length;
  }

  /** Completes the first `count` syncs in flight (all by default), oldest first. */
  completeSyncs(count = this.pendingSyncs.length): void {
    // One at a time: a failing sync also fails the others of its file still pending.
    for (let i = 0; i < count; i++) {
      const sync = this.pendingSyncs.shift();
      if (sync === undefined) return;
      this.finishSync(sync);
    }
  }

  private finishSync(sync: PendingSync): void {
    if (this.syncFaultRate > 0 && this.random() < this.syncFaultRate) {
      this.faults++;
      // After a failed writeback the kernel may have thrown the dirty pages away. Every other sync of
      // the file in flight fails too (Linux reports a writeback error to each fsync that was waiting).
      if (this.random() < 0.5) setImage(sync.file, sync.file.durable);
      const error = storageFault(pickCode(this.random), 'fdatasync', 'simulated');
      const alsoFailing = this.pendingSyncs.filter((other) => other.file === sync.file);
      this.pendingSyncs = this.pendingSyncs.filter((other) => other.file !== sync.file);
      sync.done(error);
      for (const other of alsoFailing) other.done(error);
      return;
    }
    // A sync issued before a later one that already completed adds nothing.
    if (sync.version > sync.file.durableVersion) {
      sync.file.durable = sync.image;
      sync.file.durableVersion = sync.version;
    }
    sync.done(null);
  }

  /** Every file with its current and durable sizes (for a failing seed's trace). */
  describe(): string {
    const lines: string[] = [];
    for (const [path, file] of this.files) {
      lines.push(`${path} current=${file.currentBytes} durable=${file.durable.length} linked=${file.linked}`);
    }
    return lines.join('\n');
  }

  /** Paths of every file, sorted. */
  paths(): string[] {
    return [...this.files.keys()].sort();
  }

  /** Replaces a file's bytes, on disk and in the page cache (damage done while the broker is down). */
  damage(path: string, change: (bytes: Uint8Array) => Uint8Array): void {
    const file = this.files.get(path);
    if (file === undefined) return;
    const changed = change(file.current.slice(0, file.currentBytes));
    setImage(file, changed);
    file.durable = changed.slice();
    file.durableVersion = file.version;
  }

  crash(): void {
    this.pendingSyncs = [];
    this.fds.clear();
  }

  powerLoss(): void {
    this.crash();
    for (const [path, file] of this.files) {
      if (!file.linked && this.random() < 0.5) {
        this.files.delete(path);
        continue;
      }
      if (file.version === file.durableVersion) continue; // nothing unsynced
      const current = file.current.subarray(0, file.currentBytes);
      const durable = file.durable;
      let common = 0;
      const shorter = Math.min(current.length, durable.length);
      while (common < shorter && current[common] === durable[common]) common++;
      const longest = Math.max(current.length, durable.length);
      const kept = common + Math.floor(this.random() * (longest - common + 1));
      const image = new Uint8Array(kept);
      for (let i = 0; i < kept; i++) image[i] = i < current.length ? current[i]! : durable[i]!;
      if (kept > common && this.random() < 0.25)
        image.fill(0, common + Math.floor(this.random() * (kept - common)));
      file.durable = image;
      setImage(file, image);
      file.durableVersion = file.version;
    }
  }

  // ---- StorageIo ----------------------------------------------------------

  open(path: string, mode: OpenMode): number {
    let file = this.files.get(path);
    if (file === undefined) {
      if (mode === 'r' || mode === 'r+') throw enoent('open', path);
      if (!this.directories.has(dirname(path))) throw enoent('open', path);
      file = {
        current: new Uint8Array(256),
        currentBytes: 0,
        durable: new Uint8Array(0),
        version: 0,
        durableVersion: 0,
        linked: false,
      };
      this.files.set(path, file);
    } else if (mode === 'w' || mode === 'w+') {
      file.currentBytes = 0;
      file.version++;
    }
    const fd = this.nextFd++;
    this.fds.set(fd, { path, file });
    return fd;
  }

  close(fd: number): void {
    this.handle(fd);
    this.fds.delete(fd);
  }

  private handle(fd: number): { path: string; file: SimFile } {
    const handle = this.fds.get(fd);
    if (handle === undefined) {
      const error: NodeJS.ErrnoException = new Error(`EBADF: bad file descriptor ${fd}`);
      error.code = 'EBADF';
      throw error;
    }
    return handle;
  }

  write(fd: number, bytes: Uint8Array, offset: number, length: number, position: number): number {
    const { path, file } = this.handle(fd);
    if (this.writeFaultRate > 0 && this.random() < this.writeFaultRate) {
      this.faults++;
      const landed = Math.floor(this.random() * length);
      writeInto(file, bytes.subarray(offset, offset + landed), position);
      throw storageFault(pickCode(this.random), 'write', path);
    }
    writeInto(file, bytes.subarray(offset, offset + length), position);
    return length;
  }

  writev(fd: number, chunks: readonly Uint8Array[], position: number): number {
    let total = 0;
    for (const chunk of chunks) total += chunk.length;
    const joined = new Uint8Array(total);
    let at = 0;
    for (const chunk of chunks) {
      joined.set(chunk, at);
      at += chunk.length;
    }
    return this.write(fd, joined, 0, total, position);
  }

  read(fd: number, bytes: Uint8Array, offset: number, length: number, position: number): number {
    const { file } = this.handle(fd);
    const available = Math.max(0, Math.min(length, file.currentBytes - position));
    bytes.set(file.current.subarray(position, position + available), offset);
    return available;
  }

  sizeOf(fd: number): number {
    return this.handle(fd).file.currentBytes;
  }

  truncate(fd: number, sizeBytes: number): void {
    const { file } = this.handle(fd);
    if (sizeBytes > file.currentBytes)
      writeInto(file, new Uint8Array(sizeBytes - file.currentBytes), file.currentBytes);
    file.currentBytes = sizeBytes;
    file.version++;
  }

  fsync(fd: number): void {
    const { file } = this.handle(fd);
    file.durable = file.current.slice(0, file.currentBytes);
    file.durableVersion = file.version;
  }

  fdatasync(fd: number, done: (error: Error | null) => void): void {
    const { file } = this.handle(fd);
    const sync = { file, image: file.current.slice(0, file.currentBytes), version: file.version, done };
    if (this.autoCompleteSyncs) queueMicrotask(() => this.finishSync(sync));
    else this.pendingSyncs.push(sync);
  }

  readFile(path: string): Uint8Array {
    const file = this.files.get(path);
    if (file === undefined) throw enoent('open', path);
    return file.current.slice(0, file.currentBytes);
  }

  removeFile(path: string): void {
    this.files.delete(path);
  }

  rename(from: string, to: string): void {
    const file = this.files.get(from);
    if (file === undefined) throw enoent('rename', from);
    this.files.delete(from);
    this.files.set(to, file);
  }

  removeDirectory(path: string): void {
    for (const name of [...this.files.keys()]) if (name.startsWith(`${path}/`)) this.files.delete(name);
    this.directories.delete(path);
  }

  makeDirectory(path: string): void {
    this.directories.add(path);
  }

  listDirectory(path: string): string[] {
    if (!this.directories.has(path)) throw enoent('scandir', path);
    const names: string[] = [];
    for (const name of this.files.keys()) if (dirname(name) === path) names.push(basename(name));
    return names.sort();
  }

  syncDirectory(path: string): void {
    for (const [name, file] of this.files) if (dirname(name) === path) file.linked = true;
  }
}

function setImage(file: SimFile, image: Uint8Array): void {
  if (file.current.length < image.length) file.current = new Uint8Array(image.length + 1024);
  file.current.set(image);
  file.currentBytes = image.length;
  file.version++;
}

function writeInto(file: SimFile, bytes: Uint8Array, position: number): void {
  const end = position + bytes.length;
  if (end > file.current.length) {
    const grown = new Uint8Array(Math.max(end, file.current.length * 2));
    grown.set(file.current.subarray(0, file.currentBytes));
    file.current = grown;
  }
  // A write past the end leaves a hole of zeros, as a sparse file does.
  if (position > file.currentBytes) file.current.fill(0, file.currentBytes, position);
  file.current.set(bytes, position);
  file.currentBytes = Math.max(file.currentBytes, end);
  file.version++;
}

function pickCode(random: () => number): FaultCode {
  return random() < 0.5 ? 'EIO' : 'ENOSPC';
}

function enoent(syscall: string, path: string): NodeJS.ErrnoException {
  // Expected often (a missing marker or index file): no stack trace, which costs more than the rest.
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  const error: NodeJS.ErrnoException = new Error(`ENOENT: no such file or directory, ${syscall} '${path}'`);
  Error.stackTraceLimit = limit;
  error.code = 'ENOENT';
  return error;
}
