import { KafkaErrorCode } from '../../common/kafka-error-code.js';
import { type AclBinding, AclOperation } from '../../security/acl.js';
import { principalText } from '../../security/principal.js';
import {
  ACL_ADMIN_UNAVAILABLE,
  aclBindingFromWire,
  clusterAllowed,
  type WireAclCreation,
} from './acl-wire.js';
import { ApiKey, describedVersions, type KafkaApi } from './api.js';
import { field, type MessageDescription, structs } from './message/description.js';
import { messageCodec } from './message/message-codec.js';

/**
 * CreateAcls (key 30), versions 0–3 (flexible from 2; pattern type from 1, LITERAL before).
 * Needs Alter on the cluster. Valid creations are stored together in one durable write; an
 * invalid one is INVALID_REQUEST with the reason, and does not stop the others.
 */
export const createAclsRequestDescription: MessageDescription = {
  name: 'CreateAclsRequest',
  validVersions: '0-3',
  flexibleVersions: '2+',
  fields: [
    structs('creations', '0+', [
      field('resourceType', 'int8', '0+'),
      field('resourceName', 'string', '0+'),
      field('resourcePatternType', 'int8', '1+', { default: 3 }),
      field('principal', 'string', '0+'),
      field('host', 'string', '0+'),
      field('operation', 'int8', '0+'),
      field('permissionType', 'int8', '0+'),
    ]),
  ],
};

export const createAclsResponseDescription: MessageDescription = {
  name: 'CreateAclsResponse',
  validVersions: '0-3',
  flexibleVersions: '2+',
  fields: [
    field('throttleTimeMs', 'int32', '0+'),
    structs('results', '0+', [
      field('errorCode', 'int16', '0+'),
      field('errorMessage', 'string', '0+', { nullableVersions: '0+', default: null }),
    ]),
  ],
};

export interface CreateAclsRequest {
  creations: WireAclCreation[];
}

export interface CreateAclsResponse {
  throttleTimeMs: number;
  results: { errorCode: number; errorMessage: string | null }[];
}

const request = messageCodec<CreateAclsRequest>(createAclsRequestDescription);
const response = messageCodec<CreateAclsResponse>(createAclsResponseDescription);

export const createAcls: KafkaApi<CreateAclsRequest, CreateAclsResponse> = {
  apiKey: ApiKey.CREATE_ACLS,
  name: 'CreateAcls',
  ...describedVersions(request, response),
  decode: request.decode,
  async handle(request, context) {
    const every = (errorCode: number, errorMessage: string | null) => ({
      throttleTimeMs: 0,
      results: request.creations.map(() => ({ errorCode, errorMessage })),
    });
    const access = context.deps.access;
    if (access === undefined) return every(ACL_ADMIN_UNAVAILABLE, 'this broker keeps no ACLs');
    if (!clusterAllowed(context, AclOperation.ALTER, 'CreateAcls')) {
      return every(KafkaErrorCode.CLUSTER_AUTHORIZATION_FAILED, null);
    }
    const parsed = request.creations.map(aclBindingFromWire);
    const valid = parsed.filter((entry): entry is AclBinding => typeof entry !== 'string');
    let storeError: string | null = null;
    try {
      if (valid.length > 0) await access.create(principalText(context.principal), valid);
    } catch (error) {
      storeError = `could not store the ACLs: ${(error as Error).message}`;
    }
    return {
      throttleTimeMs: 0,
      results: parsed.map((entry) => {
        if (typeof entry === 'string')
          return { errorCode: KafkaErrorCode.INVALID_REQUEST, errorMessage: entry };
        if (storeError !== null)
          return { errorCode: KafkaErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: storeError };
        return { errorCode: KafkaErrorCode.NONE, errorMessage: null };
      }),
    };
  },
  encode: response.encode,
};
