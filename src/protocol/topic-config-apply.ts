import type { ClusterMetadata } from '../cluster/cluster-metadata.js';
import type { TopicConfig } from '../common/broker-config.js';
import { KafkaErrorCode } from '../common/kafka-error-code.js';
import type { Engine } from '../engine/engine-api.js';
import { type ClusterChangeOutcome, clusterChange } from './cluster-change.js';
import { topicConfigToKafka } from './kafka/topic-config-keys.js';

/** A setting a request named (Kafka's name); `reset`: back to the default (a delete, or a null value). */
export interface NamedSetting {
  name: string;
  reset: boolean;
}

/**
 * Where a topic's new config goes, for every door (AlterConfigs,
 * IncrementalAlterConfigs, `POST /topics/:topic/config`). On a single node,
 * and for a topic that is not in etcd (a broker's own internal topic), it is
 * applied to this broker's engine. In cluster mode, for a topic in etcd, it is
 * written first into the topic's etcd record, from which every replica's
 * broker applies it (cluster-join.ts); this broker applies it at once too, so
 * an answer of NONE means etcd holds it and this broker's copy has it.
 *
 * etcd holds a topic's explicit settings, as Kafka keeps a topic's overrides:
 * an incremental change starts from those in etcd, a full replacement
 * (AlterConfigs) from none; each setting named is then set to its value in
 * `next`, or removed when reset. A setting named explicitly stays explicit
 * even when it equals this broker's default (min.insync.replicas, for one,
 * defaults differently in cluster mode).
 */
export async function applyTopicConfig(
  engine: Engine,
  cluster: ClusterMetadata | undefined,
  name: string,
  next: TopicConfig,
  named: readonly NamedSetting[],
  incremental: boolean,
): Promise<ClusterChangeOutcome> {
  const record = cluster?.topic(name);
  if (cluster !== undefined && record !== undefined) {
    const overrides: Record<string, string> = incremental ? { ...record.config } : {};
    const values = new Map(topicConfigToKafka(next).map((entry) => [entry.name, entry.value]));
    for (const setting of named) {
      const value = values.get(setting.name);
      if (setting.reset || value === undefined) delete overrides[setting.name];
      else overrides[setting.name] = value;
    }
    const changed = await clusterChange(() => cluster.alterTopicConfig(name, overrides));
    if (changed.errorCode !== KafkaErrorCode.NONE) return changed;
    // A broker holding no replica of the topic has nothing of it to change.
    if (engine.describeTopic(name) === undefined)
      return { errorCode: KafkaErrorCode.NONE, errorMessage: null };
  }
  const errorCode = await engine.alterTopicConfig(name, next);
  return { errorCode, errorMessage: errorCode === KafkaErrorCode.NONE ? null : 'not altered' };
}
