import { KafkaErrorCode } from '../../common/kafka-error-code.js';
import type { Offset } from '../../common/offset.js';
import type { FetchPartitionRequest } from '../../engine/engine-api.js';
import { anyBatchInCodec, CompressionCodec } from '../../record/batch-header.js';
import { AclOperation, AclResourceType } from '../../security/acl.js';
import { ApiKey, describedVersions, type KafkaApi, type KafkaRequestContext } from './api.js';
import { field, type MessageDescription, structs, tagged } from './message/description.js';
import { messageCodec } from './message/message-codec.js';
import { accessOpen, clusterRequestAllowed, requestAllowed } from './request-authorization.js';
import { namesTooManyPartitions, REQUEST_LIMIT_ERROR } from './request-limits.js';

/** Fetch versions below this are answered UNSUPPORTED_COMPRESSION_TYPE instead of zstd batches (KIP-110). */
const FIRST_ZSTD_VERSION = 10;

/**
 * Fetch (key 1), versions 4–12 (flexible from 12). No fetch sessions: the
 * answer's session id is always 0, so every fetch is a full one, which
 * KIP-227 lets a broker choose (clients then keep sending full fetches);
 * forgotten topics only matter within a session. The long-poll (max_wait_ms,
 * min_bytes) is held by the shards. Records go to the socket as views of what
 * the shards returned, without a copy. One replica: current_leader_epoch,
 * last_fetched_epoch and the rack id are read and not used, the preferred
 * read replica is always -1 (this broker), and no diverging epoch, current
 * leader or snapshot id is ever sent. isolation_level 1 (read_committed)
 * returns data only below each partition's last stable offset, with the
 * aborted transactions that may have data in it (an empty list when none);
 * level 0 reads up to the high watermark and sends aborted_transactions null.
 */
export const fetchRequestDescription: MessageDescription = {
  name: 'FetchRequest',
  validVersions: '4-12',
  flexibleVersions: '12+',
  fields: [
    field('replicaId', 'int32', '0+'),
    field('maxWaitMs', 'int32', '0+'),
    field('minBytes', 'int32', '0+'),
    field('maxBytes', 'int32', '3+', { default: 0x7fffffff }),
    field('isolationLevel', 'int8', '4+'),
    field('sessionId', 'int32', '7+'),
    field('sessionEpoch', 'int32', '7+', { default: -1 }),
    structs('topics', '0+', [
      field('topic', 'string', '0+'),
      structs('partitions', '0+', [
        field('partition', 'int32', '0+'),
        field('currentLeaderEpoch', 'int32', '9+', { default: -1 }),
        field('fetchOffset', 'int64', '0+'),
        field('lastFetchedEpoch', 'int32', '12+', { default: -1 }),
        field('logStartOffset', 'int64', '5+', { default: -1 }),
        field('partitionMaxBytes', 'int32', '0+'),
      ]),
    ]),
    structs('forgottenTopicsData', '7+', [
      field('topic', 'string', '7+'),
      field('partitions', '[]int32', '7+'),
    ]),
    field('rackId', 'string', '11+'),
    tagged('clusterId', 'string', '12+', 0, { nullableVersions: '12+', default: null }),
  ],
};

export const fetchResponseDescription: MessageDescription = {
  name: 'FetchResponse',
  validVersions: '4-12',
  flexibleVersions: '12+',
  fields: [
    field('throttleTimeMs', 'int32', '1+'),
    field('errorCode', 'int16', '7+'),
    field('sessionId', 'int32', '7+'),
    structs('topics', '0+', [
      field('topic', 'string', '0+'),
      structs('partitions', '0+', [
        field('partition', 'int32', '0+'),
        field('errorCode', 'int16', '0+'),
        field('highWatermark', 'int64', '0+'),
        field('lastStableOffset', 'int64', '4+', { default: -1 }),
        field('logStartOffset', 'int64', '5+', { default: -1 }),
        tagged('divergingEpoch', 'struct', '12+', 0, {
          fields: [
            field('epoch', 'int32', '12+', { default: -1 }),
            field('endOffset', 'int64', '12+', { default: -1 }),
          ],
        }),
        tagged('currentLeader', 'struct', '12+', 1, {
          fields: [
            field('leaderId', 'int32', '12+', { default: -1 }),
            field('leaderEpoch', 'int32', '12+', { default: -1 }),
          ],
        }),
        tagged('snapshotId', 'struct', '12+', 2, {
          fields: [
            field('endOffset', 'int64', '12+', { default: -1 }),
            field('epoch', 'int32', '12+', { default: -1 }),
          ],
        }),
        structs(
          'abortedTransactions',
          '4+',
          [field('producerId', 'int64', '4+'), field('firstOffset', 'int64', '4+')],
          { nullableVersions: '4+', default: null },
        ),
        field('preferredReadReplica', 'int32', '11+', { default: -1 }),
        field('records', 'records', '0+', { nullableVersions: '0+' }),
      ]),
    ]),
  ],
};

