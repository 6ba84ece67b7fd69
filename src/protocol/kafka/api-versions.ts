import { KafkaErrorCode } from '../../common/kafka-error-code.js';
import { ApiKey, describedVersions, type KafkaApi } from './api.js';
import { field, type MessageDescription, structs, tagged } from './message/description.js';
import { messageCodec } from './message/message-codec.js';

/**
 * ApiVersions (key 18), versions 0–4 (flexible from 3; v4 only changes what
 * a broker may say about features, which this one does not list). v3+
 * requests carry the client's software name and version, accepted and not
 * used. The response header is v0 in every version (the listener knows), so
 * that a client can read the answer before it knows which versions exist.
 * A client asking for a version above 4 gets UNSUPPORTED_VERSION in the v0
 * layout with the list, as Kafka answers, so that it can retry with a
 * version both know (the listener builds that answer; see kafka-connection.ts).
 */
export const apiVersionsRequestDescription: MessageDescription = {
  name: 'ApiVersionsRequest',
  validVersions: '0-4',
  flexibleVersions: '3+',
  fields: [field('clientSoftwareName', 'string', '3+'), field('clientSoftwareVersion', 'string', '3+')],
};

const featureFields = [
  field('name', 'string', '3+'),
  field('minVersion', 'int16', '3+'),
  field('maxVersion', 'int16', '3+'),
];

export const apiVersionsResponseDescription: MessageDescription = {
  name: 'ApiVersionsResponse',
  validVersions: '0-4',
  flexibleVersions: '3+',
  fields: [
    field('errorCode', 'int16', '0+'),
    structs('apis', '0+', [
      field('apiKey', 'int16', '0+'),
      field('minVersion', 'int16', '0+'),
      field('maxVersion', 'int16', '0+'),
    ]),
    field('throttleTimeMs', 'int32', '1+'),
    tagged('supportedFeatures', '[]', '3+', 0, { fields: featureFields }),
    tagged('finalizedFeaturesEpoch', 'int64', '3+', 1, { default: -1 }),
    tagged('finalizedFeatures', '[]', '3+', 2, {
      fields: [
        field('name', 'string', '3+'),
        field('maxVersionLevel', 'int16', '3+'),
        field('minVersionLevel', 'int16', '3+'),
      ],
    }),
    tagged('zkMigrationReady', 'bool', '3+', 3, { default: false }),
  ],
};

export interface ApiVersionsRequest {
  clientSoftwareName: string;
  clientSoftwareVersion: string;
}

export interface ApiVersionsResponse {
  errorCode: number;
  apis: readonly { apiKey: number; minVersion: number; maxVersion: number }[];
}

const request = messageCodec<ApiVersionsRequest>(apiVersionsRequestDescription);
const response = messageCodec<ApiVersionsResponse>(apiVersionsResponseDescription);

export const apiVersions: KafkaApi<ApiVersionsRequest, ApiVersionsResponse> = {
  apiKey: ApiKey.API_VERSIONS,
  name: 'ApiVersions',
  ...describedVersions(request, response),
  decode: request.decode,
  handle: async (_request, context) => ({ errorCode: KafkaErrorCode.NONE, apis: context.apis }),
  encode: response.encode,
};
