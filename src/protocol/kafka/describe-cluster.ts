import { KafkaErrorCode } from '../../common/kafka-error-code.js';
import { AclOperation, AclResourceType, CLUSTER_RESOURCE_NAME } from '../../security/acl.js';
import { ApiKey, describedVersions, type KafkaApi } from './api.js';
import { field, type MessageDescription, structs } from './message/description.js';
import { messageCodec } from './message/message-codec.js';
import { CLUSTER_ID } from './metadata.js';
import { clusterRequestAllowed, requestAuthorizedOperations } from './request-authorization.js';

/**
 * DescribeCluster (key 60), versions 0–1 (flexible from 0). A single node is
 * its own cluster and its own controller: the answer names this broker (its
 * advertised host and port), the cluster id Metadata gives, and the broker as
 * controller. v1's endpoint type 2 (controllers) is answered with
 * UNSUPPORTED_ENDPOINT_TYPE, as a broker does. Authorized operations: when
 * asked for, the cluster operations the principal's ACLs allow; else Kafka's
 * "not requested" value.
 */
export const describeClusterRequestDescription: MessageDescription = {
  name: 'DescribeClusterRequest',
  validVersions: '0-1',
  flexibleVersions: '0+',
  fields: [
    field('includeClusterAuthorizedOperations', 'bool', '0+'),
    field('endpointType', 'int8', '1+', { default: 1 }),
  ],
};

export const describeClusterResponseDescription: MessageDescription = {
  name: 'DescribeClusterResponse',
  validVersions: '0-1',
  flexibleVersions: '0+',
  fields: [
    field('throttleTimeMs', 'int32', '0+'),
    field('errorCode', 'int16', '0+'),
    field('errorMessage', 'string', '0+', { nullableVersions: '0+', default: null }),
    field('endpointType', 'int8', '1+', { default: 1 }),
    field('clusterId', 'string', '0+'),
    field('controllerId', 'int32', '0+', { default: -1 }),
    structs('brokers', '0+', [
      field('brokerId', 'int32', '0+'),
      field('host', 'string', '0+'),
      field('port', 'int32', '0+'),
      field('rack', 'string', '0+', { nullableVersions: '0+', default: null }),
    ]),
    field('clusterAuthorizedOperations', 'int32', '0+', { default: -2147483648 }),
  ],
};

export interface DescribeClusterRequest {
  includeClusterAuthorizedOperations: boolean;
  /** 1: brokers, 2: controllers (v1+). */
  endpointType: number;
}

export interface DescribeClusterResponse {
  errorCode: number;
  errorMessage: string | null;
  endpointType: number;
  clusterId: string;
  controllerId: number;
  brokers: { brokerId: number; host: string; port: number; rack: string | null }[];
  /** Kafka's authorized operations bit set on the cluster, when asked for. */
  clusterAuthorizedOperations?: number;
}

/** Kafka's UNSUPPORTED_ENDPOINT_TYPE (KIP-919). */
const UNSUPPORTED_ENDPOINT_TYPE = 119;
const ENDPOINT_BROKERS = 1;

const request = messageCodec<DescribeClusterRequest>(describeClusterRequestDescription);
const response = messageCodec<DescribeClusterResponse>(describeClusterResponseDescription);

export const describeCluster: KafkaApi<DescribeClusterRequest, DescribeClusterResponse> = {
  apiKey: ApiKey.DESCRIBE_CLUSTER,
  name: 'DescribeCluster',
  ...describedVersions(request, response),
  decode: request.decode,
  async handle(request, context) {
    const { config } = context.deps;
    if (!clusterRequestAllowed(context, AclOperation.DESCRIBE, 'DescribeCluster')) {
      return {
        errorCode: KafkaErrorCode.CLUSTER_AUTHORIZATION_FAILED,
        errorMessage: null,
        endpointType: request.endpointType,
        clusterId: CLUSTER_ID,
        controllerId: -1,
        brokers: [],
      };
    }
    if (request.endpointType !== ENDPOINT_BROKERS) {
      return {
        errorCode: UNSUPPORTED_ENDPOINT_TYPE,
        errorMessage: 'this broker describes brokers only (endpoint type 1)',
        endpointType: request.endpointType,
        clusterId: CLUSTER_ID,
        controllerId: -1,
        brokers: [],
      };
    }
    return {
      errorCode: KafkaErrorCode.NONE,
      errorMessage: null,
      endpointType: ENDPOINT_BROKERS,
      clusterId: CLUSTER_ID,
      controllerId: config.nodeId,
      brokers: [
        { brokerId: config.nodeId, host: config.advertisedHost, port: config.advertisedPort, rack: null },
      ],
      ...(request.includeClusterAuthorizedOperations
        ? {
            clusterAuthorizedOperations: requestAuthorizedOperations(
              context,
              AclResourceType.CLUSTER,
              CLUSTER_RESOURCE_NAME,
            ),
          }
        : {}),
    };
  },
  encode: response.encode,
};
