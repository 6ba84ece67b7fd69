import { PyralogError } from '../common/errors.js';
import { KafkaErrorCode } from '../common/kafka-error-code.js';
import { type ClusterKeys, decodeTopicRecord, encodeRecord, type TopicRecord } from './cluster-records.js';
import type { EtcdClient, TxnOp } from './etcd/etcd-client.js';
import type { BrokerId } from './partition-state.js';
import type { PlaceReplicas } from './round-robin-placement.js';
import { newPartitionPut } from './topic-creation.js';

/**
 * CreatePartitions in cluster mode (docs/cluster.md, Adding partitions): the
 * new partitions are placed over the live brokers by the topic's placement
 * (the same function and per-topic seed as at creation), then the topic
 * record's partition count and the new partition records are written in one
 * transaction that compares the topic record's mod revision, so two brokers
 * adding partitions at once make one change and the other is refused
 * (INVALID_PARTITIONS). Every broker's watch then creates its local replicas.
 */

/**
 * etcd refuses a transaction with more than 128 operations (--max-txn-ops): the topic record and the new
 * partitions go in one, so that the change is all or nothing.
 */
const PARTITIONS_ADDED_MAX = 100;

export async function addTopicPartitions(
  client: EtcdClient,
  keys: ClusterKeys,
  name: string,
  partitionCount: number,
  liveBrokers: ReadonlyMap<BrokerId, number>,
  place: PlaceReplicas,
  scatterWidth: number,
): Promise<TopicRecord> {
  const topicKey = keys.topic(name);
  const current = await client.get(topicKey);
  const topic = current === undefined ? undefined : decodeTopicRecord(current.value);
  if (current === undefined || topic === undefined) {
    throw new PyralogError(KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${name} is not in etcd`);
  }
  if (!Number.isSafeInteger(partitionCount) || partitionCount <= topic.partitionCount) {
    throw new PyralogError(
      KafkaErrorCode.INVALID_PARTITIONS,
      `topic has ${topic.partitionCount} partitions; the new count must be higher, not ${partitionCount}`,
    );
  }
  if (partitionCount - topic.partitionCount > PARTITIONS_ADDED_MAX) {
    throw new PyralogError(
      KafkaErrorCode.INVALID_PARTITIONS,
      `at most ${PARTITIONS_ADDED_MAX} partitions are added per request in cluster mode (one etcd transaction)`,
    );
  }
  const brokers = [...liveBrokers.keys()].sort((a, b) => a - b);
  if (topic.replicationFactor > brokers.length) {
    throw new PyralogError(
      KafkaErrorCode.INVALID_REPLICATION_FACTOR,
      `replication factor ${topic.replicationFactor} needs that many live brokers; ${brokers.length} are live`,
    );
  }
  const assignment = place(brokers, partitionCount, topic.replicationFactor, {
    scatterWidth,
    seed: topic.topicId,
  });
  const puts: TxnOp[] = [];
  for (let partition = topic.partitionCount; partition < partitionCount; partition++) {
    puts.push(newPartitionPut(keys, topic.topicId, name, partition, assignment[partition]!, liveBrokers));
  }
  const grown: TopicRecord = { ...topic, partitionCount };
  const committed = await client.txn(
    [{ key: topicKey, target: 'mod', revision: current.modRevision }],
    [{ put: { key: topicKey, value: encodeRecord(grown) } }, ...puts],
  );
  if (!committed.succeeded) throw changedMeanwhile(name);
  return grown;
}

function changedMeanwhile(name: string): PyralogError {
  return new PyralogError(
    KafkaErrorCode.INVALID_PARTITIONS,
    `topic ${name} changed in etcd while partitions were being added (another broker added some, or it was deleted); describe it and retry`,
  );
}
