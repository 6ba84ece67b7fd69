import { KafkaErrorCode } from '../../common/kafka-error-code.js';
import { ApiKey, type KafkaApi } from './api.js';

/**
 * FindCoordinator (key 10), versions 0–2. Grammar (non-flexible):
 *   Request:  key STRING, key_type INT8 (v1+: 0 group, 1 transaction)
 *   Response: throttle_time_ms INT32 (v1+), error_code INT16,
 *             error_message NULLABLE_STRING (v1+), node_id INT32, host STRING, port INT32
 * This broker coordinates every group; transaction coordinators do not exist.
 */
export interface FindCoordinatorRequest {
  key: string;
  keyType: number;
}

export interface FindCoordinatorResponse {
  errorCode: number;
  errorMessage: string | null;
  nodeId: number;
  host: string;
  port: number;
}

export const findCoordinator: KafkaApi<FindCoordinatorRequest, FindCoordinatorResponse> = {
  apiKey: ApiKey.FIND_COORDINATOR,
  name: 'FindCoordinator',
  minVersion: 0,
  maxVersion: 2,
  decode(reader, version) {
    return { key: reader.string(), keyType: version >= 1 ? reader.int8() : 0 };
  },
  async handle(request, context) {
    const { config } = context.deps;
    if (request.keyType !== 0) {
      return {
        errorCode: KafkaErrorCode.COORDINATOR_NOT_AVAILABLE,
        errorMessage: 'transactions are not supported',
        nodeId: -1,
        host: '',
        port: -1,
      };
    }
    return {
      errorCode: KafkaErrorCode.NONE,
      errorMessage: null,
      nodeId: config.nodeId,
      host: config.advertisedHost,
      port: config.advertisedPort,
    };
  },
  encode(writer, response, version) {
    if (version >= 1) writer.int32(0);
    writer.int16(response.errorCode);
    if (version >= 1) writer.nullableString(response.errorMessage);
    writer.int32(response.nodeId).string(response.host).int32(response.port);
  },
};
