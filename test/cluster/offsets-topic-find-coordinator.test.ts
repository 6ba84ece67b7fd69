import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterMetadata } from '../../src/cluster/cluster-metadata.js';
import type { PartitionRecord, TopicRecord } from '../../src/cluster/cluster-records.js';
import type { TopicCreation } from '../../src/cluster/topic-creation.js';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import { OFFSETS_TOPIC, offsetsPartitionFor } from '../../src/groups/offset-store.js';
import { CLUSTER_OFFSETS_PARTITIONS, offsetsTopicCreation } from '../../src/groups/offsets-topic.js';
import { ApiKey } from '../../src/protocol/kafka/api.js';
import {
  findCoordinatorRequestDescription,
  findCoordinatorResponseDescription,
} from '../../src/protocol/kafka/find-coordinator.js';
import { messageCodec } from '../../src/protocol/kafka/message/message-codec.js';
import { warnOfLocalOffsetsTopic } from '../../src/server/groups-wiring.js';
import { startKafkaListener } from '../../src/server/kafka-listener.js';
import { testFrontDoorDeps } from '../support/front-door-deps.js';
import { KafkaWire } from '../support/kafka-wire.js';
import { MemoryEngine } from '../support/memory-engine.js';

/**
 * FindCoordinator in cluster mode over a scripted control plane (no etcd):
 * the first question for a group creates `__consumer_offsets` in etcd
 * (replication factor min(3, live brokers), compacted) and is answered
 * COORDINATOR_NOT_AVAILABLE; once the topic exists each group, alone (v1) or
 * in a batch (v4), is answered the live leader of its partition, or
 * COORDINATOR_NOT_AVAILABLE while that partition has no live leader.
 */

const BROKERS = [
  { brokerId: 1, host: '127.0.0.1', port: 19001 },
  { brokerId: 2, host: '127.0.0.1', port: 19002 },
];

/** A control plane whose offsets topic appears when created: partition p led by broker 1 + p % 2, except 3 (offline). */
class ScriptedCluster implements ClusterMetadata {
  readonly localBrokerId = 1;
  readonly creations: TopicCreation[] = [];
  private offsets: TopicRecord | undefined;
  liveBrokerEndpoints() {
    return BROKERS;
  }
  controllerId() {
    return 1;
  }
  topic(name: string): TopicRecord | undefined {
    return name === OFFSETS_TOPIC ? this.offsets : undefined;
  }
  topics(): TopicRecord[] {
    return this.offsets === undefined ? [] : [this.offsets];
  }
  partition(topicId: number, partition: number): PartitionRecord | undefined {
    if (this.offsets === undefined || topicId !== this.offsets.topicId) return undefined;
    const leader = partition === 3 ? -1 : 1 + (partition % 2);
    return {
      topicId,
      topic: OFFSETS_TOPIC,
      partition,
      replicas: [1, 2],
      leader,
      leaderEpoch: 0,
      isr: [1, 2],
      leaderBrokerEpoch: 1,
    };
  }
  isLeader(): boolean {
    return false;
  }
  alterTopicConfig(): Promise<TopicRecord> {
    return Promise.reject(new Error('not in this test'));
  }
  addPartitions(): Promise<TopicRecord> {
    return Promise.reject(new Error('not in this test'));
  }
  deleteTopic(): Promise<TopicRecord> {
    return Promise.reject(new Error('not in this test'));
  }
  async createTopic(creation: TopicCreation): Promise<TopicRecord> {
    this.creations.push(creation);
    this.offsets = {
      topicId: 9,
      name: creation.name,
      partitionCount: creation.partitionCount,
      replicationFactor: creation.replicationFactor,
      config: creation.config,
    };
    return this.offsets;
  }
}

interface Found {
  errorCode: number;
  nodeId: number;
  port: number;
  coordinators: { key: string; errorCode: number; nodeId: number; port: number }[];
}

const request = messageCodec<unknown>(findCoordinatorRequestDescription);
const response = messageCodec<Found>(findCoordinatorResponseDescription);

/** A group id hashing to `partition` of the offsets topic. */
function groupOn(partition: number): string {
  for (let i = 0; ; i++) {
    if (offsetsPartitionFor(`g${i}`, CLUSTER_OFFSETS_PARTITIONS) === partition) return `g${i}`;
  }
}

