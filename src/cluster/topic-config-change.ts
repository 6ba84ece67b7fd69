import { PyralogError } from '../common/errors.js';
import { KafkaErrorCode } from '../common/kafka-error-code.js';
import { type ClusterKeys, decodeTopicRecord, encodeRecord, type TopicRecord } from './cluster-records.js';
import type { EtcdClient } from './etcd/etcd-client.js';

/** Attempts before a config change gives up on a topic record that keeps changing under it. */
const ATTEMPTS_MAX = 8;

/**
 * Writes a topic's config (Kafka names → values: the settings that differ
 * from the broker defaults) into its etcd record, `topics/<name>`, by
 * compare-and-swap on the record's mod revision, so a change made at the
 * same time on another broker is re-read rather than overwritten. Every
 * broker's watch then applies it to its local replicas (cluster-join.ts).
 * Throws PyralogError UNKNOWN_TOPIC_OR_PARTITION when the topic is not in
 * etcd, REQUEST_TIMED_OUT when the record kept changing; etcd errors pass
 * through.
 */
export async function writeTopicConfig(
  client: EtcdClient,
  keys: ClusterKeys,
  name: string,
  config: Readonly<Record<string, string>>,
): Promise<TopicRecord> {
  const key = keys.topic(name);
  for (let attempt = 0; attempt < ATTEMPTS_MAX; attempt++) {
    const current = await client.get(key);
    const record = current === undefined ? undefined : decodeTopicRecord(current.value);
    if (current === undefined || record === undefined) {
      throw new PyralogError(KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${name} is not in etcd`);
    }
    const next: TopicRecord = { ...record, config: { ...config } };
    const result = await client.txn(
      [{ key, target: 'mod', revision: current.modRevision }],
      [{ put: { key, value: encodeRecord(next) } }],
    );
    if (result.succeeded) return next;
  }
  throw new PyralogError(
    KafkaErrorCode.REQUEST_TIMED_OUT,
    `the config of topic ${name} kept changing in etcd; retry`,
  );
}
