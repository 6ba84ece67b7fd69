import { KafkaErrorCode } from '../../common/kafka-error-code.js';
import { ApiKey, type KafkaApi } from './api.js';

/**
 * ApiVersions (key 18), versions 0–2. Grammar (non-flexible):
 *   Request v0–2:  (empty)
 *   Response v0:   error_code INT16, api_keys [api_key INT16, min_version INT16, max_version INT16]
 *   Response v1–2: … then throttle_time_ms INT32
 * Only non-flexible versions are advertised (each API's first flexible
 * version is above its maxVersion here). A client asking for a version above
 * 2 gets an UNSUPPORTED_VERSION answer in the v0 layout with the list, which
 * is what Kafka does so that clients can retry with a version it knows
 * (the listener builds that answer; see kafka-connection.ts).
 */
export interface ApiVersionsResponse {
  errorCode: number;
  apis: readonly { apiKey: number; minVersion: number; maxVersion: number }[];
}

export const apiVersions: KafkaApi<null, ApiVersionsResponse> = {
  apiKey: ApiKey.API_VERSIONS,
  name: 'ApiVersions',
  minVersion: 0,
  maxVersion: 2,
  decode: () => null,
  handle: async (_request, context) => ({ errorCode: KafkaErrorCode.NONE, apis: context.apis }),
  encode(writer, response, version) {
    writer.int16(response.errorCode);
    writer.array(response.apis, (w, api) => w.int16(api.apiKey).int16(api.minVersion).int16(api.maxVersion));
    if (version >= 1) writer.int32(0);
  },
};