describe('FindCoordinator in cluster mode and the offsets topic', () => {
  const cluster = new ScriptedCluster();
  let port = 0;
  let close: () => Promise<void> = async () => {};

  beforeAll(async () => {
    const engine = new MemoryEngine();
    const deps = { ...(await testFrontDoorDeps(engine)), cluster };
    const listener = await startKafkaListener(deps);
    port = listener.port;
    close = async () => {
      await listener.close();
      await deps.groups.close();
    };
  });
  afterAll(() => close());

  /** FindCoordinator at `version`; from v3 (flexible) the headers carry their empty tagged fields. */
  async function find(version: number, key: string, keys: string[] = []): Promise<Found> {
    const flexible = version >= 3;
    const wire = await KafkaWire.open(port);
    try {
      wire.request(ApiKey.FIND_COORDINATOR, version, 1, (w) => {
        if (flexible) w.uvarint(0);
        request.encode(w, { key, keyType: 0, coordinatorKeys: keys }, version);
      });
      const reader = (await wire.next())!.reader;
      if (flexible) reader.taggedFields(null);
      return response.decode(reader, version);
    } finally {
      wire.close();
    }
  }

  it('given no offsets topic in etcd, should create it once (min(3, live) replicas, compacted) and answer COORDINATOR_NOT_AVAILABLE meanwhile', async () => {
    const first = await find(1, groupOn(0));
    expect(first).toMatchObject({ errorCode: KafkaErrorCode.COORDINATOR_NOT_AVAILABLE, nodeId: -1 });
    expect(cluster.creations).toHaveLength(1);
    expect(cluster.creations[0]).toEqual(offsetsTopicCreation(3, 2));
    expect(cluster.creations[0]).toMatchObject({
      name: OFFSETS_TOPIC,
      partitionCount: CLUSTER_OFFSETS_PARTITIONS,
      replicationFactor: 2,
      config: { 'cleanup.policy': 'compact', 'min.insync.replicas': '1' },
    });
  });

  it('given the offsets topic, should answer the leader of each group’s partition, singly and batched, and COORDINATOR_NOT_AVAILABLE for an offline one', async () => {
    expect(await find(1, groupOn(0))).toMatchObject({ errorCode: 0, nodeId: 1, port: 19001 });
    expect(await find(3, groupOn(1))).toMatchObject({ errorCode: 0, nodeId: 2, port: 19002 });
    const batched = await find(4, '', [groupOn(0), groupOn(1), groupOn(3)]);
    expect(batched.coordinators).toMatchObject([
      { key: groupOn(0), errorCode: 0, nodeId: 1, port: 19001 },
      { key: groupOn(1), errorCode: 0, nodeId: 2, port: 19002 },
      { key: groupOn(3), errorCode: KafkaErrorCode.COORDINATOR_NOT_AVAILABLE, nodeId: -1 },
    ]);
    expect(cluster.creations).toHaveLength(1);
  });

  it('given three or more replicas, should ask two in sync; fewer, one', () => {
    expect(offsetsTopicCreation(3, 5)).toMatchObject({
      replicationFactor: 3,
      config: { 'min.insync.replicas': '2' },
    });
    expect(offsetsTopicCreation(3, 1)).toMatchObject({
      replicationFactor: 1,
      config: { 'min.insync.replicas': '1' },
    });
    expect(offsetsTopicCreation(5, 4)).toMatchObject({
      replicationFactor: 4,
      config: { 'min.insync.replicas': '2' },
    });
  });

  it('given a data directory holding a local offsets topic of another partition count, should warn once at start; of the cluster count or none, should not', async () => {
    const warnings: string[] = [];
    const logger = { warn: (_details: object, message: string) => warnings.push(message) } as never;
    const fresh = new MemoryEngine();
    warnOfLocalOffsetsTopic(fresh, logger);
    await fresh.createTopic(OFFSETS_TOPIC, CLUSTER_OFFSETS_PARTITIONS);
    warnOfLocalOffsetsTopic(fresh, logger);
    expect(warnings).toEqual([]);
    const old = new MemoryEngine();
    await old.createTopic(OFFSETS_TOPIC, 1);
    warnOfLocalOffsetsTopic(old, logger);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('fresh data directory');
  });
});
