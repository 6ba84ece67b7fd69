import { KafkaErrorCode } from '../../common/kafka-error-code.js';
import { AclOperation, AclResourceType } from '../../security/acl.js';
import { ApiKey, describedVersions, type KafkaApi } from './api.js';
import { field, type MessageDescription, structs } from './message/description.js';
import { messageCodec } from './message/message-codec.js';
import { requestAllowed } from './request-authorization.js';
import { namesTooManyPartitions, REQUEST_LIMIT_ERROR } from './request-limits.js';

/**
 * ListOffsets (key 2), versions 1–7 (flexible from 6). timestamp -1 asks for
 * the log end offset (the high watermark), -2 for the log start offset, -3
 * (v7+, KIP-734) for the batch holding the greatest timestamp (its base
 * offset and that timestamp), and anything else for the first batch whose
 * timestamp is at or after it (time index). v0 (several old-style offsets
 * per partition) is not served: no client of this decade sends it. With
 * isolation level 1 (read_committed, v2+) latest is the last stable offset
 * and a timestamp lookup finds nothing at or past it; the leader epoch is -1
 * (unknown), as in Metadata.
 */
export const listOffsetsRequestDescription: MessageDescription = {
  name: 'ListOffsetsRequest',
  validVersions: '1-7',
  flexibleVersions: '6+',
  fields: [
    field('replicaId', 'int32', '0+'),
    field('isolationLevel', 'int8', '2+'),
    structs('topics', '0+', [
      field('name', 'string', '0+'),
      structs('partitions', '0+', [
        field('partitionIndex', 'int32', '0+'),
        field('currentLeaderEpoch', 'int32', '4+', { default: -1 }),
        field('timestampMs', 'int64', '0+'),
      ]),
    ]),
  ],
};

export const listOffsetsResponseDescription: MessageDescription = {
  name: 'ListOffsetsResponse',
  validVersions: '1-7',
  flexibleVersions: '6+',
  fields: [
    field('throttleTimeMs', 'int32', '2+'),
    structs('topics', '0+', [
      field('name', 'string', '0+'),
      structs('partitions', '0+', [
        field('partitionIndex', 'int32', '0+'),
        field('errorCode', 'int16', '0+'),
        field('timestampMs', 'int64', '1+', { default: -1 }),
        field('offset', 'int64', '1+', { default: -1 }),
        field('leaderEpoch', 'int32', '4+', { default: -1 }),
      ]),
    ]),
  ],
};

export interface ListOffsetsRequest {
  /** 0 read_uncommitted, 1 read_committed (v2+; 0 below). */
  isolationLevel?: number;
  topics: {
    name: string;
    partitions: { partitionIndex: number; currentLeaderEpoch: number; timestampMs: number }[];
  }[];
}

export interface ListOffsetsResponse {
  topics: {
    name: string;
    partitions: { partitionIndex: number; errorCode: number; timestampMs: number; offset: number }[];
  }[];
}

const request = messageCodec<ListOffsetsRequest>(listOffsetsRequestDescription);
const response = messageCodec<ListOffsetsResponse>(listOffsetsResponseDescription);

export const listOffsets: KafkaApi<ListOffsetsRequest, ListOffsetsResponse> = {
  apiKey: ApiKey.LIST_OFFSETS,
  name: 'ListOffsets',
  ...describedVersions(request, response),
  decode: request.decode,
  async handle(request, context) {
    const engine = context.deps.engine;
    const isolationLevel = request.isolationLevel === 1 ? 1 : 0;
    if (namesTooManyPartitions(request.topics, context)) {
      return {
        topics: request.topics.map((topic) => ({
          name: topic.name,
          partitions: topic.partitions.map((partition) => ({
            partitionIndex: partition.partitionIndex,
            errorCode: REQUEST_LIMIT_ERROR,
            timestampMs: -1,
            offset: -1,
          })),
        })),
      };
    }
    return {
      topics: await Promise.all(
        request.topics.map(async (topic) => {
          const allowed = requestAllowed(
            context,
            AclOperation.DESCRIBE,
            AclResourceType.TOPIC,
            topic.name,
            'ListOffsets',
          );
          return {
            name: topic.name,
            partitions: await Promise.all(
              topic.partitions.map(async (partition) => {
                if (!allowed) {
                  return {
                    partitionIndex: partition.partitionIndex,
                    errorCode: KafkaErrorCode.TOPIC_AUTHORIZATION_FAILED,
                    timestampMs: -1,
                    offset: -1,
                  };
                }
                const outcome = await engine.listOffsets(
                  topic.name,
                  partition.partitionIndex,
                  partition.timestampMs,
                  { currentLeaderEpoch: partition.currentLeaderEpoch, isolationLevel },
                );
                return {
                  partitionIndex: partition.partitionIndex,
                  errorCode: outcome.errorCode,
                  timestampMs: outcome.timestampMs,
                  offset: outcome.offset,
                };
              }),
            ),
          };
        }),
      ),
    };
  },
  encode: response.encode,
};
