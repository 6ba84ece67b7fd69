import {
  type AclBinding,
  type AclBindingFilter,
  AclPatternType,
  AclPermission,
  AclResourceType,
  aclMatchesFilter,
  aclOperationName,
  aclResourceTypeName,
  CLUSTER_RESOURCE_NAME,
} from './acl.js';
import { type AclRepository, AclsNotLoadedError } from './acl-repository.js';
import { Authorizer, type CheckedOperation, type CheckedResourceType } from './authorizer.js';

/** A request refused by the ACLs (front doors answer it 403 or with Kafka's *_AUTHORIZATION_FAILED). */
export class AccessDeniedError extends Error {
  readonly code = 'FORBIDDEN';
}

/** Where audit lines go (the broker's pino logger at info; tests collect them). */
export type AuditSink = (fields: Readonly<Record<string, unknown>>, message: string) => void;

export interface AccessControlOptions {
  readonly superUsers: readonly string[];
  readonly allowEveryoneIfNoAclFound: boolean;
  readonly audit: AuditSink;
}

/**
 * The one ACL check every front door (Kafka, HTTP, WebSocket) calls, with the store behind the
 * admin APIs and CLI (a file on a single node, etcd in cluster mode). A denied check and every ACL
 * change write an audit line naming the principal. While the store has not loaded the ACLs
 * (cluster mode, before etcd was read) every check but a super user's denies. Owned by the
 * acceptor thread.
 */
export class AccessControl {
  private readonly authorizer: Authorizer;
  private readonly audit: AuditSink;

  constructor(
    private readonly store: AclRepository | null,
    options: AccessControlOptions,
  ) {
    this.authorizer = new Authorizer(options, store === null ? [] : store.list());
    this.audit = options.audit;
  }

  /** Whether no check can deny (no ACL stored and everyone allowed), so front doors may skip them. */
  get allowsEverything(): boolean {
    return this.authorizer.allowsEverything;
  }

  /** Checks one operation on one resource; audits a denial with what the request was. */
  authorize(
    principal: string,
    host: string,
    operation: CheckedOperation,
    resourceType: CheckedResourceType,
    resourceName: string,
    request: string,
  ): boolean {
    if (this.authorizer.authorize(principal, host, operation, resourceType, resourceName)) return true;
    this.audit(
      {
        principal,
        host,
        operation: aclOperationName(operation),
        resourceType: aclResourceTypeName(resourceType),
        resourceName,
        request,
        ...(this.authorizer.bindingsLoaded ? {} : { reason: 'the ACLs are not loaded yet' }),
      },
      'authorization denied',
    );
    return false;
  }

  /** Checks an operation on the cluster resource. */
  authorizeCluster(principal: string, host: string, operation: CheckedOperation, request: string): boolean {
    return this.authorize(
      principal,
      host,
      operation,
      AclResourceType.CLUSTER,
      CLUSTER_RESOURCE_NAME,
      request,
    );
  }

  /** Like authorize, without an audit line (Metadata silently leaves out topics it may not describe). */
  allows(
    principal: string,
    host: string,
    operation: CheckedOperation,
    resourceType: CheckedResourceType,
    resourceName: string,
  ): boolean {
    return this.authorizer.authorize(principal, host, operation, resourceType, resourceName);
  }

  /** Whether the store has loaded the ACLs (false in cluster mode until etcd was read). */
  get loaded(): boolean {
    return this.authorizer.bindingsLoaded;
  }

  /** Picks up ACLs another process wrote to the store's file (the broker calls this every second). */
  reloadIfChanged(): void {
    if (this.store?.reloadIfChanged?.() === true) this.refresh();
  }

  /** Rebuilds the index from the store's list (a store that learns of changes itself calls this). */
  refresh(): void {
    if (this.store !== null) this.authorizer.replaceAll(this.store.list());
  }

  /** The bindings the filter matches; throws AclsNotLoadedError before the store has loaded them. */
  describe(filter: AclBindingFilter): AclBinding[] {
    if (this.store === null) return [];
    const bindings = this.store.list();
    if (bindings === null) throw new AclsNotLoadedError('the ACLs are not loaded yet');
    return bindings.filter((binding) => aclMatchesFilter(binding, filter));
  }

  /** Stores bindings durably (rejects when one is invalid or the write fails) and audits the change. */
  async create(principal: string, bindings: readonly AclBinding[]): Promise<void> {
    const store = this.requireStore();
    await store.add(bindings);
    this.refresh();
    for (const binding of bindings) this.audit({ principal, acl: describeBinding(binding) }, 'ACL created');
  }

  /** Removes what the filter matches, durably, and audits each removal. */
  async delete(principal: string, filter: AclBindingFilter): Promise<AclBinding[]> {
    const store = this.requireStore();
    const removed = await store.remove(filter);
    if (removed.length > 0) this.refresh();
    for (const binding of removed) this.audit({ principal, acl: describeBinding(binding) }, 'ACL deleted');
    return removed;
  }

  /** Audits an admin change made through another API (topics, configs, groups). */
  auditChange(principal: string, change: string, fields: Readonly<Record<string, unknown>>): void {
    this.audit({ principal, change, ...fields }, 'admin change');
  }

  private requireStore(): AclRepository {
    if (this.store === null) throw new Error('this broker keeps no ACLs');
    return this.store;
  }
}

/** One line for an audit entry: `ALLOW User:alice WRITE TOPIC orders (LITERAL) from *`. */
export function describeBinding(binding: AclBinding): string {
  const permission = binding.permission === AclPermission.ALLOW ? 'ALLOW' : 'DENY';
  const pattern = binding.patternType === AclPatternType.PREFIXED ? 'PREFIXED' : 'LITERAL';
  return `${permission} ${binding.principal} ${aclOperationName(binding.operation)} ${aclResourceTypeName(binding.resourceType)} ${binding.resourceName} (${pattern}) from ${binding.host}`;
}

/** An AccessControl that allows everything and stores nothing (tests, tools without a data dir). */
export function openAccessControl(): AccessControl {
  return new AccessControl(null, { superUsers: [], allowEveryoneIfNoAclFound: true, audit: () => {} });
}
