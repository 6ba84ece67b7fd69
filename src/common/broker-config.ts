import { ConfigError } from './errors.js';
import { isPowerOfTwo } from './power-of-two.js';
import { defaultSecurityConfig, type SecurityConfig, validateSecurityConfig } from './security-config.js';

/**
 * Everything the broker can be told, with its built-in default. One place
 * holds every limit (TigerStyle: put a limit on everything), and
 * `validateBrokerConfig` checks each value and how the limits relate.
 *
 * `pyralog serve` fills this from, in rising precedence: these defaults, a
 * JSON config file, `PYRALOG_*` environment variables, command-line options.
 */

/** `always`: fdatasync covers every acknowledged acks=-1 write; `never`: leave it to the OS; a number: sync every that many ms. */
export type FsyncPolicy = 'always' | 'never' | { readonly intervalMs: number };

export type TimestampType = 'CreateTime' | 'LogAppendTime';

/** A topic's compression.type: `producer` keeps each batch's codec; any other recompresses batches into it. */
export type TopicCompression = 'producer' | 'uncompressed' | 'gzip' | 'snappy' | 'lz4' | 'zstd';
export const TOPIC_COMPRESSIONS: readonly TopicCompression[] = [
  'producer',
  'uncompressed',
  'gzip',
  'snappy',
  'lz4',
  'zstd',
];

/** A topic's cleanup.policy: delete whole old segments, keep the latest record per key, or both. */
export type CleanupPolicy = 'delete' | 'compact' | 'compact,delete';
export const CLEANUP_POLICIES: readonly CleanupPolicy[] = ['delete', 'compact', 'compact,delete'];

/**
 * Per-topic settings; a topic created without them takes the broker's defaults.
 * Their Kafka names, documentation and whether Pyralog acts on each are in
 * topic-config-table.ts.
 */
export interface TopicConfig {
  readonly segmentBytes: number;
  readonly segmentMs: number;
  /** -1: unlimited. */
  readonly retentionBytes: number;
  /** -1: unlimited. */
  readonly retentionMs: number;
  readonly maxMessageBytes: number;
  readonly timestampType: TimestampType;
  /** CreateTime records older than now minus this are refused (message.timestamp.before.max.ms). */
  readonly timestampBeforeMaxMs: number;
  /** CreateTime records newer than now plus this are refused (message.timestamp.after.max.ms). */
  readonly timestampAfterMaxMs: number;
  readonly compressionType: TopicCompression;
  readonly cleanupPolicy: CleanupPolicy;
  /** A tombstone (null value) stays at least this long after its segment is cleaned (delete.retention.ms). */
  readonly deleteRetentionMs: number;
  /** Share of the closed log not yet cleaned at which the cleaner starts (min.cleanable.dirty.ratio). */
  readonly minCleanableDirtyRatio: number;
  /** A record younger than this is never compacted away (min.compaction.lag.ms). */
  readonly minCompactionLagMs: number;
  /** A record older than this makes its segment cleanable whatever the dirty ratio (max.compaction.lag.ms). */
  readonly maxCompactionLagMs: number;
  /** The settings below are accepted and stored but not acted on (topic-config-table.ts says why). */
  readonly minInsyncReplicas: number;
  readonly segmentIndexBytes: number;
  readonly segmentJitterMs: number;
  readonly fileDeleteDelayMs: number;
  readonly flushMessages: number;
  readonly flushMs: number;
  readonly indexIntervalBytes: number;
  readonly uncleanLeaderElectionEnable: boolean;
  readonly messageDownconversionEnable: boolean;
  readonly preallocate: boolean;
}

