import {
  CLEANUP_POLICIES,
  type CleanupPolicy,
  TOPIC_COMPRESSIONS,
  type TopicCompression,
  type TopicConfig,
} from './broker-config.js';
import { ConfigError } from './errors.js';

/**
 * Kafka's standard topic settings, as data: each name with its TopicConfig
 * field, type, documentation, and whether Pyralog acts on it. The Kafka door
 * (CreateTopics, DescribeConfigs, later AlterConfigs), the HTTP API and the
 * CLI all convert through this one table.
 *
 * A name not in the table is refused (INVALID_CONFIG on the Kafka door). A
 * value that does not parse is refused with a ConfigError naming the setting;
 * ranges and relations between settings are checked by validateTopicConfig.
 * A setting with `applied: false` is accepted, stored in the topic registry
 * and shown, and its documentation string starts with "Not applied by
 * Pyralog" and says why.
 */
export type TopicConfigType = 'boolean' | 'string' | 'int' | 'long' | 'double' | 'list';

export interface TopicConfigSpec {
  readonly name: string;
  readonly field: keyof TopicConfig;
  readonly type: TopicConfigType;
  readonly doc: string;
  /** False: accepted, stored and reported, but the broker does not act on it (doc says why). */
  readonly applied: boolean;
  readonly readOnly: boolean;
  readonly sensitive: boolean;
  /** Parses a Kafka-style string value; throws ConfigError naming the setting. */
  parse(value: string): TopicConfig[keyof TopicConfig];
  /** The value as Kafka shows it (Long.MAX_VALUE for "no limit"). */
  format(value: TopicConfig[keyof TopicConfig]): string;
}

const LONG_MAX = '9223372036854775807';

function wholeNumber(name: string, unboundedAtLongMax: boolean) {
  return (value: string): number => {
    const parsed = Number(value.trim());
    // Kafka's "no limit" is Long.MAX_VALUE, past what a number holds exactly: it means the same here.
    if (unboundedAtLongMax && /^\d+$/.test(value.trim()) && parsed >= Number.MAX_SAFE_INTEGER) {
      return Number.MAX_SAFE_INTEGER;
    }
    if (value.trim() === '' || !Number.isSafeInteger(parsed)) {
      throw new ConfigError(name, `must be a whole number, got "${value}"`);
    }
    return parsed;
  };
}

function formatNumber(unboundedAtLongMax: boolean) {
  return (value: TopicConfig[keyof TopicConfig]): string =>
    unboundedAtLongMax && value === Number.MAX_SAFE_INTEGER ? LONG_MAX : String(value);
}

function numberSpec(
  name: string,
  field: keyof TopicConfig,
  type: 'int' | 'long',
  applied: boolean,
  doc: string,
  unboundedAtLongMax = false,
): TopicConfigSpec {
  return {
    name,
    field,
    type,
    doc,
    applied,
    readOnly: false,
    sensitive: false,
    parse: wholeNumber(name, unboundedAtLongMax),
    format: formatNumber(unboundedAtLongMax),
  };
}

function booleanSpec(name: string, field: keyof TopicConfig, applied: boolean, doc: string): TopicConfigSpec {
  return {
    name,
    field,
    type: 'boolean',
    doc,
    applied,
    readOnly: false,
    sensitive: false,
    parse(value) {
      const lower = value.trim().toLowerCase();
      if (lower !== 'true' && lower !== 'false') {
        throw new ConfigError(name, `must be true or false, got "${value}"`);
      }
      return lower === 'true';
    },
    format: (value) => String(value),
  };
}

/** Kafka takes cleanup.policy as a list in any order; Pyralog keeps one of three spellings. */
function parseCleanupPolicy(value: string): CleanupPolicy {
  const parts = new Set(
    value
      .split(',')
      .map((part) => part.trim())
      .filter((part) => part.length > 0),
  );
  for (const part of parts) {
    if (part !== 'delete' && part !== 'compact') {
      throw new ConfigError('cleanup.policy', `must list delete and/or compact, got "${value}"`);
    }
  }
  if (parts.size === 0) throw new ConfigError('cleanup.policy', 'must list delete and/or compact');
  const policy: CleanupPolicy =
    parts.size === 2 ? 'compact,delete' : parts.has('compact') ? 'compact' : 'delete';
  if (!CLEANUP_POLICIES.includes(policy)) throw new ConfigError('cleanup.policy', `unknown "${value}"`);
  return policy;
}

