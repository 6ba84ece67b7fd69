import type { AclBinding, AclBindingFilter } from './acl.js';

/**
 * Where a broker's ACLs are kept: the data directory's file on a single node (acl-store.ts), etcd
 * in cluster mode (cluster/etcd-acl-store.ts). AccessControl reads the list into its index and
 * writes through here; a repository that reads from elsewhere calls AccessControl.refresh() when
 * the list changed.
 */
export interface AclRepository {
  /**
   * Every stored binding, or null while the ACLs have not been loaded yet (cluster mode before the
   * first read from etcd): the authorizer then denies everything but super users (fail closed).
   */
  list(): readonly AclBinding[] | null;
  /** Adds the bindings not stored yet, durably; throws (storing none) when one is invalid. */
  add(bindings: readonly AclBinding[]): Promise<void> | void;
  /** Removes every binding the filter matches, durably, and returns them. */
  remove(filter: AclBindingFilter): Promise<AclBinding[]> | AclBinding[];
  /** Picks up changes another process made (the file store; polled); true when the list changed. */
  reloadIfChanged?(): boolean;
}

/** The ACLs are not loaded yet (cluster mode, etcd not read yet): nothing can be listed or changed. */
export class AclsNotLoadedError extends Error {
  readonly code = 'ACLS_NOT_LOADED';
}
