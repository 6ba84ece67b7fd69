import { describe, expect, it } from 'vitest';
import {
  ClusterKeys,
  decodeBrokerRecord,
  decodePartitionRecord,
  decodeTopicRecord,
  encodeRecord,
  type PartitionRecord,
} from '../../src/cluster/cluster-records.js';
import { placeRoundRobin } from '../../src/cluster/round-robin-placement.js';

const keys = new ClusterKeys('demo');

const partition: PartitionRecord = {
  topicId: 7,
  topic: 'orders',
  partition: 2,
  replicas: [3, 1, 2],
  leader: 3,
  leaderEpoch: 4,
  isr: [3, 1],
  leaderBrokerEpoch: 99,
};

describe('cluster keys and records in etcd', () => {
  it('given each kind of key, should parse back what it was built from', () => {
    expect(keys.parse(keys.broker(12))).toEqual({ kind: 'broker', brokerId: 12 });
    expect(keys.parse(keys.controller)).toEqual({ kind: 'controller' });
    expect(keys.parse(keys.topic('a.b-c_d'))).toEqual({ kind: 'topic', name: 'a.b-c_d' });
    expect(keys.parse(keys.partition(7, 2))).toEqual({ kind: 'partition', topicId: 7, partition: 2 });
    expect(keys.parse(keys.topicIdCounter)).toEqual({ kind: 'other' });
    expect(keys.parse('/pyralog/other/brokers/1')).toEqual({ kind: 'other' });
    expect(keys.parse(`${keys.root}brokers/x`)).toEqual({ kind: 'other' });
  });

  it('given a cluster name with a slash or nothing, should refuse it', () => {
    expect(() => new ClusterKeys('a/b')).toThrow(/cluster name/);
    expect(() => new ClusterKeys('')).toThrow(/cluster name/);
  });

  it('given a partition record, should decode what was encoded', () => {
    expect(decodePartitionRecord(encodeRecord(partition))).toEqual(partition);
  });

  it('given damaged or foreign values, should decode nothing rather than trust them', () => {
    expect(decodePartitionRecord('not json')).toBeUndefined();
    expect(decodePartitionRecord('[]')).toBeUndefined();
    expect(decodePartitionRecord(JSON.stringify({ ...partition, replicas: [1, 1] }))).toBeUndefined();
    expect(decodePartitionRecord(JSON.stringify({ ...partition, replicas: [] }))).toBeUndefined();
    expect(decodePartitionRecord(JSON.stringify({ ...partition, leader: -2 }))).toBeUndefined();
    expect(decodePartitionRecord(JSON.stringify({ ...partition, leaderEpoch: 1.5 }))).toBeUndefined();
    expect(decodeBrokerRecord(JSON.stringify({ brokerId: 1, host: 'h' }))).toBeUndefined();
    expect(
      decodeTopicRecord(JSON.stringify({ topicId: 1, name: 't', partitionCount: 0, replicationFactor: 1 })),
    ).toBeUndefined();
    expect(
      decodeTopicRecord(
        JSON.stringify({
          topicId: 1,
          name: 't',
          partitionCount: 1,
          replicationFactor: 1,
          config: { a: 'x', b: 2 },
        }),
      )?.config,
    ).toEqual({ a: 'x' });
  });

  it('given round-robin placement, should give each partition R distinct brokers and spread leaders evenly', () => {
    const placement = placeRoundRobin([5, 1, 3], 6, 2, { scatterWidth: 4, seed: 0 });
    expect(placement).toEqual([
      [1, 3],
      [3, 5],
      [5, 1],
      [1, 3],
      [3, 5],
      [5, 1],
    ]);
    expect(() => placeRoundRobin([1, 2], 1, 3, { scatterWidth: 4, seed: 0 })).toThrow(RangeError);
  });
});
