import type { StorageIo } from '../../src/storage/storage-io.js';

/**
 * A StorageIo that lets the first `stepsBeforeCrash` changing operations
 * through (truncations, syncs, renames, removals, creating opens, directory
 * syncs, and writes when `writesAreSteps`) and fails every one after: the
 * process "dies" there, as a SIGKILL would, with the page cache (the files as
 * they are) intact. Reads and closes still work, so the test can drop the log
 * afterwards; nothing after the crash point reaches the files. `steps` counts
 * the changing operations seen (to learn how many a whole run takes). With
 * `writesAreSteps` false a write is not a crash point of its own (a crash
 * between two writes of a file leaves what a crash before its sync leaves),
 * but a write after the crash still fails.
 */
export class CrashingStorageIo implements StorageIo {
  steps = 0;
  /** What the crash interrupted (`op path`), for failure messages. */
  crashedAt = '';

  constructor(
    private readonly inner: StorageIo,
    private readonly stepsBeforeCrash: number,
    private readonly writesAreSteps = true,
  ) {}

  get crashed(): boolean {
    return this.steps > this.stepsBeforeCrash;
  }

  private step(op: string, path: string): void {
    this.steps++;
    if (this.steps === this.stepsBeforeCrash + 1) this.crashedAt = `${op} ${path}`;
    if (this.crashed) throw new Error(`crashed before ${op} ${path}`);
  }

  private writeStep(fd: number): void {
    if (this.writesAreSteps) this.step('write', String(fd));
    else if (this.crashed) throw new Error(`crashed before write ${fd}`);
  }

  open(path: string, mode: 'r' | 'r+' | 'w' | 'w+'): number {
    if (mode === 'w' || mode === 'w+') this.step('create', path);
    return this.inner.open(path, mode);
  }
  close(fd: number): void {
    this.inner.close(fd);
  }
  write(fd: number, bytes: Uint8Array, offset: number, length: number, position: number): number {
    this.writeStep(fd);
    return this.inner.write(fd, bytes, offset, length, position);
  }
  writev(fd: number, chunks: readonly Uint8Array[], position: number): number {
    this.writeStep(fd);
    return this.inner.writev(fd, chunks, position);
  }
  read(fd: number, bytes: Uint8Array, offset: number, length: number, position: number): number {
    return this.inner.read(fd, bytes, offset, length, position);
  }
  sizeOf(fd: number): number {
    return this.inner.sizeOf(fd);
  }
  truncate(fd: number, sizeBytes: number): void {
    this.step('truncate', String(fd));
    this.inner.truncate(fd, sizeBytes);
  }
  fsync(fd: number): void {
    this.step('fsync', String(fd));
    this.inner.fsync(fd);
  }
  fdatasync(fd: number, done: (error: Error | null) => void): void {
    try {
      this.step('fdatasync', String(fd));
    } catch (error) {
      done(error as Error);
      return;
    }
    this.inner.fdatasync(fd, done);
  }
  readFile(path: string): Uint8Array {
    return this.inner.readFile(path);
  }
  removeFile(path: string): void {
    this.step('remove', path);
    this.inner.removeFile(path);
  }
  rename(from: string, to: string): void {
    this.step('rename', from);
    this.inner.rename(from, to);
  }
  removeDirectory(path: string): void {
    this.step('removeDirectory', path);
    this.inner.removeDirectory(path);
  }
  makeDirectory(path: string): void {
    this.step('makeDirectory', path);
    this.inner.makeDirectory(path);
  }
  listDirectory(path: string): string[] {
    return this.inner.listDirectory(path);
  }
  syncDirectory(path: string): void {
    this.step('syncDirectory', path);
    this.inner.syncDirectory(path);
  }
}
