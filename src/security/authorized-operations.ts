import { AclOperation, AclResourceType } from './acl.js';
import type { CheckedOperation, CheckedResourceType } from './authorizer.js';

/**
 * Kafka's "authorized operations" (KIP-430): the operations a principal may perform on one
 * resource, as a bit set with bit `1 << operation code` for each, answered in Metadata,
 * DescribeGroups and DescribeCluster when the client asks. Only the operations that apply to the
 * resource type are reported, as Kafka does.
 */
const OPERATIONS_BY_TYPE: Readonly<Record<CheckedResourceType, readonly CheckedOperation[]>> = {
  [AclResourceType.TOPIC]: [
    AclOperation.READ,
    AclOperation.WRITE,
    AclOperation.CREATE,
    AclOperation.DELETE,
    AclOperation.ALTER,
    AclOperation.DESCRIBE,
    AclOperation.DESCRIBE_CONFIGS,
    AclOperation.ALTER_CONFIGS,
  ],
  [AclResourceType.GROUP]: [AclOperation.READ, AclOperation.DESCRIBE, AclOperation.DELETE],
  [AclResourceType.CLUSTER]: [
    AclOperation.CREATE,
    AclOperation.ALTER,
    AclOperation.DESCRIBE,
    AclOperation.CLUSTER_ACTION,
    AclOperation.DESCRIBE_CONFIGS,
    AclOperation.ALTER_CONFIGS,
    AclOperation.IDEMPOTENT_WRITE,
  ],
  [AclResourceType.TRANSACTIONAL_ID]: [AclOperation.WRITE, AclOperation.DESCRIBE],
};

/** The bit set of the operations of `resourceType` for which `allowed` says yes. */
export function authorizedOperationBits(
  resourceType: CheckedResourceType,
  allowed: (operation: CheckedOperation) => boolean,
): number {
  let bits = 0;
  for (const operation of OPERATIONS_BY_TYPE[resourceType]) if (allowed(operation)) bits |= 1 << operation;
  return bits;
}

/** Every operation of the resource type (what a broker whose ACLs allow everything reports). */
export function allOperationBits(resourceType: CheckedResourceType): number {
  return authorizedOperationBits(resourceType, () => true);
}
