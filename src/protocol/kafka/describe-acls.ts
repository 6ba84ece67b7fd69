import { KafkaErrorCode } from '../../common/kafka-error-code.js';
import { type AclBinding, AclOperation } from '../../security/acl.js';
import { ACL_ADMIN_UNAVAILABLE, aclFilterFromWire, clusterAllowed, type WireAclFilter } from './acl-wire.js';
import { ApiKey, describedVersions, type KafkaApi } from './api.js';
import { field, type MessageDescription, structs } from './message/description.js';
import { messageCodec } from './message/message-codec.js';

/**
 * DescribeAcls (key 29), versions 0–3 (flexible from 2; pattern type filter from 1). Needs
 * Describe on the cluster. Answers the stored ACLs the filter matches, grouped by resource
 * pattern as Kafka groups them.
 */
export const describeAclsRequestDescription: MessageDescription = {
  name: 'DescribeAclsRequest',
  validVersions: '0-3',
  flexibleVersions: '2+',
  fields: [
    field('resourceTypeFilter', 'int8', '0+'),
    field('resourceNameFilter', 'string', '0+', { nullableVersions: '0+', default: null }),
    field('patternTypeFilter', 'int8', '1+', { default: 3 }),
    field('principalFilter', 'string', '0+', { nullableVersions: '0+', default: null }),
    field('hostFilter', 'string', '0+', { nullableVersions: '0+', default: null }),
    field('operation', 'int8', '0+'),
    field('permissionType', 'int8', '0+'),
  ],
};

export const describeAclsResponseDescription: MessageDescription = {
  name: 'DescribeAclsResponse',
  validVersions: '0-3',
  flexibleVersions: '2+',
  fields: [
    field('throttleTimeMs', 'int32', '0+'),
    field('errorCode', 'int16', '0+'),
    field('errorMessage', 'string', '0+', { nullableVersions: '0+', default: null }),
    structs('resources', '0+', [
      field('resourceType', 'int8', '0+'),
      field('resourceName', 'string', '0+'),
      field('patternType', 'int8', '1+', { default: 3 }),
      structs('acls', '0+', [
        field('principal', 'string', '0+'),
        field('host', 'string', '0+'),
        field('operation', 'int8', '0+'),
        field('permissionType', 'int8', '0+'),
      ]),
    ]),
  ],
};

export type DescribeAclsRequest = WireAclFilter;

export interface DescribedAclResource {
  resourceType: number;
  resourceName: string;
  patternType: number;
  acls: { principal: string; host: string; operation: number; permissionType: number }[];
}

export interface DescribeAclsResponse {
  throttleTimeMs: number;
  errorCode: number;
  errorMessage: string | null;
  resources: DescribedAclResource[];
}

const request = messageCodec<DescribeAclsRequest>(describeAclsRequestDescription);
const response = messageCodec<DescribeAclsResponse>(describeAclsResponseDescription);

export const describeAcls: KafkaApi<DescribeAclsRequest, DescribeAclsResponse> = {
  apiKey: ApiKey.DESCRIBE_ACLS,
  name: 'DescribeAcls',
  ...describedVersions(request, response),
  decode: request.decode,
  async handle(request, context) {
    const refuse = (errorCode: number, errorMessage: string | null): DescribeAclsResponse => ({
      throttleTimeMs: 0,
      errorCode,
      errorMessage,
      resources: [],
    });
    const access = context.deps.access;
    if (access === undefined) return refuse(ACL_ADMIN_UNAVAILABLE, 'this broker keeps no ACLs');
    if (!clusterAllowed(context, AclOperation.DESCRIBE, 'DescribeAcls')) {
      return refuse(KafkaErrorCode.CLUSTER_AUTHORIZATION_FAILED, null);
    }
    const filter = aclFilterFromWire(request);
    if (typeof filter === 'string') return refuse(KafkaErrorCode.INVALID_REQUEST, filter);
    let described: AclBinding[];
    try {
      described = access.describe(filter);
    } catch (error) {
      // Cluster mode before the ACLs were read from etcd: say so rather than answer an empty list.
      return refuse(KafkaErrorCode.UNKNOWN_SERVER_ERROR, (error as Error).message);
    }
    return {
      throttleTimeMs: 0,
      errorCode: KafkaErrorCode.NONE,
      errorMessage: null,
      resources: byResource(described),
    };
  },
  encode: response.encode,
};

/** Groups bindings by (resource type, name, pattern type), keeping the stored order. */
export function byResource(bindings: readonly AclBinding[]): DescribedAclResource[] {
  const resources = new Map<string, DescribedAclResource>();
  for (const binding of bindings) {
    const key = `${binding.resourceType}\u0000${binding.patternType}\u0000${binding.resourceName}`;
    let resource = resources.get(key);
    if (resource === undefined) {
      resource = {
        resourceType: binding.resourceType,
        resourceName: binding.resourceName,
        patternType: binding.patternType,
        acls: [],
      };
      resources.set(key, resource);
    }
    resource.acls.push({
      principal: binding.principal,
      host: binding.host,
      operation: binding.operation,
      permissionType: binding.permission,
    });
  }
  return [...resources.values()];
}