export interface BrokerConfig {
  readonly dataDir: string;
  /** Listeners, TLS and SASL (security-config.ts). */
  readonly security: SecurityConfig;
  readonly host: string;
  readonly kafkaPort: number;
  readonly httpPort: number;
  /** Host and port Metadata tells clients to connect to; default: host and kafkaPort. */
  readonly advertisedHost: string;
  readonly advertisedPort: number;
  readonly nodeId: number;
  readonly shardCount: number;
  readonly fsync: FsyncPolicy;
  readonly autoCreateTopics: boolean;
  readonly defaultPartitions: number;
  /** Most partitions one topic may have (CreateTopics beyond it: INVALID_PARTITIONS). */
  readonly maxPartitionsPerTopic: number;
  /** Most partitions over all topics of this broker (a create beyond it: POLICY_VIOLATION). */
  readonly maxPartitionsPerBroker: number;
  /**
   * Most partitions open and holding files at once, over all shards: past it the least recently
   * used idle ones close their descriptors (engine/open-partition-files.ts). Partitions are opened
   * on first use, so this, not the partition count, bounds the descriptors partitions hold.
   */
  readonly maxActivePartitions: number;
  readonly topicDefaults: TopicConfig;

  /** Bytes of each shard's request ring and reply ring (a power of two). */
  readonly ringBytes: number;
  /** Largest Kafka request frame accepted, header included. */
  readonly maxRequestBytes: number;
  /** Largest WebSocket message accepted. */
  readonly maxFrameBytes: number;
  /** Largest response a single fetch may build, over all partitions. */
  readonly fetchMaxBytes: number;
  /** Largest records section a compressed batch may inflate to when it is checked (bounds zip bombs). */
  readonly maxDecompressedBatchBytes: number;
  /** An idempotent producer idle this long is forgotten (Kafka's producer.id.expiration.ms). */
  readonly producerIdExpirationMs: number;
  /** Most idempotent producer ids remembered per partition; the least recently used is forgotten past it. */
  readonly maxProducerIdsPerPartition: number;
  /** Longest transaction.timeout.ms a transactional producer may ask for (Kafka's transaction.max.timeout.ms). */
  readonly transactionMaxTimeoutMs: number;
  readonly maxConnections: number;
  readonly maxInFlightRequestsPerConnection: number;
  /** A Kafka connection owing this many response bytes (granted, queued, unsent) is muted until it drains. */
  readonly maxUnsentBytesPerConnection: number;
  /** Broker-wide bytes held for clients: partial frames, fetches being built, queued responses. */
  readonly memoryBudgetBytes: number;
  /** Most partitions one Kafka request may name over all its topics (Produce, Fetch, ListOffsets, offsets). */
  readonly maxPartitionsPerRequest: number;
  /** Most topics (groups, resources) one Kafka request may name (Metadata, CreateTopics, DeleteTopics, ...). */
  readonly maxTopicsPerRequest: number;
  readonly maxWaitMsMax: number;
  readonly idleTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly shutdownTimeoutMs: number;
  /** Origins (scheme://host:port) whose pages may open a WebSocket or change state over HTTP; `*`: any. */
  readonly allowedOrigins: readonly string[];
  /** Host names the HTTP door answers besides IP literals, localhost, host and advertisedHost (DNS rebinding). */
  readonly allowedHosts: readonly string[];
  readonly logLevel: 'silent' | 'error' | 'warn' | 'info' | 'debug';
  /** Read plus write bytes per second each shard's log cleaner may use (compacted topics); 0: no limit. */
  readonly logCleanerIoBytesPerSecond: number;
  /**
   * How often each shard applies retention and looks for a compacted partition to clean
   * (Kafka's log.retention.check.interval.ms; also the log cleaner's back-off).
   */
  readonly logRetentionCheckIntervalMs: number;
  /** Check every segment's CRCs at start, in the offload pool, while the broker serves. */
  readonly verifySegmentsOnStart: boolean;
  /**
   * Before the listeners open, run synthetic produces and fetches on a scratch partition outside
   * the data directory, so the first clients meet compiled code (src/server/warm-up.ts). On by
   * default: in quiet same-run A/Bs it shortened a fresh broker's first-6-s p99 in most pairs
   * (bench/RESULTS.md, session 6), for about 0.6 s more start-up.
   */
  readonly warmUp: boolean;
  /** Principals allowed every operation whatever the ACLs say (`--super-users User:admin;User:ops`). */
  readonly superUsers: readonly string[];
  /**
   * What a resource no ACL names allows (Kafka's allow.everyone.if.no.acl.found); null: true while
   * no listener authenticates (so the default broker serves as before), false once one does.
   */
  readonly allowEveryoneIfNoAclFound: boolean | null;
  /** HTTP and WebSocket serve requests without credentials even when a listener authenticates. */
  readonly httpAnonymous: boolean;
  /** SQL over topics (docs/sql.md): a query's whole time, loading included. */
  readonly sqlTimeoutMs: number;
  /** Result rows one query sends; more are cut off (`truncated`). */
  readonly sqlRowsMax: number;
  /** DuckDB's memory limit, the loaded topic tables included. */
  readonly sqlMemoryBytes: number;
  /** Record bytes one query may read from topics. */
  readonly sqlScanBytesMax: number;
  /** Queries running at once; more are answered 503. */
  readonly sqlConcurrentMax: number;
  /** Record bytes per second all SQL queries and exports together read from the shards; 0: unpaced. */
  readonly sqlReadBytesPerSecond: number;
  /** Where DuckDB runs: a child process at nice 19 (the default) or a worker thread of the broker. */
  readonly sqlIsolation: 'process' | 'thread';
  /** Cluster mode (docs/cluster.md): etcd client URLs; empty: the single node this broker always was. */
  readonly etcdEndpoints: readonly string[];
  /** The cluster's name: its keys live under /pyralog/<name>/ in etcd. */
  readonly clusterName: string;
  /** The broker's etcd lease; it fences itself a third of this after its last renewal was sent, at most. */
  readonly etcdLeaseTtlMs: number;
  /** Replicas of a topic created with replication factor -1; -1: 3 in cluster mode, 1 on a single node. */
  readonly defaultReplicationFactor: number;
  /**
   * Where this broker's replica fetchers reach some peers, instead of the address each peer advertises in
   * etcd (clients still use the advertised ones): for networks where brokers see each other elsewhere than
   * clients see them, and for tests that put a fault proxy on one broker-to-broker link.
   */
  readonly peerAddresses: readonly PeerAddress[];
  /** replica.lag.time.max.ms: a follower not caught up for this long leaves the ISR (cluster mode). */
  readonly replicaLagTimeMaxMs: number;
}

