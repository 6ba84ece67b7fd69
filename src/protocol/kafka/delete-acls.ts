import { KafkaErrorCode } from '../../common/kafka-error-code.js';
import { type AclBindingFilter, AclOperation } from '../../security/acl.js';
import { principalText } from '../../security/principal.js';
import { ACL_ADMIN_UNAVAILABLE, aclFilterFromWire, clusterAllowed, type WireAclFilter } from './acl-wire.js';
import { ApiKey, describedVersions, type KafkaApi } from './api.js';
import { field, type MessageDescription, structs } from './message/description.js';
import { messageCodec } from './message/message-codec.js';

/**
 * DeleteAcls (key 31), versions 0–3 (flexible from 2; pattern type filter from 1). Needs Alter
 * on the cluster. Each filter removes every stored ACL it matches (one durable write per
 * filter) and answers them.
 */
export const deleteAclsRequestDescription: MessageDescription = {
  name: 'DeleteAclsRequest',
  validVersions: '0-3',
  flexibleVersions: '2+',
  fields: [
    structs('filters', '0+', [
      field('resourceTypeFilter', 'int8', '0+'),
      field('resourceNameFilter', 'string', '0+', { nullableVersions: '0+', default: null }),
      field('patternTypeFilter', 'int8', '1+', { default: 3 }),
      field('principalFilter', 'string', '0+', { nullableVersions: '0+', default: null }),
      field('hostFilter', 'string', '0+', { nullableVersions: '0+', default: null }),
      field('operation', 'int8', '0+'),
      field('permissionType', 'int8', '0+'),
    ]),
  ],
};

export const deleteAclsResponseDescription: MessageDescription = {
  name: 'DeleteAclsResponse',
  validVersions: '0-3',
  flexibleVersions: '2+',
  fields: [
    field('throttleTimeMs', 'int32', '0+'),
    structs('filterResults', '0+', [
      field('errorCode', 'int16', '0+'),
      field('errorMessage', 'string', '0+', { nullableVersions: '0+', default: null }),
      structs('matchingAcls', '0+', [
        field('errorCode', 'int16', '0+'),
        field('errorMessage', 'string', '0+', { nullableVersions: '0+', default: null }),
        field('resourceType', 'int8', '0+'),
        field('resourceName', 'string', '0+'),
        field('patternType', 'int8', '1+', { default: 3 }),
        field('principal', 'string', '0+'),
        field('host', 'string', '0+'),
        field('operation', 'int8', '0+'),
        field('permissionType', 'int8', '0+'),
      ]),
    ]),
  ],
};

export interface DeleteAclsRequest {
  filters: WireAclFilter[];
}

interface MatchingAcl {
  errorCode: number;
  errorMessage: string | null;
  resourceType: number;
  resourceName: string;
  patternType: number;
  principal: string;
  host: string;
  operation: number;
  permissionType: number;
}

export interface DeleteAclsResponse {
  throttleTimeMs: number;
  filterResults: { errorCode: number; errorMessage: string | null; matchingAcls: MatchingAcl[] }[];
}

const request = messageCodec<DeleteAclsRequest>(deleteAclsRequestDescription);
const response = messageCodec<DeleteAclsResponse>(deleteAclsResponseDescription);

export const deleteAcls: KafkaApi<DeleteAclsRequest, DeleteAclsResponse> = {
  apiKey: ApiKey.DELETE_ACLS,
  name: 'DeleteAcls',
  ...describedVersions(request, response),
  decode: request.decode,
  async handle(request, context) {
    const every = (errorCode: number, errorMessage: string | null): DeleteAclsResponse => ({
      throttleTimeMs: 0,
      filterResults: request.filters.map(() => ({ errorCode, errorMessage, matchingAcls: [] })),
    });
    const access = context.deps.access;
    if (access === undefined) return every(ACL_ADMIN_UNAVAILABLE, 'this broker keeps no ACLs');
    if (!clusterAllowed(context, AclOperation.ALTER, 'DeleteAcls')) {
      return every(KafkaErrorCode.CLUSTER_AUTHORIZATION_FAILED, null);
    }
    const principal = principalText(context.principal);
    type FilterResult = DeleteAclsResponse['filterResults'][number];
    const deleteOne = async (wire: (typeof request.filters)[number]): Promise<FilterResult> => {
      const filter: AclBindingFilter | string = aclFilterFromWire(wire);
      if (typeof filter === 'string') {
        return { errorCode: KafkaErrorCode.INVALID_REQUEST, errorMessage: filter, matchingAcls: [] };
      }
      try {
        const removed = await access.delete(principal, filter);
        return {
          errorCode: KafkaErrorCode.NONE,
          errorMessage: null,
          matchingAcls: removed.map((binding) => ({
            errorCode: KafkaErrorCode.NONE,
            errorMessage: null,
            resourceType: binding.resourceType,
            resourceName: binding.resourceName,
            patternType: binding.patternType,
            principal: binding.principal,
            host: binding.host,
            operation: binding.operation,
            permissionType: binding.permission,
          })),
        };
      } catch (error) {
        return {
          errorCode: KafkaErrorCode.UNKNOWN_SERVER_ERROR,
          errorMessage: `could not store the ACLs: ${(error as Error).message}`,
          matchingAcls: [],
        };
      }
    };
    // One filter at a time, in order: a later filter sees what an earlier one removed.
    const filterResults: FilterResult[] = [];
    for (const wire of request.filters) filterResults.push(await deleteOne(wire));
    return { throttleTimeMs: 0, filterResults };
  },
  encode: response.encode,
};
