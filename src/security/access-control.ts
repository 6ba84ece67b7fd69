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
import type { AclStore } from './acl-store.js';
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
 * admin APIs and CLI. A denied check and every ACL change write an audit line naming the
 * principal. Owned by the acceptor thread.
 */
export class AccessControl {
  private readonly authorizer: Authorizer;
  private readonly audit: AuditSink;

  constructor(
    private readonly store: AclStore | null,
    options: AccessControlOptions,
  ) {
    this.authorizer = new Authorizer(options, store?.list() ?? []);
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

  /** Picks up ACLs another process wrote to the store (the broker calls this every second). */
  reloadIfChanged(): void {
    if (this.store?.reloadIfChanged() === true) this.authorizer.replaceAll(this.store.list());
  }

  describe(filter: AclBindingFilter): AclBinding[] {
    return (this.store?.list() ?? []).filter((binding) => aclMatchesFilter(binding, filter));
  }

  /** Stores bindings durably (throws when one is invalid or the write fails) and audits the change. */
  create(principal: string, bindings: readonly AclBinding[]): void {
    const store = this.requireStore();
    store.add(bindings);
    this.authorizer.replaceAll(store.list());
    for (const binding of bindings) this.audit({ principal, acl: describeBinding(binding) }, 'ACL created');
  }

  /** Removes what the filter matches, durably, and audits each removal. */
  delete(principal: string, filter: AclBindingFilter): AclBinding[] {
    const store = this.requireStore();
    const removed = store.remove(filter);
    if (removed.length > 0) this.authorizer.replaceAll(store.list());
    for (const binding of removed) this.audit({ principal, acl: describeBinding(binding) }, 'ACL deleted');
    return removed;
  }

  /** Audits an admin change made through another API (topics, configs, groups). */
  auditChange(principal: string, change: string, fields: Readonly<Record<string, unknown>>): void {
    this.audit({ principal, change, ...fields }, 'admin change');
  }

  private requireStore(): AclStore {
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
