import { KafkaErrorCode } from '../../common/kafka-error-code.js';
import { AclOperation } from '../../security/acl.js';
import {
  type AlterConfigsResourceResponse,
  type AlterConfigsResponse,
  alterConfigsResponseFields,
} from './alter-configs.js';
import { ApiKey, describedVersions, type KafkaApi } from './api.js';
import { type AlterOutcome, alterResource, duplicateResources, resourceKey } from './config-alteration.js';
import { field, type MessageDescription, structs } from './message/description.js';
import { messageCodec } from './message/message-codec.js';
import { auditAdminChange, configResourceAllowed } from './request-authorization.js';
import { namesTooManyTopics, REQUEST_LIMIT_ERROR } from './request-limits.js';

/**
 * IncrementalAlterConfigs (key 44), versions 0–1 (flexible from 1). Changes
 * only the settings it names: SET (0) a value, DELETE (1) back to the
 * broker's default, APPEND (2) and SUBTRACT (3) items of a list setting
 * (cleanup.policy). validate_only checks and changes nothing. See
 * config-alteration.ts for the rules and error codes.
 */
export const incrementalAlterConfigsRequestDescription: MessageDescription = {
  name: 'IncrementalAlterConfigsRequest',
  validVersions: '0-1',
  flexibleVersions: '1+',
  fields: [
    structs('resources', '0+', [
      field('resourceType', 'int8', '0+'),
      field('resourceName', 'string', '0+'),
      structs('configs', '0+', [
        field('name', 'string', '0+'),
        field('configOperation', 'int8', '0+'),
        field('value', 'string', '0+', { nullableVersions: '0+' }),
      ]),
    ]),
    field('validateOnly', 'bool', '0+'),
  ],
};

export const incrementalAlterConfigsResponseDescription: MessageDescription = {
  name: 'IncrementalAlterConfigsResponse',
  validVersions: '0-1',
  flexibleVersions: '1+',
  fields: alterConfigsResponseFields(),
};

export interface IncrementalAlterConfigsRequest {
  resources: {
    resourceType: number;
    resourceName: string;
    configs: { name: string; configOperation: number; value: string | null }[];
  }[];
  validateOnly: boolean;
}

const request = messageCodec<IncrementalAlterConfigsRequest>(incrementalAlterConfigsRequestDescription);
const response = messageCodec<AlterConfigsResponse>(incrementalAlterConfigsResponseDescription);

export const incrementalAlterConfigs: KafkaApi<IncrementalAlterConfigsRequest, AlterConfigsResponse> = {
  apiKey: ApiKey.INCREMENTAL_ALTER_CONFIGS,
  name: 'IncrementalAlterConfigs',
  ...describedVersions(request, response),
  decode: request.decode,
  async handle(request, context) {
    const { engine, config } = context.deps;
    const tooMany = namesTooManyTopics(request.resources.length, context);
    const duplicates = duplicateResources(request.resources);
    const responses: AlterConfigsResourceResponse[] = [];
    for (const resource of request.resources) {
      const { resourceType, resourceName } = resource;
      let outcome: AlterOutcome;
      if (tooMany) {
        outcome = { errorCode: REQUEST_LIMIT_ERROR, errorMessage: 'too many resources' };
      } else if (duplicates.has(resourceKey(resource))) {
        outcome = {
          errorCode: KafkaErrorCode.INVALID_REQUEST,
          errorMessage: 'resource named more than once',
        };
      } else if (
        !configResourceAllowed(
          context,
          AclOperation.ALTER_CONFIGS,
          resourceType,
          resourceName,
          'IncrementalAlterConfigs',
        )
      ) {
        outcome = {
          errorCode:
            resourceType === 2
              ? KafkaErrorCode.TOPIC_AUTHORIZATION_FAILED
              : KafkaErrorCode.CLUSTER_AUTHORIZATION_FAILED,
          errorMessage: null,
        };
      } else {
        const changes = resource.configs.map((c) => ({
          name: c.name,
          operation: c.configOperation,
          value: c.value,
        }));
        outcome = await alterResource(
          engine,
          config.topicDefaults,
          config.nodeId,
          { resourceType, resourceName, changes },
          true,
          request.validateOnly,
        );
      }
      if (outcome.errorCode === KafkaErrorCode.NONE && !request.validateOnly) {
        auditAdminChange(context, 'alter configs', { resourceType, resourceName });
      }
      responses.push({ resourceType, resourceName, ...outcome });
    }
    return { responses };
  },
  encode: response.encode,
};
