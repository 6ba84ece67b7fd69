import { KafkaErrorCode } from '../../common/kafka-error-code.js';
import { AclOperation, AclResourceType } from '../../security/acl.js';
import { addClusterPartitions } from '../cluster-partitions.js';
import { ApiKey, describedVersions, type KafkaApi } from './api.js';
import { field, type MessageDescription, structs } from './message/description.js';
import { messageCodec } from './message/message-codec.js';
import { auditAdminChange, requestAllowed } from './request-authorization.js';
import { namesTooManyTopics, REQUEST_LIMIT_ERROR } from './request-limits.js';

/**
 * CreatePartitions (key 37), versions 0–3 (flexible from 2). Raises a topic's
 * partition count through the engine (persisted in the topic registry first,
 * then opened empty on the owning shards). Refused as Kafka refuses: an
 * unknown topic UNKNOWN_TOPIC_OR_PARTITION; a count not above the current one
 * or past max-partitions-per-topic INVALID_PARTITIONS; past the broker's
 * max-partitions-per-broker POLICY_VIOLATION; an assignment naming another
 * broker or more than one replica INVALID_REPLICA_ASSIGNMENT; a topic named
 * twice INVALID_REQUEST; an internal topic (`__consumer_offsets`, whose
 * groups are placed by a hash over its partition count) POLICY_VIOLATION. validate_only checks all of that and changes nothing.
 * Topics are applied one after another so the broker-wide cap counts the
 * partitions each earlier topic of the request added. In cluster mode a topic
 * in etcd grows there, its new partitions placed by the cluster
 * (cluster-partitions.ts); an explicit assignment is refused
 * INVALID_REPLICA_ASSIGNMENT.
 */
export const createPartitionsRequestDescription: MessageDescription = {
  name: 'CreatePartitionsRequest',
  validVersions: '0-3',
  flexibleVersions: '2+',
  fields: [
    structs('topics', '0+', [
      field('name', 'string', '0+'),
      field('count', 'int32', '0+'),
      structs('assignments', '0+', [field('brokerIds', '[]int32', '0+')], { nullableVersions: '0+' }),
    ]),
    field('timeoutMs', 'int32', '0+'),
    field('validateOnly', 'bool', '0+'),
  ],
};

export const createPartitionsResponseDescription: MessageDescription = {
  name: 'CreatePartitionsResponse',
  validVersions: '0-3',
  flexibleVersions: '2+',
  fields: [
    field('throttleTimeMs', 'int32', '0+'),
    structs('results', '0+', [
      field('name', 'string', '0+'),
      field('errorCode', 'int16', '0+'),
      field('errorMessage', 'string', '0+', { nullableVersions: '0+', default: null }),
    ]),
  ],
};

export interface CreatePartitionsRequest {
  topics: { name: string; count: number; assignments: { brokerIds: number[] }[] | null }[];
  timeoutMs: number;
  validateOnly: boolean;
}

export interface CreatePartitionsResult {
  name: string;
  errorCode: number;
  errorMessage: string | null;
}

export interface CreatePartitionsResponse {
  results: CreatePartitionsResult[];
}

/** Kafka's INVALID_REPLICA_ASSIGNMENT. */
const INVALID_REPLICA_ASSIGNMENT = 39;

const request = messageCodec<CreatePartitionsRequest>(createPartitionsRequestDescription);
const response = messageCodec<CreatePartitionsResponse>(createPartitionsResponseDescription);

