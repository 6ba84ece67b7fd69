import { TOPIC_COMPRESSIONS, type TopicCompression, type TopicConfig } from '../../common/broker-config.js';
import { ConfigError } from '../../common/errors.js';

/**
 * Kafka's names for the topic settings Pyralog has, used by CreateTopics,
 * DescribeConfigs and the HTTP API, and the conversion to TopicConfig.
 */
export const topicConfigKeys = {
  'segment.bytes': 'segmentBytes',
  'segment.ms': 'segmentMs',
  'retention.bytes': 'retentionBytes',
  'retention.ms': 'retentionMs',
  'max.message.bytes': 'maxMessageBytes',
  'message.timestamp.type': 'timestampType',
  'message.timestamp.before.max.ms': 'timestampBeforeMaxMs',
  'message.timestamp.after.max.ms': 'timestampAfterMaxMs',
  'compression.type': 'compressionType',
} as const satisfies Record<string, keyof TopicConfig>;

export type TopicConfigKey = keyof typeof topicConfigKeys;

/** Turns Kafka-style `name → value` settings into a partial TopicConfig; throws ConfigError naming a bad one. */
export function topicConfigFromKafka(
  entries: readonly { name: string; value: string | null }[],
): Partial<TopicConfig> {
  const config: { -readonly [K in keyof TopicConfig]?: TopicConfig[K] } = {};
  for (const { name, value } of entries) {
    const field = topicConfigKeys[name as TopicConfigKey];
    if (field === undefined) throw new ConfigError(name, 'is not a topic setting this broker knows');
    if (value === null) continue;
    if (field === 'timestampType') {
      if (value !== 'CreateTime' && value !== 'LogAppendTime') {
        throw new ConfigError(name, `must be CreateTime or LogAppendTime, got "${value}"`);
      }
      config.timestampType = value;
    } else if (field === 'compressionType') {
      if (!TOPIC_COMPRESSIONS.includes(value as TopicCompression)) {
        throw new ConfigError(name, `must be one of ${TOPIC_COMPRESSIONS.join(', ')}, got "${value}"`);
      }
      config.compressionType = value as TopicCompression;
    } else {
      const parsed = Number(value);
      if (UNBOUNDED_MS_FIELDS.has(field) && /^\d+$/.test(value) && parsed >= Number.MAX_SAFE_INTEGER) {
        // Kafka's "no limit" is Long.MAX_VALUE, past what a number holds exactly: it means the same here.
        config[field] = Number.MAX_SAFE_INTEGER;
        continue;
      }
      if (!Number.isSafeInteger(parsed))
        throw new ConfigError(name, `must be a whole number, got "${value}"`);
      config[field] = parsed;
    }
  }
  return config;
}

/** The Kafka-style settings of a topic, for DescribeConfigs and the HTTP API. */
export function topicConfigToKafka(config: TopicConfig): { name: TopicConfigKey; value: string }[] {
  return (Object.keys(topicConfigKeys) as TopicConfigKey[]).map((name) => {
    const field = topicConfigKeys[name];
    const value = config[field];
    // "No limit" is shown as Kafka shows it, Long.MAX_VALUE.
    const unbounded = UNBOUNDED_MS_FIELDS.has(field) && value === Number.MAX_SAFE_INTEGER;
    return { name, value: unbounded ? LONG_MAX : String(value) };
  });
}

/** Millisecond settings whose Kafka default, Long.MAX_VALUE, means no limit. */
const UNBOUNDED_MS_FIELDS: ReadonlySet<keyof TopicConfig> = new Set([
  'timestampBeforeMaxMs',
  'timestampAfterMaxMs',
]);
const LONG_MAX = '9223372036854775807';
