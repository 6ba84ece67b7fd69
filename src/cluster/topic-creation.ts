import { PyralogError } from '../common/errors.js';
import { KafkaErrorCode } from '../common/kafka-error-code.js';
import { type ClusterKeys, encodeRecord, type PartitionRecord, type TopicRecord } from './cluster-records.js';
import type { EtcdClient, TxnOp } from './etcd/etcd-client.js';
import type { BrokerId } from './partition-state.js';
import type { PlaceReplicas } from './round-robin-placement.js';

/**
 * Creating a topic in etcd (docs/cluster.md, Topic creation): a cluster-wide
 * topic id from the `ids/topic` counter, replicas placed over the live
 * brokers, then `topics/<name>` and the partition records written so that two
 * brokers creating the same name at once make one topic.
 */

/** etcd refuses a transaction with more than 128 operations (--max-txn-ops); partitions go in chunks below it. */
const PARTITIONS_PER_TXN = 100;
const COUNTER_ATTEMPTS_MAX = 20;
const TOPIC_NAME = /^[A-Za-z0-9._-]{1,249}$/;

export interface TopicCreation {
  name: string;
  partitionCount: number;
  replicationFactor: number;
  config: Record<string, string>;
}

/** Takes the next topic id from the counter by compare-and-swap (retried when another broker took one). */
/**
 * The etcd write of a new partition: its first replica leads at epoch 0 (with
 * that broker's epoch from `liveBrokers`), and every replica is in the ISR.
 */
export function newPartitionPut(
  keys: ClusterKeys,
  topicId: number,
  topic: string,
  partition: number,
  replicas: BrokerId[],
  liveBrokers: ReadonlyMap<BrokerId, number>,
): TxnOp {
  const leader = replicas[0]!;
  const record: PartitionRecord = {
    topicId,
    topic,
    partition,
    replicas,
    leader,
    leaderEpoch: 0,
    isr: replicas,
    leaderBrokerEpoch: liveBrokers.get(leader)!,
  };
  return { put: { key: keys.partition(topicId, partition), value: encodeRecord(record) } };
}

export async function nextTopicId(client: EtcdClient, keys: ClusterKeys): Promise<number> {
  for (let attempt = 0; attempt < COUNTER_ATTEMPTS_MAX; attempt++) {
    const current = await client.get(keys.topicIdCounter);
    const last = current === undefined ? 0 : Number(current.value);
    if (!Number.isSafeInteger(last) || last < 0) {
      throw new Error(`${keys.topicIdCounter} holds ${JSON.stringify(current?.value)}, not a topic id`);
    }
    const next = last + 1;
    const result = await client.txn(
      [
        current === undefined
          ? { key: keys.topicIdCounter, target: 'create', revision: 0 }
          : { key: keys.topicIdCounter, target: 'mod', revision: current.modRevision },
      ],
      [{ put: { key: keys.topicIdCounter, value: String(next) } }],
    );
    if (result.succeeded) return next;
  }
  throw new PyralogError(KafkaErrorCode.REQUEST_TIMED_OUT, 'could not take a topic id: too much contention');
}

/**
 * Writes a new topic. `liveBrokers` with their epochs (each partition's first replica leads at epoch 0).
 * Throws PyralogError with TOPIC_ALREADY_EXISTS, INVALID_REPLICATION_FACTOR, INVALID_PARTITIONS or
 * INVALID_TOPIC_EXCEPTION; etcd errors pass through.
 */
export async function createTopicRecords(
  client: EtcdClient,
  keys: ClusterKeys,
  creation: TopicCreation,
  liveBrokers: ReadonlyMap<BrokerId, number>,
  place: PlaceReplicas,
  scatterWidth: number,
): Promise<TopicRecord> {
  const { name, partitionCount, replicationFactor } = creation;
  if (!TOPIC_NAME.test(name) || name === '.' || name === '..') {
    throw new PyralogError(
      KafkaErrorCode.INVALID_TOPIC_EXCEPTION,
      `invalid topic name ${JSON.stringify(name)}`,
    );
  }
  if (!Number.isSafeInteger(partitionCount) || partitionCount < 1) {
    throw new PyralogError(
      KafkaErrorCode.INVALID_PARTITIONS,
      `partition count must be at least 1, not ${partitionCount}`,
    );
  }
  const brokers = [...liveBrokers.keys()].sort((a, b) => a - b);
  if (
    !Number.isSafeInteger(replicationFactor) ||
    replicationFactor < 1 ||
    replicationFactor > brokers.length
  ) {
    throw new PyralogError(
      KafkaErrorCode.INVALID_REPLICATION_FACTOR,
      `replication factor ${replicationFactor} needs between 1 and the ${brokers.length} live brokers`,
    );
  }
  const existing = await client.get(keys.topic(name));
  if (existing !== undefined) {
    throw new PyralogError(KafkaErrorCode.TOPIC_ALREADY_EXISTS, `topic ${name} already exists`);
  }
  const topicId = await nextTopicId(client, keys);
  const assignment = place(brokers, partitionCount, replicationFactor, { scatterWidth, seed: topicId });
  const topic: TopicRecord = { topicId, name, partitionCount, replicationFactor, config: creation.config };
  const puts: TxnOp[] = assignment.map((replicas, partition) =>
    newPartitionPut(keys, topicId, name, partition, replicas, liveBrokers),
  );
  const topicKey = keys.topic(name);
  const first = await client.txn(
    [{ key: topicKey, target: 'create', revision: 0 }],
    [{ put: { key: topicKey, value: encodeRecord(topic) } }, ...puts.slice(0, PARTITIONS_PER_TXN)],
  );
  if (!first.succeeded)
    throw new PyralogError(KafkaErrorCode.TOPIC_ALREADY_EXISTS, `topic ${name} already exists`);
  for (let start = PARTITIONS_PER_TXN; start < puts.length; start += PARTITIONS_PER_TXN) {
    // Only while the topic is still the one created above (not deleted and created again meanwhile).
    await client.txn(
      [{ key: topicKey, target: 'create', revision: first.revision }],
      puts.slice(start, start + PARTITIONS_PER_TXN),
    );
  }
  return topic;
}
