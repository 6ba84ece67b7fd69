import { type OpenMode, type StorageIo, storageIo, useStorageIo } from './storage-io.js';

/**
 * A fault layer over a StorageIo, for tests: operations on chosen files fail
 * with EIO or ENOSPC, and a failing write may first land a prefix of its
 * bytes (a torn write), as a real disk that fills up or goes bad does. It
 * changes nothing else: what it lets through goes to the layer below.
 *
 * Broker-level tests choose faults with the PYRALOG_STORAGE_FAULTS
 * environment variable, read by each shard worker at start
 * (`installFaultsFromEnv`): rules separated by `;`, each a list of
 * `key=value` fields separated by `,`:
 *
 *   op=sync,code=EIO,path=orders-0/                  every sync of orders-0's files fails
 *   op=write,code=ENOSPC,path=orders-1/,after=3,torn=100
 *       the 4th and later writes to orders-1's files fail, each after landing 100 bytes
 *
 * Fields: `op` write | truncate | sync | open | read | rename (write covers write and writev; sync
 * covers fdatasync and fsync); `code` EIO | ENOSPC | HANG (default EIO; HANG
 * makes an fdatasync never complete, and any other call fail with EIO); `path` a
 * substring of the file path (default: every file); `after` matching
 * operations that succeed first (default 0); `torn` bytes of a failing write
 * that land (default 0).
 */
export type FaultOp = 'write' | 'truncate' | 'sync' | 'open' | 'read' | 'rename';
/** HANG (syncs only): the sync never completes, as on a disk that stopped answering. */
export type FaultCode = 'EIO' | 'ENOSPC' | 'HANG';

export interface FaultRule {
  op: FaultOp;
  code: FaultCode;
  pathIncludes: string;
  afterCount: number;
  tornBytes: number;
}

export const STORAGE_FAULTS_ENV = 'PYRALOG_STORAGE_FAULTS';

const errnoOf: Record<FaultCode, number> = { EIO: -5, ENOSPC: -28, HANG: -5 };
const messageOf: Record<FaultCode, string> = {
  EIO: 'i/o error',
  ENOSPC: 'no space left on device',
  HANG: 'i/o error (a hang where the call cannot hang)',
};

/** An error shaped like the ones node:fs throws, so callers cannot tell it from a real one. */
export function storageFault(code: FaultCode, syscall: string, path: string): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(`${code}: ${messageOf[code]}, ${syscall} '${path}'`);
  error.code = code === 'HANG' ? 'EIO' : code;
  error.errno = errnoOf[code];
  error.syscall = syscall;
  error.path = path;
  return error;
}

/** Parses a PYRALOG_STORAGE_FAULTS value; throws on anything it does not understand. */
export function parseFaultRules(spec: string): FaultRule[] {
  const rules: FaultRule[] = [];
  for (const text of spec.split(';')) {
    if (text.trim() === '') continue;
    const rule: FaultRule = { op: 'write', code: 'EIO', pathIncludes: '', afterCount: 0, tornBytes: 0 };
    let sawOp = false;
    for (const field of text.split(',')) {
      const equals = field.indexOf('=');
      const key = field.slice(0, equals).trim();
      const value = field.slice(equals + 1).trim();
      if (equals < 0) throw new Error(`storage fault rule field without '=': ${field}`);
      if (
        key === 'op' &&
        (value === 'write' ||
          value === 'truncate' ||
          value === 'sync' ||
          value === 'open' ||
          value === 'read' ||
          value === 'rename')
      ) {
        rule.op = value;
        sawOp = true;
      } else if (key === 'code' && (value === 'EIO' || value === 'ENOSPC' || value === 'HANG')) {
        rule.code = value;
      } else if (key === 'path') {
        rule.pathIncludes = value;
      } else if ((key === 'after' || key === 'torn') && /^\d+$/.test(value)) {
        if (key === 'after') rule.afterCount = Number(value);
        else rule.tornBytes = Number(value);
      } else {
        throw new Error(`storage fault rule field not understood: ${field}`);
      }
    }
    if (!sawOp) throw new Error(`storage fault rule without op=: ${text}`);
    rules.push(rule);
  }
  return rules;
}

export class FaultyStorageIo implements StorageIo {
  /** Rules in force; tests may change them at any time. */
  readonly rules: FaultRule[];
  /** Faults injected so far. */
  injected = 0;
  private readonly paths = new Map<number, string>();
  private readonly seen = new Map<FaultRule, number>();

  constructor(
    private readonly inner: StorageIo,
    rules: readonly FaultRule[] = [],
  ) {
    this.rules = [...rules];
  }

