import { describe, expect, it } from 'vitest';
import { DEFAULT_TOPIC_CONFIG, validateTopicConfig } from '../../src/common/broker-config.js';
import { ConfigError } from '../../src/common/errors.js';
import { describeTopicConfig, topicConfigFromEntries } from '../../src/common/topic-config-table.js';
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

describe('the standard topic config table', () => {
  const required = [
    'cleanup.policy',
    'compression.type',
    'min.insync.replicas',
    'retention.ms',
    'retention.bytes',
    'segment.bytes',
    'segment.ms',
    'segment.index.bytes',
    'segment.jitter.ms',
    'max.message.bytes',
    'message.timestamp.type',
    'message.timestamp.before.max.ms',
    'message.timestamp.after.max.ms',
    'delete.retention.ms',
    'min.cleanable.dirty.ratio',
    'min.compaction.lag.ms',
    'max.compaction.lag.ms',
    'file.delete.delay.ms',
    'flush.messages',
    'flush.ms',
    'unclean.leader.election.enable',
    'message.downconversion.enable',
    'index.interval.bytes',
    'preallocate',
  ];

  it('given the default config, then every standard name is described with a doc and a valid default', () => {
    validateTopicConfig(DEFAULT_TOPIC_CONFIG);
    const described = describeTopicConfig(DEFAULT_TOPIC_CONFIG, DEFAULT_TOPIC_CONFIG);
    expect(described.map((entry) => entry.name).sort()).toEqual([...required].sort());
    for (const entry of described) {
      expect(entry.source).toBe('DEFAULT_CONFIG');
      expect(entry.doc.length).toBeGreaterThan(10);
      expect(entry.value).toBe(entry.defaultValue);
      // Every shown value parses back to itself.
      const parsed = topicConfigFromEntries([{ name: entry.name, value: entry.value }]);
      expect(describeTopicConfig({ ...DEFAULT_TOPIC_CONFIG, ...parsed }, DEFAULT_TOPIC_CONFIG)).toEqual(
        described,
      );
      if (!entry.applied) expect(entry.doc).toMatch(/Not applied by Pyralog/);
    }
  });

  it('given Kafka spellings of cleanup.policy, then they become one of three policies', () => {
    const policy = (value: string) =>
      topicConfigFromEntries([{ name: 'cleanup.policy', value }]).cleanupPolicy;
    expect(policy('delete')).toBe('delete');
    expect(policy('compact')).toBe('compact');
    expect(policy('compact,delete')).toBe('compact,delete');
    expect(policy('delete, compact')).toBe('compact,delete');
    expect(() => policy('shred')).toThrow(/cleanup.policy/);
    expect(() => policy('')).toThrow(/cleanup.policy/);
  });

  it('given an unknown name or a value of the wrong type, then a ConfigError names it', () => {
    expect(() => topicConfigFromEntries([{ name: 'log.cleaner.threads', value: '1' }])).toThrow(
      /log.cleaner.threads/,
    );
    expect(() => topicConfigFromEntries([{ name: 'preallocate', value: 'yes' }])).toThrow(/preallocate/);
    expect(() => topicConfigFromEntries([{ name: 'min.cleanable.dirty.ratio', value: 'half' }])).toThrow(
      /min.cleanable.dirty.ratio/,
    );
    expect(() => topicConfigFromEntries([{ name: 'flush.ms', value: '' }])).toThrow(/flush.ms/);
  });

  it('given values out of range or inconsistent, then validation names the setting', () => {
    const check = (name: string, value: string) => () =>
      validateTopicConfig({ ...DEFAULT_TOPIC_CONFIG, ...topicConfigFromEntries([{ name, value }]) }, '');
    expect(check('min.cleanable.dirty.ratio', '1.5')).toThrow(/min.cleanable.dirty.ratio/);
    expect(check('min.insync.replicas', '0')).toThrow(/min.insync.replicas/);
    expect(check('delete.retention.ms', '-5')).toThrow(/delete.retention.ms/);
    expect(check('max.compaction.lag.ms', '0')).toThrow(/max.compaction.lag.ms/);
    expect(() =>
      validateTopicConfig({ ...DEFAULT_TOPIC_CONFIG, minCompactionLagMs: 10, maxCompactionLagMs: 5 }, ''),
    ).toThrow(/min.compaction.lag.ms/);
    expect(check('flush.messages', '9223372036854775807')).not.toThrow();
  });

  it('given a value that differs from the broker default, then it is described as a topic override', () => {
    const config = { ...DEFAULT_TOPIC_CONFIG, cleanupPolicy: 'compact' as const, preallocate: true };
    const byName = new Map(describeTopicConfig(config, DEFAULT_TOPIC_CONFIG).map((e) => [e.name, e]));
    expect(byName.get('cleanup.policy')).toMatchObject({ value: 'compact', source: 'TOPIC_CONFIG' });
    expect(byName.get('preallocate')).toMatchObject({
      value: 'true',
      source: 'TOPIC_CONFIG',
      applied: false,
    });
    expect(byName.get('retention.ms')?.source).toBe('DEFAULT_CONFIG');
  });
});
