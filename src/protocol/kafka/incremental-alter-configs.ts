import { type AlterConfigsResponse, alterConfigsResponseFields } from './alter-configs.js';
import { ApiKey, describedVersions, type KafkaApi } from './api.js';
import { alterConfigResources } from './config-alteration.js';
import { field, type MessageDescription, structs } from './message/description.js';
import { messageCodec } from './message/message-codec.js';

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
    const resources = request.resources.map((resource) => ({
      resourceType: resource.resourceType,
      resourceName: resource.resourceName,
      changes: resource.configs.map((c) => ({ name: c.name, operation: c.configOperation, value: c.value })),
    }));
    return {
      responses: await alterConfigResources(
        resources,
        context,
        'IncrementalAlterConfigs',
        true,
        request.validateOnly,
      ),
    };
  },
  encode: response.encode,
};