/** One `--peer-address ID=HOST:PORT`: peer broker ID is reached at HOST:PORT by this broker's followers. */
export interface PeerAddress {
  readonly brokerId: number;
  readonly host: string;
  readonly port: number;
}

/** The replication factor a topic gets when created with -1. */
export function defaultReplicationFactor(config: BrokerConfig, clustered: boolean): number {
  if (config.defaultReplicationFactor !== -1) return config.defaultReplicationFactor;
  return clustered ? 3 : 1;
}

const MiB = 1024 * 1024;

/** Bytes a fetched partition takes in a shard ring record, request or reply side (shard-message.ts). */
const FETCH_ENTRY_BYTES_MAX = 24;

export const DEFAULT_TOPIC_CONFIG: TopicConfig = {
  segmentBytes: 256 * MiB,
  segmentMs: 7 * 24 * 3600 * 1000,
  retentionBytes: -1,
  retentionMs: 7 * 24 * 3600 * 1000,
  maxMessageBytes: 4 * MiB,
  timestampType: 'CreateTime',
  // Kafka 4's defaults: no limit into the past (Long.MAX_VALUE there), one hour into the future.
  timestampBeforeMaxMs: Number.MAX_SAFE_INTEGER,
  timestampAfterMaxMs: 3600 * 1000,
  compressionType: 'producer',
  cleanupPolicy: 'delete',
  // Kafka's defaults from here on.
  deleteRetentionMs: 24 * 3600 * 1000,
  minCleanableDirtyRatio: 0.5,
  minCompactionLagMs: 0,
  maxCompactionLagMs: Number.MAX_SAFE_INTEGER,
  minInsyncReplicas: 1,
  segmentIndexBytes: 10 * MiB,
  segmentJitterMs: 0,
  fileDeleteDelayMs: 60_000,
  flushMessages: Number.MAX_SAFE_INTEGER,
  flushMs: Number.MAX_SAFE_INTEGER,
  indexIntervalBytes: 4096,
  uncleanLeaderElectionEnable: false,
  messageDownconversionEnable: true,
  preallocate: false,
};

