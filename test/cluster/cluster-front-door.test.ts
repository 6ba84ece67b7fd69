import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterMetadata } from '../../src/cluster/cluster-metadata.js';
import type { PartitionRecord, TopicRecord } from '../../src/cluster/cluster-records.js';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import { ApiKey } from '../../src/protocol/kafka/api.js';
import {
  deleteTopicsRequestDescription,
  deleteTopicsResponseDescription,
} from '../../src/protocol/kafka/delete-topics.js';
import {
  findCoordinatorRequestDescription,
  findCoordinatorResponseDescription,
} from '../../src/protocol/kafka/find-coordinator.js';
import { messageCodec } from '../../src/protocol/kafka/message/message-codec.js';
import {
  metadataRequestDescription,
  metadataResponseDescription,
} from '../../src/protocol/kafka/metadata.js';
import type { KafkaReader, KafkaWriter } from '../../src/protocol/kafka/primitives.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { startKafkaListener } from '../../src/server/kafka-listener.js';
import { testFrontDoorDeps } from '../support/front-door-deps.js';
import { KafkaWire } from '../support/kafka-wire.js';
import { MemoryEngine } from '../support/memory-engine.js';

/**
 * The Kafka front door in cluster mode, over a fixed ClusterMetadata (no etcd): what Metadata, FindCoordinator
 * and Produce answer follows the control plane's view, and a single-node broker is unchanged.
 */

const topic: TopicRecord = {
  topicId: 5,
  name: 'orders',
  partitionCount: 2,
  replicationFactor: 3,
  config: {},
};
const offsets: TopicRecord = {
  topicId: 6,
  name: '__consumer_offsets',
  partitionCount: 1,
  replicationFactor: 3,
  config: {},
};
const partitions: PartitionRecord[] = [
  {
    topicId: 5,
    topic: 'orders',
    partition: 0,
    replicas: [1, 2, 3],
    leader: 1,
    leaderEpoch: 3,
    isr: [1, 2],
    leaderBrokerEpoch: 10,
  },
  {
    topicId: 5,
    topic: 'orders',
    partition: 1,
    replicas: [2, 3, 1],
    leader: -1,
    leaderEpoch: 7,
    isr: [2],
    leaderBrokerEpoch: -1,
  },
  {
    topicId: 6,
    topic: '__consumer_offsets',
    partition: 0,
    replicas: [2, 1, 3],
    leader: 2,
    leaderEpoch: 0,
    isr: [2, 1, 3],
    leaderBrokerEpoch: 11,
  },
];

const fixedCluster: ClusterMetadata = {
  localBrokerId: 1,
  liveBrokerEndpoints: () => [
    { brokerId: 1, host: '127.0.0.1', port: 19001 },
    { brokerId: 2, host: '127.0.0.1', port: 19002 },
  ],
  controllerId: () => 2,
  topic: (name) => [topic, offsets].find((t) => t.name === name),
  topics: () => [topic],
  partition: (topicId, partition) =>
    partitions.find((p) => p.topicId === topicId && p.partition === partition),
  isLeader: (name, partition) => name === 'orders' && partition === 0,
  createTopic: () => Promise.reject(new Error('not in this test')),
  alterTopicConfig: () => Promise.reject(new Error('not in this test')),
  addPartitions: () => Promise.reject(new Error('not in this test')),
  deleteTopic: async (name) => {
    deletedInEtcd.push(name);
    return topic;
  },
};
/** Topics DeleteTopics deleted from "etcd" (the fixed cluster above). */
const deletedInEtcd: string[] = [];

interface WireMetadata {
  brokers: { nodeId: number; host: string; port: number }[];
  controllerId: number;
  topics: {
    errorCode: number;
    name: string;
    partitions: {
      errorCode: number;
      partitionIndex: number;
      leaderId: number;
      leaderEpoch: number;
      replicaNodes: number[];
      isrNodes: number[];
      offlineReplicas: number[];
    }[];
  }[];
}

