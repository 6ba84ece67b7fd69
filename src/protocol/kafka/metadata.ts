import { KafkaErrorCode } from '../../common/kafka-error-code.js';
import type { Engine } from '../../engine/engine-api.js';
import { ApiKey, type KafkaApi, NOT_FLEXIBLE } from './api.js';
import { ensureTopic } from './auto-create.js';
import { namesTooManyTopics, REQUEST_LIMIT_ERROR } from './request-limits.js';

/**
 * Metadata (key 3), versions 0–5. Grammar (non-flexible):
 *   Request:  topics [name STRING] (v0: an array, empty = all topics;
 *             v1+: NULLABLE, null = all, empty = none),
 *             allow_auto_topic_creation BOOLEAN (v4+)
 *   Response: throttle_time_ms INT32 (v3+),
 *             brokers [node_id INT32, host STRING, port INT32, rack NULLABLE_STRING (v1+)],
 *             cluster_id NULLABLE_STRING (v2+), controller_id INT32 (v1+),
 *             topics [error_code INT16, name STRING, is_internal BOOLEAN (v1+),
 *               partitions [error_code INT16, partition_index INT32, leader_id INT32,
 *                 replica_nodes [INT32], isr_nodes [INT32], offline_replicas [INT32] (v5+)]]
 * One broker: it is the controller and leads every partition, with itself as
 * the only replica. Host and port are the advertised ones.
 */
export interface MetadataRequest {
  /** null: every topic. */
  topics: string[] | null;
  allowAutoTopicCreation: boolean;
}

export interface MetadataTopic {
  errorCode: number;
  name: string;
  isInternal: boolean;
  partitionCount: number;
  /** Partitions offline after a storage failure (this broker listed as their offline replica); none when absent. */
  offlinePartitions?: readonly number[];
}

const NONE_OFFLINE: readonly number[] = [];

function offlineOf(engine: Engine, name: string, partitionCount: number): readonly number[] {
  if (engine.offlineReason === undefined) return NONE_OFFLINE;
  let offline: number[] | null = null;
  for (let partition = 0; partition < partitionCount; partition++) {
    if (engine.offlineReason(name, partition) === undefined) continue;
    offline ??= [];
    offline.push(partition);
  }
  return offline ?? NONE_OFFLINE;
}

export interface MetadataResponse {
  nodeId: number;
  host: string;
  port: number;
  topics: MetadataTopic[];
}

export const CLUSTER_ID = 'pyralog';

export const metadata: KafkaApi<MetadataRequest, MetadataResponse> = {
  apiKey: ApiKey.METADATA,
  name: 'Metadata',
  minVersion: 0,
  maxVersion: 5,
  firstFlexibleVersion: NOT_FLEXIBLE,
  decode(reader, version) {
    let topics = version === 0 ? reader.array((r) => r.string()) : reader.nullableArray((r) => r.string());
    if (version === 0 && topics !== null && topics.length === 0) topics = null;
    const allowAutoTopicCreation = version >= 4 ? reader.boolean() : true;
    return { topics, allowAutoTopicCreation };
  },
  async handle(request, context) {
    const { engine, config } = context.deps;
    let topics: MetadataTopic[];
    if (request.topics === null) {
      topics = engine.listTopics().map((topic) => ({
        errorCode: KafkaErrorCode.NONE,
        name: topic.name,
        isInternal: topic.name.startsWith('__'),
        partitionCount: topic.partitionCount,
        offlinePartitions: offlineOf(engine, topic.name, topic.partitionCount),
      }));
    } else if (namesTooManyTopics(request.topics.length, context)) {
      topics = request.topics.map((name) => ({
        errorCode: REQUEST_LIMIT_ERROR,
        name,
        isInternal: false,
        partitionCount: 0,
        offlinePartitions: NONE_OFFLINE,
      }));
    } else {
      // A name listed twice is answered once, as Kafka does: a request repeating one large topic
      // would otherwise make the response that many times its size.
      topics = await Promise.all(
        [...new Set(request.topics)].map(async (name) => {
          const code = await ensureTopic(context, name, request.allowAutoTopicCreation);
          const topic = engine.describeTopic(name);
          return {
            errorCode:
              topic === undefined ? code || KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION : KafkaErrorCode.NONE,
            name,
            isInternal: name.startsWith('__'),
            partitionCount: topic?.partitionCount ?? 0,
            offlinePartitions: offlineOf(engine, name, topic?.partitionCount ?? 0),
          };
        }),
      );
    }
    return { nodeId: config.nodeId, host: config.advertisedHost, port: config.advertisedPort, topics };
  },
  encode(writer, response, version) {
    if (version >= 3) writer.int32(0);
    writer.int32(1);
    writer.int32(response.nodeId).string(response.host).int32(response.port);
    if (version >= 1) writer.nullableString(null);
    if (version >= 2) writer.nullableString(CLUSTER_ID);
    if (version >= 1) writer.int32(response.nodeId);
    writer.array(response.topics, (w, topic) => {
      w.int16(topic.errorCode).string(topic.name);
      if (version >= 1) w.boolean(topic.isInternal);
      w.int32(topic.partitionCount);
      for (let partition = 0; partition < topic.partitionCount; partition++) {
        if (topic.offlinePartitions?.includes(partition) === true) {
          // The replica is offline: out of the ISR and listed in offline_replicas (v5+). The partition
          // keeps no error code and this broker as its leader, unlike Kafka's LEADER_NOT_AVAILABLE:
          // clients such as kafkajs fail a whole topic's metadata on a partition error, which would stop
          // its other partitions too. Requests to it are answered KAFKA_STORAGE_ERROR.
          w.int16(KafkaErrorCode.NONE).int32(partition).int32(response.nodeId);
          w.int32(1).int32(response.nodeId); // replica_nodes
          w.int32(0); // isr_nodes
          if (version >= 5) w.int32(1).int32(response.nodeId); // offline_replicas
          continue;
        }
        w.int16(KafkaErrorCode.NONE).int32(partition).int32(response.nodeId);
        w.int32(1).int32(response.nodeId); // replica_nodes
        w.int32(1).int32(response.nodeId); // isr_nodes
        if (version >= 5) w.int32(0); // offline_replicas
      }
    });
  },
};
