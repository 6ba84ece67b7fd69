import { ApiKey, describedVersions, type KafkaApi } from './api.js';
import { type AlterOutcome, alterConfigResources, ConfigOperation } from './config-alteration.js';
import { field, type MessageDescription, structs } from './message/description.js';
import { messageCodec } from './message/message-codec.js';

/**
 * AlterConfigs (key 33), versions 0–2 (flexible from 2). Replaces a topic's
 * whole set of settings, as Kafka does: a setting the request does not name
 * goes back to the broker's default for topics. validate_only checks and
 * changes nothing. See config-alteration.ts for the rules and error codes.
 */
export const alterConfigsRequestDescription: MessageDescription = {
  name: 'AlterConfigsRequest',
  validVersions: '0-2',
  flexibleVersions: '2+',
  fields: [
    structs('resources', '0+', [
      field('resourceType', 'int8', '0+'),
      field('resourceName', 'string', '0+'),
      structs('configs', '0+', [
        field('name', 'string', '0+'),
        field('value', 'string', '0+', { nullableVersions: '0+' }),
      ]),
    ]),
    field('validateOnly', 'bool', '0+'),
  ],
};

/** The response AlterConfigs and IncrementalAlterConfigs share (per resource: error, type, name). */
export function alterConfigsResponseFields(): MessageDescription['fields'] {
  return [
    field('throttleTimeMs', 'int32', '0+'),
    structs('responses', '0+', [
      field('errorCode', 'int16', '0+'),
      field('errorMessage', 'string', '0+', { nullableVersions: '0+' }),
      field('resourceType', 'int8', '0+'),
      field('resourceName', 'string', '0+'),
    ]),
  ];
}

export const alterConfigsResponseDescription: MessageDescription = {
  name: 'AlterConfigsResponse',
  validVersions: '0-2',
  flexibleVersions: '2+',
  fields: alterConfigsResponseFields(),
};

export interface AlterConfigsRequest {
  resources: {
    resourceType: number;
    resourceName: string;
    configs: { name: string; value: string | null }[];
  }[];
  validateOnly: boolean;
}

export interface AlterConfigsResourceResponse extends AlterOutcome {
  resourceType: number;
  resourceName: string;
}

export interface AlterConfigsResponse {
  responses: AlterConfigsResourceResponse[];
}

const request = messageCodec<AlterConfigsRequest>(alterConfigsRequestDescription);
const response = messageCodec<AlterConfigsResponse>(alterConfigsResponseDescription);

export const alterConfigs: KafkaApi<AlterConfigsRequest, AlterConfigsResponse> = {
  apiKey: ApiKey.ALTER_CONFIGS,
  name: 'AlterConfigs',
  ...describedVersions(request, response),
  decode: request.decode,
  async handle(request, context) {
    const resources = request.resources.map((resource) => ({
      resourceType: resource.resourceType,
      resourceName: resource.resourceName,
      changes: resource.configs.map((c) => ({
        name: c.name,
        operation: ConfigOperation.SET,
        value: c.value,
      })),
    }));
    return {
      responses: await alterConfigResources(resources, context, 'AlterConfigs', false, request.validateOnly),
    };
  },
  encode: response.encode,
};
