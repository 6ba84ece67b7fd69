import { KafkaErrorCode } from '../../common/kafka-error-code.js';
import {
  type AclBinding,
  type AclBindingFilter,
  AclOperation,
  AclPatternType,
  AclPermission,
  AclResourceType,
  aclBindingProblem,
} from '../../security/acl.js';
import { principalText } from '../../security/principal.js';
import type { KafkaRequestContext } from './api.js';

/** An ACL filter as DescribeAcls and DeleteAcls carry it (before version 1, every pattern is LITERAL). */
export interface WireAclFilter {
  resourceTypeFilter: number;
  resourceNameFilter: string | null;
  patternTypeFilter: number;
  principalFilter: string | null;
  hostFilter: string | null;
  operation: number;
  permissionType: number;
}

/** Turns a wire filter into one the store matches, or the reason it is invalid. */
export function aclFilterFromWire(wire: WireAclFilter): AclBindingFilter | string {
  if (!inRange(wire.resourceTypeFilter, AclResourceType.ANY, AclResourceType.TRANSACTIONAL_ID)) {
    return 'unknown resource type filter';
  }
  if (!inRange(wire.patternTypeFilter, AclPatternType.ANY, AclPatternType.PREFIXED)) {
    return 'unknown pattern type filter';
  }
  if (!inRange(wire.operation, AclOperation.ANY, AclOperation.IDEMPOTENT_WRITE)) return 'unknown operation';
  if (!inRange(wire.permissionType, AclPermission.ANY, AclPermission.ALLOW)) return 'unknown permission type';
  return {
    resourceType: wire.resourceTypeFilter as AclResourceType,
    resourceName: wire.resourceNameFilter,
    patternType: wire.patternTypeFilter as AclPatternType,
    principal: wire.principalFilter,
    host: wire.hostFilter,
    operation: wire.operation as AclOperation,
    permission: wire.permissionType as AclPermission,
  };
}

/** An ACL as CreateAcls carries it. */
export interface WireAclCreation {
  resourceType: number;
  resourceName: string;
  resourcePatternType: number;
  principal: string;
  host: string;
  operation: number;
  permissionType: number;
}

export function aclBindingFromWire(wire: WireAclCreation): AclBinding | string {
  const binding = {
    resourceType: wire.resourceType,
    resourceName: wire.resourceName,
    patternType: wire.resourcePatternType,
    principal: wire.principal,
    host: wire.host,
    operation: wire.operation,
    permission: wire.permissionType,
  } as AclBinding;
  return aclBindingProblem(binding) ?? binding;
}

/** Checks an operation on the cluster for the request's principal (ACL admin: Describe or Alter). */
export function clusterAllowed(
  context: KafkaRequestContext,
  operation: typeof AclOperation.DESCRIBE | typeof AclOperation.ALTER,
  request: string,
): boolean {
  const access = context.deps.access;
  if (access === undefined) return true;
  return access.authorizeCluster(principalText(context.principal), context.clientHost, operation, request);
}

export const ACL_ADMIN_UNAVAILABLE = KafkaErrorCode.SECURITY_DISABLED;

function inRange(value: number, min: number, max: number): boolean {
  return Number.isInteger(value) && value >= min && value <= max;
}