describe('Kafka front door in cluster mode (fixed control-plane view)', () => {
  let close: () => Promise<void> = async () => {};
  let engine: MemoryEngine;
  let port = 0;

  beforeAll(async () => {
    engine = new MemoryEngine();
    await engine.createTopic('orders', 2);
    const deps = { ...(await testFrontDoorDeps(engine)), cluster: fixedCluster };
    const listener = await startKafkaListener(deps);
    port = listener.port;
    close = async () => {
      await listener.close();
      await deps.groups.close();
    };
  });
  afterAll(() => close());

  async function ask<T>(
    apiKey: number,
    version: number,
    body: (w: KafkaWriter) => void,
    decode: (r: KafkaReader) => T,
  ): Promise<T> {
    const wire = await KafkaWire.open(port);
    try {
      wire.request(apiKey, version, 1, body);
      return decode((await wire.next())!.reader);
    } finally {
      wire.close();
    }
  }

  it('given Metadata, should list every live broker, the controller, and each partition as etcd has it', async () => {
    const request = messageCodec<unknown>(metadataRequestDescription);
    const response = messageCodec<WireMetadata>(metadataResponseDescription);
    const metadata = await ask(
      ApiKey.METADATA,
      8,
      (w) =>
        request.encode(
          w,
          {
            topics: null,
            allowAutoTopicCreation: false,
            includeClusterAuthorizedOperations: false,
            includeTopicAuthorizedOperations: false,
          },
          8,
        ),
      (r) => response.decode(r, 8),
    );
    expect(metadata.brokers.map((b) => [b.nodeId, b.port])).toEqual([
      [1, 19001],
      [2, 19002],
    ]);
    expect(metadata.controllerId).toBe(2);
    expect(metadata.topics.map((t) => t.name)).toEqual(['orders']);
    const [led, offline] = metadata.topics[0]!.partitions;
    expect(led).toMatchObject({
      errorCode: 0,
      leaderId: 1,
      leaderEpoch: 3,
      replicaNodes: [1, 2, 3],
      isrNodes: [1, 2],
      offlineReplicas: [3],
    });
    expect(offline).toMatchObject({
      errorCode: KafkaErrorCode.LEADER_NOT_AVAILABLE,
      leaderId: -1,
      leaderEpoch: 7,
    });
  });

  it('given FindCoordinator, should point at the leader of the group’s offsets partition', async () => {
    const request = messageCodec<unknown>(findCoordinatorRequestDescription);
    const response = messageCodec<{ errorCode: number; nodeId: number; port: number }>(
      findCoordinatorResponseDescription,
    );
    const found = await ask(
      ApiKey.FIND_COORDINATOR,
      2,
      (w) => request.encode(w, { key: 'my-group', keyType: 0, coordinatorKeys: [] }, 2),
      (r) => response.decode(r, 2),
    );
    expect(found).toMatchObject({ errorCode: 0, nodeId: 2, port: 19002 });
  });

  it('given a produce to a partition this broker does not lead, should answer NOT_LEADER_OR_FOLLOWER and append nothing', async () => {
    const produce = (partition: number) =>
      ask(
        ApiKey.PRODUCE,
        7,
        (w) => {
          w.nullableString(null).int16(1).int32(5000);
          w.int32(1)
            .string('orders')
            .int32(1)
            .int32(partition)
            .bytesField(buildRecordBatch([{ key: null, value: new Uint8Array([1]) }]));
        },
        (r) => {
          r.int32();
          r.string();
          r.int32();
          r.int32();
          return r.int16();
        },
      );
    expect(await produce(1)).toBe(KafkaErrorCode.NOT_LEADER_OR_FOLLOWER);
    expect(await produce(0)).toBe(KafkaErrorCode.NONE);
  });
  it('given DeleteTopics in cluster mode, should delete the topic from etcd (the watches remove the replicas) and refuse internal topics', async () => {
    const request = messageCodec<unknown>(deleteTopicsRequestDescription);
    const response = messageCodec<{ topics: { name: string; errorCode: number }[] }>(
      deleteTopicsResponseDescription,
    );
    const answer = await ask(
      ApiKey.DELETE_TOPICS,
      3,
      (w) => request.encode(w, { names: ['orders', '__consumer_offsets'], topics: [], timeoutMs: 1000 }, 3),
      (r) => response.decode(r, 3),
    );
    expect(answer.topics).toMatchObject([
      { name: 'orders', errorCode: KafkaErrorCode.NONE },
      { name: '__consumer_offsets', errorCode: KafkaErrorCode.POLICY_VIOLATION },
    ]);
    expect(deletedInEtcd).toEqual(['orders']);
    // The handler does not delete locally: this broker's watch does, as every other broker's.
    expect(engine.describeTopic('orders')).toBeDefined();
  });
});