export const createPartitions: KafkaApi<CreatePartitionsRequest, CreatePartitionsResponse> = {
  apiKey: ApiKey.CREATE_PARTITIONS,
  name: 'CreatePartitions',
  ...describedVersions(request, response),
  decode: request.decode,
  async handle(request, context) {
    const { engine, config } = context.deps;
    const fail = (name: string, errorCode: number, errorMessage: string): CreatePartitionsResult => ({
      name,
      errorCode,
      errorMessage,
    });
    if (namesTooManyTopics(request.topics.length, context)) {
      return {
        results: request.topics.map((t) =>
          fail(t.name, REQUEST_LIMIT_ERROR, `at most ${config.maxTopicsPerRequest} topics per request`),
        ),
      };
    }
    const counts = new Map<string, number>();
    for (const topic of request.topics) counts.set(topic.name, (counts.get(topic.name) ?? 0) + 1);
    let brokerPartitions = 0;
    for (const topic of engine.listTopics()) brokerPartitions += topic.partitionCount;
    const results: CreatePartitionsResult[] = [];
    for (const topic of request.topics) {
      const { name, count, assignments } = topic;
      if ((counts.get(name) ?? 0) > 1) {
        results.push(fail(name, KafkaErrorCode.INVALID_REQUEST, 'topic named more than once'));
        continue;
      }
      if (!requestAllowed(context, AclOperation.ALTER, AclResourceType.TOPIC, name, 'CreatePartitions')) {
        results.push(
          fail(name, KafkaErrorCode.TOPIC_AUTHORIZATION_FAILED, 'no Alter permission on the topic'),
        );
        continue;
      }
      // Cluster mode: a topic in etcd is grown there (any broker may be asked, a replica of it or not).
      const clusterTopic = context.deps.cluster?.topic(name);
      const current = clusterTopic ?? engine.describeTopic(name);
      if (current === undefined) {
        results.push(fail(name, KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'unknown topic'));
        continue;
      }
      if (name.startsWith('__')) {
        // Committed offsets are placed by a hash over the offsets topic's partition count: it must not change.
        results.push(
          fail(name, KafkaErrorCode.POLICY_VIOLATION, 'internal topics keep their partition count'),
        );
        continue;
      }
      if (count <= current.partitionCount) {
        results.push(
          fail(
            name,
            KafkaErrorCode.INVALID_PARTITIONS,
            `topic has ${current.partitionCount} partitions; the new count must be higher, not ${count}`,
          ),
        );
        continue;
      }
      if (count > config.maxPartitionsPerTopic) {
        results.push(
          fail(
            name,
            KafkaErrorCode.INVALID_PARTITIONS,
            `at most ${config.maxPartitionsPerTopic} partitions per topic (max-partitions-per-topic)`,
          ),
        );
        continue;
      }
      const added = count - current.partitionCount;
      if (brokerPartitions + added > config.maxPartitionsPerBroker) {
        results.push(
          fail(
            name,
            KafkaErrorCode.POLICY_VIOLATION,
            `at most ${config.maxPartitionsPerBroker} partitions per broker (max-partitions-per-broker)`,
          ),
        );
        continue;
      }
      if (clusterTopic !== undefined && assignments !== null) {
        results.push(
          fail(
            name,
            INVALID_REPLICA_ASSIGNMENT,
            'in cluster mode the new partitions are placed by the cluster (copysets); send no assignment',
          ),
        );
        continue;
      }
      if (assignments !== null) {
        const bad =
          assignments.length !== added ||
          assignments.some((a) => a.brokerIds.length !== 1 || a.brokerIds[0] !== config.nodeId);
        if (bad) {
          results.push(
            fail(
              name,
              INVALID_REPLICA_ASSIGNMENT,
              `a single node assigns each of the ${added} new partitions to broker ${config.nodeId} alone`,
            ),
          );
          continue;
        }
      }
      if (request.validateOnly) {
        results.push({ name, errorCode: KafkaErrorCode.NONE, errorMessage: null });
        continue;
      }
      if (clusterTopic !== undefined) {
        const grown = await addClusterPartitions(context.deps.cluster!, name, count);
        if (grown.errorCode === KafkaErrorCode.NONE) {
          auditAdminChange(context, 'create partitions', { topic: name, count });
        }
        results.push({ name, ...grown });
        continue;
      }
      const code = await engine.addPartitions(name, count);
      if (code === KafkaErrorCode.NONE) brokerPartitions += added;
      results.push({
        name,
        errorCode: code,
        errorMessage: code === KafkaErrorCode.NONE ? null : 'not added',
      });
    }
    return { results };
  },
  encode: response.encode,
};
