import { describe, expect, it } from 'vitest';
import { DEFAULT_TOPIC_CONFIG } from '../../src/common/broker-config.js';
import { ConfigError } from '../../src/common/errors.js';
import { topicConfigFromKafka, topicConfigToKafka } from '../../src/protocol/kafka/topic-config-keys.js';

describe('topic settings by Kafka name', () => {
  it('given compression.type and the timestamp windows, then they convert both ways', () => {
    expect(
      topicConfigFromKafka([
        { name: 'compression.type', value: 'zstd' },
        { name: 'message.timestamp.before.max.ms', value: '9223372036854775807' },
        { name: 'message.timestamp.after.max.ms', value: '60000' },
      ]),
    ).toEqual({
      compressionType: 'zstd',
      timestampBeforeMaxMs: Number.MAX_SAFE_INTEGER,
      timestampAfterMaxMs: 60_000,
    });
    const shown = new Map(topicConfigToKafka(DEFAULT_TOPIC_CONFIG).map((entry) => [entry.name, entry.value]));
    expect(shown.get('compression.type')).toBe('producer');
    expect(shown.get('message.timestamp.before.max.ms')).toBe('9223372036854775807');
    expect(shown.get('message.timestamp.after.max.ms')).toBe('3600000');
  });

  it('given an unknown codec or a window that is no number, then a ConfigError names the setting', () => {
    expect(() => topicConfigFromKafka([{ name: 'compression.type', value: 'brotli' }])).toThrow(ConfigError);
    expect(() =>
      topicConfigFromKafka([{ name: 'message.timestamp.after.max.ms', value: '1e3' }]),
    ).not.toThrow();
    expect(() => topicConfigFromKafka([{ name: 'message.timestamp.after.max.ms', value: 'soon' }])).toThrow(
      /message.timestamp.after.max.ms/,
    );
  });
});