const NOT_APPLIED_ONE_REPLICA = 'Not applied by Pyralog: each partition has one replica on this broker.';
const NOT_APPLIED_FSYNC = 'Not applied by Pyralog: durability is the broker-wide --fsync policy.';

export const TOPIC_CONFIG_TABLE: readonly TopicConfigSpec[] = [
  {
    name: 'cleanup.policy',
    field: 'cleanupPolicy',
    type: 'list',
    doc: 'delete: old segments are deleted by retention.ms and retention.bytes. compact: a background cleaner keeps the latest record of each key in closed segments and drops tombstones after delete.retention.ms; retention does not apply. compact,delete: both.',
    applied: true,
    readOnly: false,
    sensitive: false,
    parse: parseCleanupPolicy,
    format: (value) => String(value),
  },
  {
    name: 'compression.type',
    field: 'compressionType',
    type: 'string',
    doc: 'producer keeps each batch in its producer codec; uncompressed, gzip, snappy, lz4 or zstd recompresses batches that arrive in another codec.',
    applied: true,
    readOnly: false,
    sensitive: false,
    parse(value) {
      if (!TOPIC_COMPRESSIONS.includes(value as TopicCompression)) {
        throw new ConfigError(
          'compression.type',
          `must be one of ${TOPIC_COMPRESSIONS.join(', ')}, got "${value}"`,
        );
      }
      return value as TopicCompression;
    },
    format: (value) => String(value),
  },
  numberSpec('min.insync.replicas', 'minInsyncReplicas', 'int', false, NOT_APPLIED_ONE_REPLICA),
  numberSpec(
    'retention.ms',
    'retentionMs',
    'long',
    true,
    'Closed segments whose newest record is older than this are deleted (-1: no limit). Applies with cleanup.policy delete or compact,delete.',
  ),
  numberSpec(
    'retention.bytes',
    'retentionBytes',
    'long',
    true,
    'Oldest closed segments are deleted while the partition would still hold at least this many bytes without them (-1: no limit).',
  ),
  numberSpec(
    'segment.bytes',
    'segmentBytes',
    'int',
    true,
    'The active segment rolls before a batch would take it past this size.',
  ),
  numberSpec('segment.ms', 'segmentMs', 'long', true, 'The active segment rolls when it is older than this.'),
  numberSpec(
    'segment.index.bytes',
    'segmentIndexBytes',
    'int',
    false,
    'Not applied by Pyralog: index files are written at their exact size, never preallocated.',
  ),
  numberSpec(
    'segment.jitter.ms',
    'segmentJitterMs',
    'long',
    false,
    'Not applied by Pyralog: segments roll at exactly segment.ms.',
  ),
  numberSpec(
    'max.message.bytes',
    'maxMessageBytes',
    'int',
    true,
    'Largest record batch accepted (after recompression, when compression.type asks for it).',
  ),
  {
    name: 'message.timestamp.type',
    field: 'timestampType',
    type: 'string',
    doc: 'CreateTime keeps the producer timestamp; LogAppendTime stamps each batch with the broker clock.',
    applied: true,
    readOnly: false,
    sensitive: false,
    parse(value) {
      if (value !== 'CreateTime' && value !== 'LogAppendTime') {
        throw new ConfigError(
          'message.timestamp.type',
          `must be CreateTime or LogAppendTime, got "${value}"`,
        );
      }
      return value;
    },
    format: (value) => String(value),
  },
  numberSpec(
    'message.timestamp.before.max.ms',
    'timestampBeforeMaxMs',
    'long',
    true,
    'CreateTime records older than the broker clock minus this are refused.',
    true,
  ),
  numberSpec(
    'message.timestamp.after.max.ms',
    'timestampAfterMaxMs',
    'long',
    true,
    'CreateTime records newer than the broker clock plus this are refused.',
    true,
  ),
  numberSpec(
    'delete.retention.ms',
    'deleteRetentionMs',
    'long',
    true,
    'Compacted topics: a tombstone (null value) is removed by the cleaner once its timestamp is this much in the past.',
  ),
  {
    name: 'min.cleanable.dirty.ratio',
    field: 'minCleanableDirtyRatio',
    type: 'double',
    doc: 'Compacted topics: the cleaner runs when the closed bytes not yet cleaned are at least this share of all closed bytes.',
    applied: true,
    readOnly: false,
    sensitive: false,
    parse(value) {
      const parsed = Number(value.trim());
      if (value.trim() === '' || !Number.isFinite(parsed)) {
        throw new ConfigError('min.cleanable.dirty.ratio', `must be a number from 0 to 1, got "${value}"`);
      }
      return parsed;
    },
    format: (value) => String(value),
  },
  numberSpec(
    'min.compaction.lag.ms',
    'minCompactionLagMs',
    'long',
    true,
    'Compacted topics: a segment whose newest record is younger than this is not cleaned.',
    true,
  ),
  numberSpec(
    'max.compaction.lag.ms',
    'maxCompactionLagMs',
    'long',
    true,
    'Compacted topics: a closed segment older than this is cleaned whatever min.cleanable.dirty.ratio says.',
    true,
  ),
  numberSpec(
    'file.delete.delay.ms',
    'fileDeleteDelayMs',
    'long',
    false,
    'Not applied by Pyralog: a deleted or replaced segment file is removed at once (no reader holds it open).',
  ),
  numberSpec('flush.messages', 'flushMessages', 'long', false, NOT_APPLIED_FSYNC, true),
  numberSpec('flush.ms', 'flushMs', 'long', false, NOT_APPLIED_FSYNC, true),
  booleanSpec(
    'unclean.leader.election.enable',
    'uncleanLeaderElectionEnable',
    false,
    NOT_APPLIED_ONE_REPLICA,
  ),
  booleanSpec(
    'message.downconversion.enable',
    'messageDownconversionEnable',
    false,
    'Not applied by Pyralog: fetches are answered in RecordBatch v2 only, never down-converted.',
  ),
  numberSpec(
    'index.interval.bytes',
    'indexIntervalBytes',
    'int',
    false,
    'Not applied by Pyralog: the offset index takes an entry about every 4 KiB of log.',
  ),
  booleanSpec(
    'preallocate',
    'preallocate',
    false,
    'Not applied by Pyralog: segment files grow as they are written.',
  ),
];