export interface FetchRequestData {
  /** ≥0: a follower broker's id (it reads up to the log end); -1: a consumer. */
  replicaId: number;
  /** 0 read_uncommitted, 1 read_committed. */
  isolationLevel?: number;
  maxWaitMs: number;
  minBytes: number;
  maxBytes: number;
  topics: {
    topic: string;
    partitions: {
      partition: number;
      currentLeaderEpoch: number;
      fetchOffset: number;
      partitionMaxBytes: number;
    }[];
  }[];
}

export interface FetchPartitionData {
  partition: number;
  errorCode: number;
  highWatermark: number;
  lastStableOffset: number;
  logStartOffset: number;
  records: Uint8Array;
  /** null at isolation level 0 (as Kafka sends it). */
  abortedTransactions?: readonly { producerId: number; firstOffset: number }[] | null;
}

export interface FetchResponseData {
  topics: { topic: string; partitions: FetchPartitionData[] }[];
}

const request = messageCodec<FetchRequestData>(fetchRequestDescription);
const response = messageCodec<FetchResponseData>(fetchResponseDescription);

export const fetch: KafkaApi<FetchRequestData, FetchResponseData> = {
  apiKey: ApiKey.FETCH,
  name: 'Fetch',
  ...describedVersions(request, response),
  decode: request.decode,

  async handle(request, context) {
    const config = context.deps.config;
    if (namesTooManyPartitions(request.topics, context)) return refusedFetch(request);
    // A follower reads past the high watermark: only a principal allowed ClusterAction (a broker's
    // principal, or a super user) may fetch as a replica. Anyone else naming a replica id is refused
    // on every partition (audited) and nothing is read; the code is Kafka's for this case,
    // TOPIC_AUTHORIZATION_FAILED (KafkaApis answers a follower fetch without ClusterAction so).
    if (
      request.replicaId >= 0 &&
      !clusterRequestAllowed(context, AclOperation.CLUSTER_ACTION, 'Fetch (replica)')
    ) {
      return refusedFetch(request, () => KafkaErrorCode.TOPIC_AUTHORIZATION_FAILED);
    }
    // Read on each topic (a replica needs only ClusterAction, as in Kafka); a denied topic's
    // partitions are answered without being read.
    const denied = accessOpen(context) || request.replicaId >= 0 ? null : deniedTopics(request, context);
    if (denied !== null && denied.size === request.topics.length)
      return refusedFetch(request, () => KafkaErrorCode.TOPIC_AUTHORIZATION_FAILED);
    // Cluster mode: a consumer (replica id < 0) reads only from the leader; NOT_LEADER_OR_FOLLOWER sends it
    // to refresh metadata. Followers' fetches are the data path's.
    const cluster = request.replicaId < 0 ? context.deps.cluster : undefined;
    const notLed = (topic: string, partition: number): boolean =>
      cluster !== undefined && !cluster.isLeader(topic, partition);
    const partitions: FetchPartitionRequest[] = [];
    for (const topic of request.topics) {
      if (denied?.has(topic) === true) continue;
      for (const partition of topic.partitions) {
        if (notLed(topic.topic, partition.partition)) continue;
        partitions.push({
          topic: topic.topic,
          partition: partition.partition,
          offset: partition.fetchOffset as Offset,
          maxBytes: Math.max(0, Math.min(partition.partitionMaxBytes, config.fetchMaxBytes)),
          currentLeaderEpoch: partition.currentLeaderEpoch,
        });
      }
    }
    // The bytes this response may hold come from the connection's and the broker's budgets; when
    // those are short the fetch gets less (still the first batch whole), never more.
    const grantedBytes = context.responseBytes.grant(
      Math.max(
        1,
        Math.min(request.maxBytes <= 0 ? config.fetchMaxBytes : request.maxBytes, config.fetchMaxBytes),
      ),
    );
    for (const partition of partitions) partition.maxBytes = Math.min(partition.maxBytes, grantedBytes);
    const isolationLevel = request.isolationLevel === 1 ? 1 : 0;
    let outcome: Awaited<ReturnType<typeof context.deps.engine.fetch>>;
    // Checked above: a replica id that reached here belongs to a principal allowed ClusterAction.
    const replicaId = request.replicaId >= 0 ? request.replicaId : -1;
    try {
      outcome = await context.deps.engine.fetch({
        isolationLevel,
        partitions,
        maxWaitMs: Math.max(0, Math.min(request.maxWaitMs, config.maxWaitMsMax)),
        minBytes: Math.max(0, request.minBytes),
        maxBytes: grantedBytes,
        replicaId,
      });
    } finally {
      context.responseBytes.giveBack(grantedBytes);
    }
    const observer = context.deps.followerFetches;
    if (replicaId >= 0 && observer !== undefined) {
      for (let j = 0; j < partitions.length; j++) {
        const asked = partitions[j]!;
        const answered = outcome.partitions[j];
        if (answered !== undefined) {
          observer.onFollowerFetch(asked.topic, asked.partition, replicaId, asked.offset, answered);
        }
      }
    }
    let i = 0;
    return {
      topics: request.topics.map((topic) => ({
        topic: topic.topic,
        partitions: topic.partitions.map((partition) => {
          if (denied?.has(topic) === true) {
            return refusedPartition(partition.partition, KafkaErrorCode.TOPIC_AUTHORIZATION_FAILED);
          }
          if (notLed(topic.topic, partition.partition)) {
            return refusedPartition(partition.partition, KafkaErrorCode.NOT_LEADER_OR_FOLLOWER);
          }
          const result = outcome.partitions[i++];
          if (result === undefined) {
            return {
              partition: partition.partition,
              errorCode: KafkaErrorCode.UNKNOWN_SERVER_ERROR,
              highWatermark: -1,
              lastStableOffset: -1,
              logStartOffset: -1,
              records: new Uint8Array(0),
            };
          }
          if (
            context.apiVersion < FIRST_ZSTD_VERSION &&
            anyBatchInCodec(result.records, CompressionCodec.ZSTD)
          ) {
            // KIP-110: a client fetching below v10 cannot read zstd, so it gets this error instead.
            return {
              partition: partition.partition,
              ...result,
              errorCode: KafkaErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
              records: new Uint8Array(0),
              abortedTransactions: null,
            };
          }
          return {
            partition: partition.partition,
            ...result,
            abortedTransactions: isolationLevel === 1 ? result.abortedTransactions : null,
          };
        }),
      })),
    };
  },
  encode: response.encode,
};

/** A fetch every partition of which is refused (too many partitions: INVALID_REQUEST; or no Read). */
function refusedFetch(
  request: FetchRequestData,
  code: () => number = () => REQUEST_LIMIT_ERROR,
): FetchResponseData {
  return {
    topics: request.topics.map((topic) => ({
      topic: topic.topic,
      partitions: topic.partitions.map((partition) => refusedPartition(partition.partition, code())),
    })),
  };
}

const NO_RECORDS = new Uint8Array(0);

function refusedPartition(partition: number, errorCode: number): FetchPartitionData {
  return {
    partition,
    errorCode,
    highWatermark: -1,
    lastStableOffset: -1,
    logStartOffset: -1,
    records: NO_RECORDS,
  };
}

/** The topics of a fetch its principal may not Read (audited once per topic named). */
function deniedTopics(
  request: FetchRequestData,
  context: KafkaRequestContext,
): Set<FetchRequestData['topics'][number]> {
  const denied = new Set<FetchRequestData['topics'][number]>();
  for (const topic of request.topics) {
    if (!requestAllowed(context, AclOperation.READ, AclResourceType.TOPIC, topic.topic, 'Fetch'))
      denied.add(topic);
  }
  return denied;
}