/**
 * Shards when none are asked for: one per core except the acceptor's. The
 * acceptor thread runs all network I/O and is as busy as any shard under load;
 * with a shard on every core it shares one with a shard, and on two cores
 * that cost a fifth of produce throughput and raised p99 about 1.6x in the
 * Kafka benchmark (bench/RESULTS.md).
 */
export function defaultShardCount(cpuCount: number): number {
  return Math.max(1, cpuCount - 1);
}

export function defaultBrokerConfig(cpuCount: number): BrokerConfig {
  return {
    dataDir: './data',
    security: defaultSecurityConfig,
    host: '127.0.0.1',
    kafkaPort: 9092,
    httpPort: 8080,
    advertisedHost: '127.0.0.1',
    advertisedPort: 9092,
    nodeId: 0,
    shardCount: defaultShardCount(cpuCount),
    fsync: 'always',
    autoCreateTopics: true,
    defaultPartitions: 1,
    // Partitions open on first use and idle ones close their files (maxActivePartitions), so the
    // partition count is bounded by memory, not descriptors: see docs/reliability.md for the cost of
    // one idle partition and the 200,000-partition test.
    maxPartitionsPerTopic: 200_000,
    maxPartitionsPerBroker: 250_000,
    maxActivePartitions: 4096,
    topicDefaults: DEFAULT_TOPIC_CONFIG,
    ringBytes: 16 * MiB,
    maxRequestBytes: 8 * MiB,
    maxFrameBytes: 8 * MiB,
    fetchMaxBytes: 8 * MiB,
    maxDecompressedBatchBytes: 128 * MiB,
    producerIdExpirationMs: 7 * 24 * 3600 * 1000,
    maxProducerIdsPerPartition: 10_000,
    transactionMaxTimeoutMs: 900_000,
    maxConnections: 10_000,
    maxInFlightRequestsPerConnection: 64,
    maxUnsentBytesPerConnection: 16 * MiB,
    memoryBudgetBytes: 256 * MiB,
    maxPartitionsPerRequest: 10_000,
    maxTopicsPerRequest: 10_000,
    maxWaitMsMax: 30_000,
    idleTimeoutMs: 600_000,
    requestTimeoutMs: 30_000,
    shutdownTimeoutMs: 10_000,
    allowedOrigins: [],
    allowedHosts: [],
    logLevel: 'warn',
    logCleanerIoBytesPerSecond: 64 * MiB,
    logRetentionCheckIntervalMs: 30_000,
    verifySegmentsOnStart: false,
    warmUp: true,
    superUsers: [],
    allowEveryoneIfNoAclFound: null,
    httpAnonymous: false,
    sqlTimeoutMs: 30_000,
    sqlRowsMax: 10_000,
    sqlMemoryBytes: 512 * MiB,
    sqlScanBytesMax: 1024 * MiB,
    sqlConcurrentMax: 2,
    sqlReadBytesPerSecond: 0,
    etcdEndpoints: [],
    clusterName: 'pyralog',
    etcdLeaseTtlMs: 6000,
    defaultReplicationFactor: -1,
    peerAddresses: [],
    replicaLagTimeMaxMs: 10_000,
    sqlIsolation: 'process',
  };
}