  /** The first rule that fails this operation now (counting the operation against each matching rule). */
  private faultFor(op: FaultOp, path: string): FaultRule | null {
    let failing: FaultRule | null = null;
    for (const rule of this.rules) {
      if (rule.op !== op || !path.includes(rule.pathIncludes)) continue;
      const seen = this.seen.get(rule) ?? 0;
      this.seen.set(rule, seen + 1);
      if (seen >= rule.afterCount && failing === null) failing = rule;
    }
    if (failing !== null) this.injected++;
    return failing;
  }

  private pathOf(fd: number): string {
    return this.paths.get(fd) ?? `fd ${fd}`;
  }

  open(path: string, mode: OpenMode): number {
    const rule = this.faultFor('open', path);
    if (rule !== null) throw storageFault(rule.code, 'open', path);
    const fd = this.inner.open(path, mode);
    this.paths.set(fd, path);
    return fd;
  }

  close(fd: number): void {
    this.paths.delete(fd);
    this.inner.close(fd);
  }

  write(fd: number, bytes: Uint8Array, offset: number, length: number, position: number): number {
    const path = this.pathOf(fd);
    const rule = this.faultFor('write', path);
    if (rule === null) return this.inner.write(fd, bytes, offset, length, position);
    const landed = Math.min(rule.tornBytes, length);
    if (landed > 0) this.inner.write(fd, bytes, offset, landed, position);
    throw storageFault(rule.code, 'write', path);
  }

  writev(fd: number, chunks: readonly Uint8Array[], position: number): number {
    const path = this.pathOf(fd);
    const rule = this.faultFor('write', path);
    if (rule === null) return this.inner.writev(fd, chunks, position);
    let landed = rule.tornBytes;
    let at = position;
    for (const chunk of chunks) {
      if (landed <= 0) break;
      const part = chunk.subarray(0, Math.min(landed, chunk.length));
      this.inner.write(fd, part, 0, part.length, at);
      at += part.length;
      landed -= part.length;
    }
    throw storageFault(rule.code, 'writev', path);
  }

  read(fd: number, bytes: Uint8Array, offset: number, length: number, position: number): number {
    const rule = this.faultFor('read', this.pathOf(fd));
    if (rule !== null) throw storageFault(rule.code, 'read', this.pathOf(fd));
    return this.inner.read(fd, bytes, offset, length, position);
  }

  sizeOf(fd: number): number {
    return this.inner.sizeOf(fd);
  }

  truncate(fd: number, sizeBytes: number): void {
    const rule = this.faultFor('truncate', this.pathOf(fd));
    if (rule !== null) throw storageFault(rule.code, 'ftruncate', this.pathOf(fd));
    this.inner.truncate(fd, sizeBytes);
  }

  fsync(fd: number): void {
    const rule = this.faultFor('sync', this.pathOf(fd));
    if (rule !== null) throw storageFault(rule.code, 'fsync', this.pathOf(fd));
    this.inner.fsync(fd);
  }

  fdatasync(fd: number, done: (error: Error | null) => void): void {
    const rule = this.faultFor('sync', this.pathOf(fd));
    if (rule === null) {
      this.inner.fdatasync(fd, done);
      return;
    }
    if (rule.code === 'HANG') return; // `done` is never called
    const error = storageFault(rule.code, 'fdatasync', this.pathOf(fd));
    // Fail as the real call does: later, on the owning thread.
    setImmediate(() => done(error));
  }

  readFile(path: string): Uint8Array {
    const rule = this.faultFor('read', path);
    if (rule !== null) throw storageFault(rule.code, 'read', path);
    return this.inner.readFile(path);
  }

  removeFile(path: string): void {
    this.inner.removeFile(path);
  }

  rename(from: string, to: string): void {
    const rule = this.faultFor('rename', from);
    if (rule !== null) throw storageFault(rule.code, 'rename', from);
    this.inner.rename(from, to);
  }

  removeDirectory(path: string): void {
    this.inner.removeDirectory(path);
  }

  makeDirectory(path: string): void {
    this.inner.makeDirectory(path);
  }

  listDirectory(path: string): string[] {
    return this.inner.listDirectory(path);
  }

  syncDirectory(path: string): void {
    const rule = this.faultFor('sync', path);
    if (rule !== null) throw storageFault(rule.code, 'fsync', path);
    this.inner.syncDirectory(path);
  }
}

/**
 * Installs a fault layer over the current storage I/O when
 * PYRALOG_STORAGE_FAULTS is set (a shard worker calls this at start).
 * Returns the layer, or null when the variable is unset or empty.
 */
export function installFaultsFromEnv(env: NodeJS.ProcessEnv = process.env): FaultyStorageIo | null {
  const spec = env[STORAGE_FAULTS_ENV];
  if (spec === undefined || spec.trim() === '') return null;
  const faulty = new FaultyStorageIo(storageIo(), parseFaultRules(spec));
  useStorageIo(faulty);
  return faulty;
}
