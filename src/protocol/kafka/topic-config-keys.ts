import type { TopicConfig } from '../../common/broker-config.js';
import { TOPIC_CONFIG_TABLE, topicConfigFromEntries } from '../../common/topic-config-table.js';

/**
 * Kafka's names for topic settings, used by CreateTopics, DescribeConfigs and
 * the HTTP API. The names, types, documentation and parsing live in one table,
 * src/common/topic-config-table.ts; this module keeps the door's small API.
 */
export const topicConfigKeys: Readonly<Record<string, keyof TopicConfig>> = Object.fromEntries(
  TOPIC_CONFIG_TABLE.map((spec) => [spec.name, spec.field]),
);

export type TopicConfigKey = string;

/** Turns Kafka-style `name → value` settings into a partial TopicConfig; throws ConfigError naming a bad one. */
export function topicConfigFromKafka(
  entries: readonly { name: string; value: string | null }[],
): Partial<TopicConfig> {
  return topicConfigFromEntries(entries);
}

/** The Kafka-style settings of a topic, for DescribeConfigs and the HTTP API. */
export function topicConfigToKafka(config: TopicConfig): { name: TopicConfigKey; value: string }[] {
  return TOPIC_CONFIG_TABLE.map((spec) => ({ name: spec.name, value: spec.format(config[spec.field]) }));
}
