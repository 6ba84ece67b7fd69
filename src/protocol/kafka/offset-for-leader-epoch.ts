import { KafkaErrorCode } from '../../common/kafka-error-code.js';
import { AclOperation, AclResourceType } from '../../security/acl.js';
import { ApiKey, describedVersions, type KafkaApi } from './api.js';
import { field, type MessageDescription, structs } from './message/description.js';
import { messageCodec } from './message/message-codec.js';
import { clusterRequestAllowed, requestAllowed } from './request-authorization.js';
import { namesTooManyPartitions, REQUEST_LIMIT_ERROR } from './request-limits.js';

/**
 * OffsetForLeaderEpoch (key 23), versions 0–4 (flexible from 4). For each
 * partition, where the asked-for leader epoch ends in this broker's log,
 * with the largest epoch at or below it that the log knows (KIP-101, and
 * KIP-279's answer for an epoch the leader never had): a returning replica
 * truncates to it, a consumer (KIP-320) detects a log that diverged under
 * it. `current_leader_epoch` (v2+) is fenced as in Fetch (FENCED_LEADER_EPOCH
 * when older than the partition's, UNKNOWN_LEADER_EPOCH when newer); a
 * broker that is not the partition's leader answers NOT_LEADER_OR_FOLLOWER.
 * A consumer needs Describe on the topic; a follower (replica_id ≥ 0, v3+)
 * ClusterAction on the cluster, as in Kafka.
 */
export const offsetForLeaderEpochRequestDescription: MessageDescription = {
  name: 'OffsetForLeaderEpochRequest',
  validVersions: '0-4',
  flexibleVersions: '4+',
  fields: [
    field('replicaId', 'int32', '3+', { default: -2 }),
    structs('topics', '0+', [
      field('topic', 'string', '0+'),
      structs('partitions', '0+', [
        field('partition', 'int32', '0+'),
        field('currentLeaderEpoch', 'int32', '2+', { default: -1 }),
        field('leaderEpoch', 'int32', '0+'),
      ]),
    ]),
  ],
};

export const offsetForLeaderEpochResponseDescription: MessageDescription = {
  name: 'OffsetForLeaderEpochResponse',
  validVersions: '0-4',
  flexibleVersions: '4+',
  fields: [
    field('throttleTimeMs', 'int32', '2+'),
    structs('topics', '0+', [
      field('topic', 'string', '0+'),
      structs('partitions', '0+', [
        field('errorCode', 'int16', '0+'),
        field('partition', 'int32', '0+'),
        field('leaderEpoch', 'int32', '1+', { default: -1 }),
        field('endOffset', 'int64', '0+', { default: -1 }),
      ]),
    ]),
  ],
};

export interface OffsetForLeaderEpochRequest {
  replicaId: number;
  topics: {
    topic: string;
    partitions: { partition: number; currentLeaderEpoch: number; leaderEpoch: number }[];
  }[];
}

export interface EpochEndOffsetEntry {
  errorCode: number;
  partition: number;
  leaderEpoch: number;
  endOffset: number;
}

export interface OffsetForLeaderEpochResponse {
  topics: { topic: string; partitions: EpochEndOffsetEntry[] }[];
}

const request = messageCodec<OffsetForLeaderEpochRequest>(offsetForLeaderEpochRequestDescription);
const response = messageCodec<OffsetForLeaderEpochResponse>(offsetForLeaderEpochResponseDescription);

function failed(partition: number, errorCode: number): EpochEndOffsetEntry {
  return { errorCode, partition, leaderEpoch: -1, endOffset: -1 };
}

export const offsetForLeaderEpoch: KafkaApi<OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse> = {
  apiKey: ApiKey.OFFSET_FOR_LEADER_EPOCH,
  name: 'OffsetForLeaderEpoch',
  ...describedVersions(request, response),
  decode: request.decode,
  async handle(request, context) {
    const engine = context.deps.engine;
    if (namesTooManyPartitions(request.topics, context)) {
      return {
        topics: request.topics.map((topic) => ({
          topic: topic.topic,
          partitions: topic.partitions.map((p) => failed(p.partition, REQUEST_LIMIT_ERROR)),
        })),
      };
    }
    const fromReplica = request.replicaId >= 0;
    const replicaAllowed =
      !fromReplica || clusterRequestAllowed(context, AclOperation.CLUSTER_ACTION, 'OffsetForLeaderEpoch');
    return {
      topics: await Promise.all(
        request.topics.map(async (topic) => {
          const allowed =
            replicaAllowed &&
            (fromReplica ||
              requestAllowed(
                context,
                AclOperation.DESCRIBE,
                AclResourceType.TOPIC,
                topic.topic,
                'OffsetForLeaderEpoch',
              ));
          return {
            topic: topic.topic,
            partitions: await Promise.all(
              topic.partitions.map(async (p): Promise<EpochEndOffsetEntry> => {
                if (!allowed) {
                  return failed(
                    p.partition,
                    fromReplica
                      ? KafkaErrorCode.CLUSTER_AUTHORIZATION_FAILED
                      : KafkaErrorCode.TOPIC_AUTHORIZATION_FAILED,
                  );
                }
                if (engine.offsetForLeaderEpoch === undefined) {
                  return failed(p.partition, KafkaErrorCode.UNKNOWN_SERVER_ERROR);
                }
                const outcome = await engine.offsetForLeaderEpoch(
                  topic.topic,
                  p.partition,
                  // Below -1 is this broker's own question about its log (any role): not a client's to ask.
                  Math.max(-1, p.currentLeaderEpoch),
                  p.leaderEpoch,
                );
                return {
                  errorCode: outcome.errorCode,
                  partition: p.partition,
                  leaderEpoch: outcome.leaderEpoch,
                  endOffset: outcome.endOffset,
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