const SPEC_BY_NAME: ReadonlyMap<string, TopicConfigSpec> = new Map(
  TOPIC_CONFIG_TABLE.map((spec) => [spec.name, spec]),
);

export function topicConfigSpec(name: string): TopicConfigSpec | undefined {
  return SPEC_BY_NAME.get(name);
}

/**
 * Kafka-style `name → value` settings as a partial TopicConfig. An unknown name
 * or a value that does not parse throws a ConfigError naming it; a null value is
 * skipped (the caller decides what "back to default" means).
 */
export function topicConfigFromEntries(
  entries: readonly { name: string; value: string | null }[],
): Partial<TopicConfig> {
  const config: Partial<Record<keyof TopicConfig, TopicConfig[keyof TopicConfig]>> = {};
  for (const { name, value } of entries) {
    const spec = SPEC_BY_NAME.get(name);
    if (spec === undefined) throw new ConfigError(name, 'is not a topic setting this broker knows');
    if (value === null) continue;
    config[spec.field] = spec.parse(value);
  }
  return config as Partial<TopicConfig>;
}

/** Where a described value comes from, as Kafka's DescribeConfigs names the sources. */
export type TopicConfigSource = 'TOPIC_CONFIG' | 'DEFAULT_CONFIG';

export interface DescribedTopicConfig {
  readonly name: string;
  readonly value: string;
  /** TOPIC_CONFIG when the topic's value differs from the broker's default for new topics. */
  readonly source: TopicConfigSource;
  readonly defaultValue: string;
  readonly doc: string;
  readonly type: TopicConfigType;
  readonly applied: boolean;
  readonly readOnly: boolean;
  readonly sensitive: boolean;
}

/**
 * Every standard setting of a topic with what the wire layer's DescribeConfigs
 * (synonyms, sources, documentation) needs. A value is reported as a topic
 * override when it differs from the broker's topic defaults; the registry keeps
 * whole configs, not which names a client once set.
 */
export function describeTopicConfig(config: TopicConfig, defaults: TopicConfig): DescribedTopicConfig[] {
  return TOPIC_CONFIG_TABLE.map((spec) => {
    const value = spec.format(config[spec.field]);
    const defaultValue = spec.format(defaults[spec.field]);
    return {
      name: spec.name,
      value,
      source: value === defaultValue ? 'DEFAULT_CONFIG' : 'TOPIC_CONFIG',
      defaultValue,
      doc: spec.doc,
      type: spec.type,
      applied: spec.applied,
      readOnly: spec.readOnly,
      sensitive: spec.sensitive,
    };
  });
}
