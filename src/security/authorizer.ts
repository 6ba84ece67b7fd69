import {
  type AclBinding,
  AclOperation,
  AclPatternType,
  AclPermission,
  type AclResourceType,
  WILDCARD,
  WILDCARD_PRINCIPAL,
} from './acl.js';

/** The resource types a request is checked against (ANY is only a filter). */
export type CheckedResourceType = Exclude<AclResourceType, typeof AclResourceType.ANY>;
/** The operations a request is checked for (ANY and ALL are only for bindings and filters). */
export type CheckedOperation = Exclude<AclOperation, typeof AclOperation.ANY | typeof AclOperation.ALL>;

export interface AuthorizerOptions {
  /** Principals allowed everything, whatever the ACLs say (`--super-users User:admin;User:ops`). */
  readonly superUsers: readonly string[];
  /** What a resource no ACL names allows (Kafka's allow.everyone.if.no.acl.found). */
  readonly allowEveryoneIfNoAclFound: boolean;
}

/** The ACLs of one resource type, indexed so a check touches only the bindings that can match. */
interface ResourceTypeIndex {
  readonly literal: Map<string, AclBinding[]>;
  readonly prefixed: Map<string, AclBinding[]>;
}

/**
 * Kafka's authorization decision (AclAuthorizer): super users may do everything; otherwise the
 * bindings whose resource pattern matches (literal name, literal `*`, or a prefix of the name)
 * and whose principal and host match are consulted: any matching DENY wins; then an ALLOW for
 * the operation, for ALL, or for an operation that implies it (Read, Write, Delete and Alter
 * imply Describe; AlterConfigs implies DescribeConfigs). A resource no binding names at all is
 * allowed only when allowEveryoneIfNoAclFound. Checks run per request and per resource named,
 * never per record. Owned by the acceptor thread.
 */
export class Authorizer {
  private readonly superUsers: ReadonlySet<string>;
  private readonly allowEveryoneIfNoAclFound: boolean;
  private readonly byType = new Map<CheckedResourceType, ResourceTypeIndex>();
  private bindingCount = 0;
  /** False until the bindings are known (cluster mode before etcd was read): every check but a super user's denies. */
  private loaded = true;

  constructor(options: AuthorizerOptions, bindings: readonly AclBinding[] | null = []) {
    this.superUsers = new Set(options.superUsers);
    this.allowEveryoneIfNoAclFound = options.allowEveryoneIfNoAclFound;
    this.replaceAll(bindings);
  }

  /** True when no check can ever deny (nothing stored and everyone allowed): callers may skip checks. */
  get allowsEverything(): boolean {
    return this.loaded && this.bindingCount === 0 && this.allowEveryoneIfNoAclFound;
  }

  /** Whether the bindings are known; while not, checks fail closed. */
  get bindingsLoaded(): boolean {
    return this.loaded;
  }

  isSuperUser(principal: string): boolean {
    return this.superUsers.has(principal);
  }

  /**
   * Rebuilds the index from every stored binding (after a create or delete); null: the bindings are
   * not known (not loaded yet), so every check but a super user's denies.
   */
  replaceAll(bindings: readonly AclBinding[] | null): void {
    this.byType.clear();
    this.loaded = bindings !== null;
    if (bindings === null) {
      this.bindingCount = 0;
      return;
    }
    this.bindingCount = bindings.length;
    for (const binding of bindings) {
      let index = this.byType.get(binding.resourceType);
      if (index === undefined) {
        index = { literal: new Map(), prefixed: new Map() };
        this.byType.set(binding.resourceType, index);
      }
      const byName = binding.patternType === AclPatternType.LITERAL ? index.literal : index.prefixed;
      const list = byName.get(binding.resourceName);
      if (list === undefined) byName.set(binding.resourceName, [binding]);
      else list.push(binding);
    }
  }

  authorize(
    principal: string,
    host: string,
    operation: CheckedOperation,
    resourceType: CheckedResourceType,
    resourceName: string,
  ): boolean {
    if (this.superUsers.has(principal)) return true;
    if (!this.loaded) return false;
    const index = this.byType.get(resourceType);
    if (index === undefined) return this.allowEveryoneIfNoAclFound;
    let anyBinding = false;
    let allowed = false;
    const visit = (bindings: readonly AclBinding[] | undefined): boolean => {
      if (bindings === undefined) return false;
      anyBinding = true;
      for (const binding of bindings) {
        if (binding.principal !== principal && binding.principal !== WILDCARD_PRINCIPAL) continue;
        if (binding.host !== host && binding.host !== WILDCARD) continue;
        if (binding.permission === AclPermission.DENY) {
          if (binding.operation === operation || binding.operation === AclOperation.ALL) return true;
        } else if (!allowed && allowedBy(binding.operation, operation)) {
          allowed = true;
        }
      }
      return false;
    };
    if (visit(index.literal.get(resourceName))) return false;
    if (resourceName !== WILDCARD && visit(index.literal.get(WILDCARD))) return false;
    for (const [prefix, bindings] of index.prefixed) {
      if (resourceName.startsWith(prefix) && visit(bindings)) return false;
    }
    if (!anyBinding) return this.allowEveryoneIfNoAclFound;
    return allowed;
  }
}

/** Whether an ALLOW binding for `granted` allows `wanted` (Kafka's implied operations). */
export function allowedBy(granted: AclOperation, wanted: CheckedOperation): boolean {
  if (granted === wanted || granted === AclOperation.ALL) return true;
  if (wanted === AclOperation.DESCRIBE) {
    return (
      granted === AclOperation.READ ||
      granted === AclOperation.WRITE ||
      granted === AclOperation.DELETE ||
      granted === AclOperation.ALTER
    );
  }
  if (wanted === AclOperation.DESCRIBE_CONFIGS) return granted === AclOperation.ALTER_CONFIGS;
  return false;
}

/** Parses `--super-users`: principals separated by `;` (Kafka's super.users), blanks ignored. */
export function parseSuperUsers(text: string): string[] {
  return text
    .split(';')
    .map((part) => part.trim())
    .filter((part) => part.length > 0);
}