function validatePeerAddresses(config: BrokerConfig): void {
  if (config.peerAddresses.length > 0 && config.etcdEndpoints.length === 0) {
    throw new ConfigError('peer-address', 'only means something in cluster mode (with --etcd)');
  }
  const seen = new Set<number>();
  for (const peer of config.peerAddresses) {
    requireInteger('peer-address', peer.brokerId, 0, 2 ** 31 - 1);
    requireInteger('peer-address', peer.port, 1, 65535);
    if (peer.host.length === 0) throw new ConfigError('peer-address', `broker ${peer.brokerId} has no host`);
    if (peer.brokerId === config.nodeId) {
      throw new ConfigError(
        'peer-address',
        `broker ${peer.brokerId} is this broker; it never fetches from itself`,
      );
    }
    if (seen.has(peer.brokerId)) throw new ConfigError('peer-address', `broker ${peer.brokerId} given twice`);
    seen.add(peer.brokerId);
  }
}

function requireInteger(option: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(option, `must be a whole number from ${min} to ${max}, got ${value}`);
  }
}

export function validateTopicConfig(config: TopicConfig, optionPrefix = 'topic.'): void {
  requireInteger(`${optionPrefix}segment.bytes`, config.segmentBytes, 1024, 2 ** 31 - 1);
  requireInteger(`${optionPrefix}segment.ms`, config.segmentMs, 1, Number.MAX_SAFE_INTEGER);
  requireInteger(`${optionPrefix}retention.bytes`, config.retentionBytes, -1, Number.MAX_SAFE_INTEGER);
  requireInteger(`${optionPrefix}retention.ms`, config.retentionMs, -1, Number.MAX_SAFE_INTEGER);
  requireInteger(`${optionPrefix}max.message.bytes`, config.maxMessageBytes, 64, 2 ** 30);
  requireInteger(
    `${optionPrefix}message.timestamp.before.max.ms`,
    config.timestampBeforeMaxMs,
    0,
    Number.MAX_SAFE_INTEGER,
  );
  requireInteger(
    `${optionPrefix}message.timestamp.after.max.ms`,
    config.timestampAfterMaxMs,
    0,
    Number.MAX_SAFE_INTEGER,
  );
  if (!TOPIC_COMPRESSIONS.includes(config.compressionType)) {
    throw new ConfigError(
      `${optionPrefix}compression.type`,
      `must be one of ${TOPIC_COMPRESSIONS.join(', ')}`,
    );
  }
  if (config.timestampType !== 'CreateTime' && config.timestampType !== 'LogAppendTime') {
    throw new ConfigError(`${optionPrefix}message.timestamp.type`, 'must be CreateTime or LogAppendTime');
  }
  if (!CLEANUP_POLICIES.includes(config.cleanupPolicy)) {
    throw new ConfigError(`${optionPrefix}cleanup.policy`, 'must be delete, compact or compact,delete');
  }
  const long = Number.MAX_SAFE_INTEGER;
  requireInteger(`${optionPrefix}delete.retention.ms`, config.deleteRetentionMs, 0, long);
  const ratio = config.minCleanableDirtyRatio;
  if (typeof ratio !== 'number' || !(ratio >= 0 && ratio <= 1)) {
    throw new ConfigError(`${optionPrefix}min.cleanable.dirty.ratio`, `must be from 0 to 1, got ${ratio}`);
  }
  requireInteger(`${optionPrefix}min.compaction.lag.ms`, config.minCompactionLagMs, 0, long);
  requireInteger(`${optionPrefix}max.compaction.lag.ms`, config.maxCompactionLagMs, 1, long);
  if (config.minCompactionLagMs > config.maxCompactionLagMs) {
    throw new ConfigError(`${optionPrefix}min.compaction.lag.ms`, 'must not exceed max.compaction.lag.ms');
  }
  requireInteger(`${optionPrefix}min.insync.replicas`, config.minInsyncReplicas, 1, 2 ** 31 - 1);
  requireInteger(`${optionPrefix}segment.index.bytes`, config.segmentIndexBytes, 4, 2 ** 31 - 1);
  requireInteger(`${optionPrefix}segment.jitter.ms`, config.segmentJitterMs, 0, long);
  requireInteger(`${optionPrefix}file.delete.delay.ms`, config.fileDeleteDelayMs, 0, long);
  requireInteger(`${optionPrefix}flush.messages`, config.flushMessages, 1, long);
  requireInteger(`${optionPrefix}flush.ms`, config.flushMs, 0, long);
  requireInteger(`${optionPrefix}index.interval.bytes`, config.indexIntervalBytes, 0, 2 ** 31 - 1);
  for (const [name, value] of [
    ['unclean.leader.election.enable', config.uncleanLeaderElectionEnable],
    ['message.downconversion.enable', config.messageDownconversionEnable],
    ['preallocate', config.preallocate],
  ] as const) {
    if (typeof value !== 'boolean') throw new ConfigError(`${optionPrefix}${name}`, 'must be true or false');
  }
}

