import { KafkaErrorCode } from '../../common/kafka-error-code.js';
import { AclOperation } from '../../security/acl.js';
import { ApiKey, describedVersions, type KafkaApi } from './api.js';
import { field, type MessageDescription, structs } from './message/description.js';
import { messageCodec } from './message/message-codec.js';
import { clusterRequestAllowed } from './request-authorization.js';
import { namesTooManyPartitions, REQUEST_LIMIT_ERROR } from './request-limits.js';

/**
 * ElectLeaders (key 43), versions 0–2 (flexible from 2). On a single node
 * every partition already has its only possible leader, this broker, so an
 * election is never needed: each named partition of a known topic answers
 * ELECTION_NOT_NEEDED, an unknown topic or a partition past the topic's count
 * UNKNOWN_TOPIC_OR_PARTITION. A null topic list (every partition) answers an
 * empty list with no error, as Kafka does when no partition needed an
 * election. The election type (v1+; 0 preferred, 1 unclean) changes nothing here.
 */
export const electLeadersRequestDescription: MessageDescription = {
  name: 'ElectLeadersRequest',
  validVersions: '0-2',
  flexibleVersions: '2+',
  fields: [
    field('electionType', 'int8', '1+'),
    structs(
      'topicPartitions',
      '0+',
      [field('topic', 'string', '0+'), field('partitionId', '[]int32', '0+')],
      {
        nullableVersions: '0+',
      },
    ),
    field('timeoutMs', 'int32', '0+', { default: 60000 }),
  ],
};

export const electLeadersResponseDescription: MessageDescription = {
  name: 'ElectLeadersResponse',
  validVersions: '0-2',
  flexibleVersions: '2+',
  fields: [
    field('throttleTimeMs', 'int32', '0+'),
    field('errorCode', 'int16', '1+'),
    structs('replicaElectionResults', '0+', [
      field('topic', 'string', '0+'),
      structs('partitionResult', '0+', [
        field('partitionId', 'int32', '0+'),
        field('errorCode', 'int16', '0+'),
        field('errorMessage', 'string', '0+', { nullableVersions: '0+' }),
      ]),
    ]),
  ],
};

export interface ElectLeadersRequest {
  electionType: number;
  topicPartitions: { topic: string; partitionId: number[] }[] | null;
  timeoutMs: number;
}

export interface ElectionResult {
  topic: string;
  partitionResult: { partitionId: number; errorCode: number; errorMessage: string | null }[];
}

export interface ElectLeadersResponse {
  errorCode: number;
  replicaElectionResults: ElectionResult[];
}

/** Kafka's ELECTION_NOT_NEEDED: the partition's leader is already the one an election would choose. */
export const ELECTION_NOT_NEEDED = 84;

const request = messageCodec<ElectLeadersRequest>(electLeadersRequestDescription);
const response = messageCodec<ElectLeadersResponse>(electLeadersResponseDescription);

export const electLeaders: KafkaApi<ElectLeadersRequest, ElectLeadersResponse> = {
  apiKey: ApiKey.ELECT_LEADERS,
  name: 'ElectLeaders',
  ...describedVersions(request, response),
  decode: request.decode,
  async handle(request, context) {
    if (!clusterRequestAllowed(context, AclOperation.ALTER, 'ElectLeaders')) {
      return { errorCode: KafkaErrorCode.CLUSTER_AUTHORIZATION_FAILED, replicaElectionResults: [] };
    }
    const named = request.topicPartitions;
    if (named === null) return { errorCode: KafkaErrorCode.NONE, replicaElectionResults: [] };
    const asPartitions = named.map((topic) => ({ partitions: topic.partitionId }));
    const tooMany = namesTooManyPartitions(asPartitions, context);
    const results = named.map((topic): ElectionResult => {
      const description = context.deps.engine.describeTopic(topic.topic);
      return {
        topic: topic.topic,
        partitionResult: topic.partitionId.map((partitionId) => {
          if (tooMany)
            return { partitionId, errorCode: REQUEST_LIMIT_ERROR, errorMessage: 'too many partitions' };
          if (description === undefined || partitionId < 0 || partitionId >= description.partitionCount) {
            return {
              partitionId,
              errorCode: KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
              errorMessage: 'unknown topic or partition',
            };
          }
          return {
            partitionId,
            errorCode: ELECTION_NOT_NEEDED,
            errorMessage: 'a single node leads every partition',
          };
        }),
      };
    });
    return { errorCode: KafkaErrorCode.NONE, replicaElectionResults: results };
  },
  encode: response.encode,
};
