/**
 * Kafka's ACL model (KIP-11, KIP-290 prefixed patterns) as data: resource types, pattern types,
 * operations and permissions carry the numeric codes Kafka puts on the wire (CreateAcls,
 * DescribeAcls, DeleteAcls), so the same values serve the admin APIs, the CLI and the store.
 */

export const AclResourceType = {
  ANY: 1,
  TOPIC: 2,
  GROUP: 3,
  CLUSTER: 4,
  TRANSACTIONAL_ID: 5,
} as const;
export type AclResourceType = (typeof AclResourceType)[keyof typeof AclResourceType];

export const AclPatternType = {
  ANY: 1,
  MATCH: 2,
  LITERAL: 3,
  PREFIXED: 4,
} as const;
export type AclPatternType = (typeof AclPatternType)[keyof typeof AclPatternType];

export const AclOperation = {
  ANY: 1,
  ALL: 2,
  READ: 3,
  WRITE: 4,
  CREATE: 5,
  DELETE: 6,
  ALTER: 7,
  DESCRIBE: 8,
  CLUSTER_ACTION: 9,
  DESCRIBE_CONFIGS: 10,
  ALTER_CONFIGS: 11,
  IDEMPOTENT_WRITE: 12,
} as const;
export type AclOperation = (typeof AclOperation)[keyof typeof AclOperation];

export const AclPermission = {
  ANY: 1,
  DENY: 2,
  ALLOW: 3,
} as const;
export type AclPermission = (typeof AclPermission)[keyof typeof AclPermission];

/** The name Kafka gives the single cluster resource. */
export const CLUSTER_RESOURCE_NAME = 'kafka-cluster';
/** A literal resource name, principal or host that matches every one. */
export const WILDCARD = '*';
/** The principal that matches every user. */
export const WILDCARD_PRINCIPAL = 'User:*';

/** One stored ACL: who (principal, host) may or may not do what (operation) to which resources. */
export interface AclBinding {
  readonly resourceType: Exclude<AclResourceType, 1>;
  readonly resourceName: string;
  readonly patternType: typeof AclPatternType.LITERAL | typeof AclPatternType.PREFIXED;
  readonly principal: string;
  readonly host: string;
  readonly operation: Exclude<AclOperation, 1>;
  readonly permission: typeof AclPermission.DENY | typeof AclPermission.ALLOW;
}

/** A DescribeAcls or DeleteAcls filter: ANY (and null strings) match everything; MATCH as Kafka defines it. */
export interface AclBindingFilter {
  readonly resourceType: AclResourceType;
  readonly resourceName: string | null;
  readonly patternType: AclPatternType;
  readonly principal: string | null;
  readonly host: string | null;
  readonly operation: AclOperation;
  readonly permission: AclPermission;
}

const operationNames: Readonly<Record<string, Exclude<AclOperation, 1>>> = {
  all: AclOperation.ALL,
  read: AclOperation.READ,
  write: AclOperation.WRITE,
  create: AclOperation.CREATE,
  delete: AclOperation.DELETE,
  alter: AclOperation.ALTER,
  describe: AclOperation.DESCRIBE,
  clusteraction: AclOperation.CLUSTER_ACTION,
  describeconfigs: AclOperation.DESCRIBE_CONFIGS,
  alterconfigs: AclOperation.ALTER_CONFIGS,
  idempotentwrite: AclOperation.IDEMPOTENT_WRITE,
};

/** Parses an operation as people write it (Write, DescribeConfigs, describe_configs); undefined when unknown. */
export function parseAclOperation(text: string): Exclude<AclOperation, 1> | undefined {
  return operationNames[text.toLowerCase().replaceAll(/[_-]/g, '')];
}

export function aclOperationName(operation: AclOperation): string {
  for (const [key, value] of Object.entries(AclOperation)) if (value === operation) return key;
  return `UNKNOWN(${operation})`;
}

export function aclResourceTypeName(resourceType: AclResourceType): string {
  for (const [key, value] of Object.entries(AclResourceType)) if (value === resourceType) return key;
  return `UNKNOWN(${resourceType})`;
}

/** Whether a principal string has Kafka's `Type:name` form. */
export function isPrincipal(text: string): boolean {
  const colon = text.indexOf(':');
  return colon > 0 && colon < text.length - 1;
}

/** Checks a binding a client or person asks to store; returns the reason it is refused, or null. */
export function aclBindingProblem(binding: AclBinding): string | null {
  const checkedTypes: readonly number[] = [
    AclResourceType.TOPIC,
    AclResourceType.GROUP,
    AclResourceType.CLUSTER,
    AclResourceType.TRANSACTIONAL_ID,
  ];
  if (!checkedTypes.includes(binding.resourceType)) return 'unknown resource type';
  if (binding.patternType !== AclPatternType.LITERAL && binding.patternType !== AclPatternType.PREFIXED) {
    return 'pattern type must be LITERAL or PREFIXED';
  }
  if (binding.resourceName.length === 0) return 'resource name is empty';
  if (binding.resourceType === AclResourceType.CLUSTER && binding.resourceName !== CLUSTER_RESOURCE_NAME) {
    return `the cluster resource is named ${CLUSTER_RESOURCE_NAME}`;
  }
  if (!isPrincipal(binding.principal)) return 'principal must look like User:name';
  if (binding.host.length === 0) return 'host is empty';
  if (binding.operation <= AclOperation.ANY || binding.operation > AclOperation.IDEMPOTENT_WRITE) {
    return 'unknown operation';
  }
  if (binding.permission !== AclPermission.ALLOW && binding.permission !== AclPermission.DENY) {
    return 'permission must be ALLOW or DENY';
  }
  return null;
}

/** Whether a binding matches a filter, with Kafka's rules (MATCH: literal, wildcard or prefix of the name). */
export function aclMatchesFilter(binding: AclBinding, filter: AclBindingFilter): boolean {
  if (filter.resourceType !== AclResourceType.ANY && filter.resourceType !== binding.resourceType)
    return false;
  if (filter.principal !== null && filter.principal !== binding.principal) return false;
  if (filter.host !== null && filter.host !== binding.host) return false;
  if (filter.operation !== AclOperation.ANY && filter.operation !== binding.operation) return false;
  if (filter.permission !== AclPermission.ANY && filter.permission !== binding.permission) return false;
  if (filter.patternType === AclPatternType.MATCH) {
    if (filter.resourceName === null) return true;
    if (binding.patternType === AclPatternType.LITERAL) {
      return binding.resourceName === filter.resourceName || binding.resourceName === WILDCARD;
    }
    return filter.resourceName.startsWith(binding.resourceName);
  }
  if (filter.patternType !== AclPatternType.ANY && filter.patternType !== binding.patternType) return false;
  return filter.resourceName === null || filter.resourceName === binding.resourceName;
}

/** A binding with exactly its own fields (a decoded request's or record's extra properties dropped). */
export function normalizeAclBinding(binding: AclBinding): AclBinding {
  return {
    resourceType: binding.resourceType,
    resourceName: binding.resourceName,
    patternType: binding.patternType,
    principal: binding.principal,
    host: binding.host,
    operation: binding.operation,
    permission: binding.permission,
  };
}

export function sameAclBinding(a: AclBinding, b: AclBinding): boolean {
  return (
    a.resourceType === b.resourceType &&
    a.resourceName === b.resourceName &&
    a.patternType === b.patternType &&
    a.principal === b.principal &&
    a.host === b.host &&
    a.operation === b.operation &&
    a.permission === b.permission
  );
}