/** Throws a `ConfigError` naming the first option that is out of range or inconsistent with another. */
export function validateBrokerConfig(config: BrokerConfig): void {
  if (config.dataDir.length === 0) throw new ConfigError('data', 'must name a directory');
  if (config.host.length === 0) throw new ConfigError('host', 'must name an address');
  validateSecurityConfig(config.security, config.httpAnonymous);
  requireInteger('kafka-port', config.kafkaPort, 0, 65535);
  requireInteger('http-port', config.httpPort, 0, 65535);
  requireInteger('advertised-port', config.advertisedPort, 0, 65535);
  requireInteger('node-id', config.nodeId, 0, 2 ** 31 - 1);
  requireInteger('etcd-lease-ttl-ms', config.etcdLeaseTtlMs, 2000, 3_600_000);
  requireInteger('default-replication-factor', config.defaultReplicationFactor, -1, 32767);
  if (config.defaultReplicationFactor === 0) {
    throw new ConfigError('default-replication-factor', 'must be -1 (the default) or at least 1');
  }
  requireInteger('replica-lag-time-max-ms', config.replicaLagTimeMaxMs, 100, 3_600_000);
  validatePeerAddresses(config);
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(config.clusterName)) {
    throw new ConfigError('cluster', "must be 1-64 letters, digits, '.', '_' or '-'");
  }
  for (const url of config.etcdEndpoints) {
    if (!/^https?:\/\/[^/]+\/?$/.test(url))
      throw new ConfigError('etcd', `expected URLs like http://127.0.0.1:2379, got "${url}"`);
  }
  requireInteger('shards', config.shardCount, 1, 256);
  requireInteger('sql-timeout-ms', config.sqlTimeoutMs, 1, 3_600_000);
  requireInteger('sql-rows-max', config.sqlRowsMax, 1, 10_000_000);
  requireInteger('sql-memory-bytes', config.sqlMemoryBytes, 16 * MiB, Number.MAX_SAFE_INTEGER);
  requireInteger('sql-scan-bytes-max', config.sqlScanBytesMax, 1, Number.MAX_SAFE_INTEGER);
  requireInteger('sql-concurrent-max', config.sqlConcurrentMax, 1, 64);
  requireInteger(
    'log-cleaner-io-bytes-per-second',
    config.logCleanerIoBytesPerSecond,
    0,
    Number.MAX_SAFE_INTEGER,
  );
  requireInteger('log-retention-check-interval-ms', config.logRetentionCheckIntervalMs, 100, 3_600_000);
  requireInteger('sql-read-bytes-per-second', config.sqlReadBytesPerSecond, 0, Number.MAX_SAFE_INTEGER);
  if (config.sqlIsolation !== 'process' && config.sqlIsolation !== 'thread')
    throw new ConfigError('sql-isolation', 'expected process or thread');
  if (typeof config.fsync === 'object') requireInteger('fsync', config.fsync.intervalMs, 1, 3_600_000);
  // A partition key packs the partition into 20 bits (shard-message.ts): 2^20 - 1 partitions at most.
  requireInteger('max-partitions-per-topic', config.maxPartitionsPerTopic, 1, 2 ** 20 - 1);
  requireInteger('max-partitions-per-broker', config.maxPartitionsPerBroker, 1, 10_000_000);
  requireInteger('max-active-partitions', config.maxActivePartitions, 16, 10_000_000);
  requireInteger('default-partitions', config.defaultPartitions, 1, config.maxPartitionsPerTopic);
  validateTopicConfig(config.topicDefaults, 'topic.');
  if (!isPowerOfTwo(config.ringBytes) || config.ringBytes < 64 * 1024 || config.ringBytes > 1024 * MiB) {
    throw new ConfigError(
      'ring-bytes',
      `must be a power of two from 64 KiB to 1 GiB, got ${config.ringBytes}`,
    );
  }
  requireInteger('max-request-bytes', config.maxRequestBytes, 1024, 1024 * MiB);
  requireInteger('max-frame-bytes', config.maxFrameBytes, 1024, 1024 * MiB);
  requireInteger('fetch-max-bytes', config.fetchMaxBytes, 1024, 1024 * MiB);
  requireInteger('max-decompressed-batch-bytes', config.maxDecompressedBatchBytes, 1024, 1024 * MiB);
  requireInteger('producer-id-expiration-ms', config.producerIdExpirationMs, 1, Number.MAX_SAFE_INTEGER);
  requireInteger('max-producer-ids-per-partition', config.maxProducerIdsPerPartition, 1, 10_000_000);
  requireInteger('transaction-max-timeout-ms', config.transactionMaxTimeoutMs, 1, 2_147_483_647);
  requireInteger('max-connections', config.maxConnections, 1, 1_000_000);
  requireInteger('max-in-flight', config.maxInFlightRequestsPerConnection, 1, 100_000);
  requireInteger(
    'max-unsent-bytes-per-connection',
    config.maxUnsentBytesPerConnection,
    64 * 1024,
    4096 * MiB,
  );
  requireInteger('memory-budget-bytes', config.memoryBudgetBytes, MiB, 1024 * 1024 * MiB);
  if (config.memoryBudgetBytes < config.maxUnsentBytesPerConnection) {
    throw new ConfigError('memory-budget-bytes', 'must be at least max-unsent-bytes-per-connection');
  }
  requireInteger('max-partitions-per-request', config.maxPartitionsPerRequest, 1, 1_000_000);
  requireInteger('max-topics-per-request', config.maxTopicsPerRequest, 1, 1_000_000);
  requireInteger('max-wait-ms-max', config.maxWaitMsMax, 0, 3_600_000);
  requireInteger('idle-timeout-ms', config.idleTimeoutMs, 1000, 24 * 3_600_000);
  requireInteger('request-timeout-ms', config.requestTimeoutMs, 100, 3_600_000);
  requireInteger('shutdown-timeout-ms', config.shutdownTimeoutMs, 100, 600_000);
  // A request is copied whole into one ring record, so a ring must hold the
  // largest request twice over: once in flight and once being claimed.
  if (config.maxRequestBytes * 2 > config.ringBytes) {
    throw new ConfigError('max-request-bytes', `must be at most half of ring-bytes (${config.ringBytes})`);
  }
  if (config.maxFrameBytes * 2 > config.ringBytes) {
    throw new ConfigError('max-frame-bytes', `must be at most half of ring-bytes (${config.ringBytes})`);
  }
  // A fetch reply travels back through one reply ring record likewise.
  if (config.fetchMaxBytes * 2 > config.ringBytes) {
    throw new ConfigError('fetch-max-bytes', `must be at most half of ring-bytes (${config.ringBytes})`);
  }
  // One shard's part of a fetch (24 bytes a partition) and its reply (24 bytes a partition before the
  // records) each travel as one ring record; keep the partition entries to an eighth of the ring.
  if (config.maxPartitionsPerRequest * FETCH_ENTRY_BYTES_MAX > config.ringBytes / 8) {
    throw new ConfigError(
      'max-partitions-per-request',
      `must be at most ${Math.floor(config.ringBytes / 8 / FETCH_ENTRY_BYTES_MAX)} with ring-bytes ${config.ringBytes}`,
    );
  }
  if (config.topicDefaults.maxMessageBytes > config.maxRequestBytes) {
    throw new ConfigError('topic.max.message.bytes', 'must not exceed max-request-bytes');
  }
}
