import { AclResourceType, CLUSTER_RESOURCE_NAME } from '../../security/acl.js';
import { allOperationBits, authorizedOperationBits } from '../../security/authorized-operations.js';
import type { CheckedOperation, CheckedResourceType } from '../../security/authorizer.js';
import { principalText } from '../../security/principal.js';
import type { KafkaRequestContext } from './api.js';

/** Whether no ACL can deny anything here (checks may be skipped, with the work they need). */
export function accessOpen(context: KafkaRequestContext): boolean {
  const access = context.deps.access;
  return access === undefined || access.allowsEverything;
}

/**
 * Whether the request's principal may do `operation` on a resource (audited when denied). Free
 * when no ACL can deny anything (the default broker): the check is skipped before any string is
 * built. Called per request and per resource named, never per record.
 */
export function requestAllowed(
  context: KafkaRequestContext,
  operation: CheckedOperation,
  resourceType: CheckedResourceType,
  resourceName: string,
  request: string,
): boolean {
  const access = context.deps.access;
  if (access === undefined || access.allowsEverything) return true;
  return access.authorize(
    principalText(context.principal),
    context.clientHost,
    operation,
    resourceType,
    resourceName,
    request,
  );
}

/** Like requestAllowed, without an audit line (for filtering what a listing shows). */
export function requestMayDescribe(
  context: KafkaRequestContext,
  operation: CheckedOperation,
  resourceType: CheckedResourceType,
  resourceName: string,
): boolean {
  const access = context.deps.access;
  if (access === undefined || access.allowsEverything) return true;
  return access.allows(
    principalText(context.principal),
    context.clientHost,
    operation,
    resourceType,
    resourceName,
  );
}

/**
 * The operations the request's principal may perform on one resource, as Kafka's authorized
 * operations bit set (unaudited: asking is not a denied request). Every operation of the type
 * when no ACL can deny anything.
 */
export function requestAuthorizedOperations(
  context: KafkaRequestContext,
  resourceType: CheckedResourceType,
  resourceName: string,
): number {
  const access = context.deps.access;
  if (access === undefined || access.allowsEverything) return allOperationBits(resourceType);
  const principal = principalText(context.principal);
  return authorizedOperationBits(resourceType, (operation) =>
    access.allows(principal, context.clientHost, operation, resourceType, resourceName),
  );
}

export function clusterRequestAllowed(
  context: KafkaRequestContext,
  operation: CheckedOperation,
  request: string,
): boolean {
  return requestAllowed(context, operation, AclResourceType.CLUSTER, CLUSTER_RESOURCE_NAME, request);
}

/** Writes the audit line for an admin change a Kafka request made (topics created or deleted). */
export function auditAdminChange(
  context: KafkaRequestContext,
  change: string,
  fields: Readonly<Record<string, unknown>>,
): void {
  context.deps.access?.auditChange(principalText(context.principal), change, fields);
}

/** A config resource's check: a topic's own ACLs, the cluster's for a broker (Kafka's mapping). */
export function configResourceAllowed(
  context: KafkaRequestContext,
  operation: CheckedOperation,
  configResourceType: number,
  resourceName: string,
  request: string,
): boolean {
  return configResourceType === TOPIC_CONFIG_RESOURCE
    ? requestAllowed(context, operation, AclResourceType.TOPIC, resourceName, request)
    : clusterRequestAllowed(context, operation, request);
}

const TOPIC_CONFIG_RESOURCE = 2;
