import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  type AclBinding,
  type AclBindingFilter,
  aclBindingProblem,
  aclMatchesFilter,
  normalizeAclBinding,
  sameAclBinding,
} from './acl.js';
import type { AclRepository } from './acl-repository.js';
import { replaceFileDurably } from './durable-file.js';

/**
 * File layout (`<data>/security/acls.json`, UTF-8 JSON, replaced whole and durably on each change):
 *   { "version": 1, "acls": [ { resourceType, resourceName, patternType, principal, host,
 *                                operation, permission }, ... ] }
 * with Kafka's numeric codes (acl.ts). ACL changes are rare admin actions, so one small file
 * rewritten with temp + fsync + rename + directory fsync is enough and survives any crash.
 */
const FILE_VERSION = 1;

export class AclStoreError extends Error {
  readonly code = 'ACL_STORE_CORRUPT';
}

export class AclStore implements AclRepository {
  private readonly path: string;
  private bindings: AclBinding[];
  /** The file's modification time when last read or written here. */
  private loadedMtimeMs = -1;

  /** Opens (or starts empty) the store under a broker data directory. */
  constructor(dataDir: string) {
    const dir = join(dataDir, 'security');
    mkdirSync(dir, { recursive: true });
    this.path = join(dir, 'acls.json');
    this.bindings = existsSync(this.path) ? readBindings(this.path) : [];
    this.loadedMtimeMs = existsSync(this.path) ? statSync(this.path).mtimeMs : -1;
  }

  /**
   * Re-reads the file when another process (`pyralog acl --data`) replaced it; true when it did.
   * A damaged file keeps the ACLs in memory (the error is thrown for the caller to log).
   */
  reloadIfChanged(): boolean {
    let mtimeMs: number;
    try {
      mtimeMs = statSync(this.path).mtimeMs;
    } catch {
      return false;
    }
    if (mtimeMs === this.loadedMtimeMs) return false;
    this.bindings = readBindings(this.path);
    this.loadedMtimeMs = mtimeMs;
    return true;
  }

  list(): readonly AclBinding[] {
    return this.bindings;
  }

  /** Adds the bindings not stored yet (one durable write); throws on an invalid binding, storing none. */
  add(bindings: readonly AclBinding[]): void {
    for (const binding of bindings) {
      const problem = aclBindingProblem(binding);
      if (problem !== null) throw new Error(`invalid ACL: ${problem}`);
    }
    const next = [...this.bindings];
    for (const binding of bindings) {
      if (!next.some((stored) => sameAclBinding(stored, binding))) next.push(normalizeAclBinding(binding));
    }
    if (next.length === this.bindings.length) return;
    this.save(next);
  }

  /** Removes every binding a filter matches (one durable write) and returns them. */
  remove(filter: AclBindingFilter): AclBinding[] {
    const removed = this.bindings.filter((binding) => aclMatchesFilter(binding, filter));
    if (removed.length > 0) this.save(this.bindings.filter((binding) => !aclMatchesFilter(binding, filter)));
    return removed;
  }

  private save(next: AclBinding[]): void {
    const text = `${JSON.stringify({ version: FILE_VERSION, acls: next }, null, 1)}\n`;
    replaceFileDurably(this.path, new TextEncoder().encode(text));
    this.bindings = next;
    this.loadedMtimeMs = statSync(this.path).mtimeMs;
  }
}

function readBindings(path: string): AclBinding[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new AclStoreError(`${path}: not valid JSON (${(error as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null) throw new AclStoreError(`${path}: not an object`);
  const { version, acls } = parsed as { version?: unknown; acls?: unknown };
  if (version !== FILE_VERSION) throw new AclStoreError(`${path}: unknown version ${String(version)}`);
  if (!Array.isArray(acls)) throw new AclStoreError(`${path}: acls is not a list`);
  return acls.map((entry: unknown, position) => {
    const binding = entry as AclBinding;
    const problem =
      typeof entry === 'object' && entry !== null && typeof binding.resourceName === 'string'
        ? aclBindingProblem(binding)
        : 'not an ACL';
    if (problem !== null) throw new AclStoreError(`${path}: entry ${position}: ${problem}`);
    return normalizeAclBinding(binding);
  });
}
