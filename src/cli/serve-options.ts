import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import {
  type BrokerConfig,
  defaultBrokerConfig,
  type FsyncPolicy,
  type PeerAddress,
  type TopicConfig,
  validateBrokerConfig,
} from '../common/broker-config.js';
import { ConfigError } from '../common/errors.js';
import { isKafkaListener } from '../common/security-config.js';
import { parseSuperUsers } from '../security/authorizer.js';
import { parsePrincipal } from '../security/principal.js';
import { BOOLEAN_SECURITY_FLAGS, securityOptions } from './security-options.js';

/**
 * `pyralog serve` options. Each option can be given, in rising precedence,
 * in a JSON config file (`--config FILE`, keys spelled like the options:
 * `{"kafka-port": 9093, "fsync": "always"}`), as an environment variable
 * (`PYRALOG_KAFKA_PORT=9093`), or on the command line (`--kafka-port 9093`).
 * Every value is checked, and an error names the option as the user wrote it.
 */
type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type Draft = Omit<Mutable<BrokerConfig>, 'topicDefaults'> & { topicDefaults: Mutable<TopicConfig> };

interface OptionSpec {
  name: string;
  help: string;
  apply(config: Draft, value: string, source: string): void;
}

function parseInteger(source: string, value: string): number {
  const match = /^\s*(-?\d+)\s*(b|kib|mib|gib|kb|mb|gb)?\s*$/i.exec(value);
  if (match === null) throw new ConfigError(source, `expected a whole number, got "${value}"`);
  const unit = (match[2] ?? 'b').toLowerCase();
  const scale: Record<string, number> = {
    b: 1,
    kib: 1024,
    mib: 1024 ** 2,
    gib: 1024 ** 3,
    kb: 1000,
    mb: 1000 ** 2,
    gb: 1000 ** 3,
  };
  const parsed = Number(match[1]) * scale[unit]!;
  if (!Number.isSafeInteger(parsed)) throw new ConfigError(source, `number out of range: "${value}"`);
  return parsed;
}

function parseBoolean(source: string, value: string): boolean {
  if (/^(true|1|yes|on)$/i.test(value)) return true;
  if (/^(false|0|no|off)$/i.test(value)) return false;
  throw new ConfigError(source, `expected true or false, got "${value}"`);
}

function splitList(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

export function parseFsync(source: string, value: string): FsyncPolicy {
  if (value === 'always' || value === 'never') return value;
  if (/^\d+$/.test(value)) return { intervalMs: Number(value) };
  throw new ConfigError(source, `expected always, never or an interval in ms, got "${value}"`);
}

/** `ID=HOST:PORT[,ID=HOST:PORT...]`; a host may be a bracketed IPv6 address (`2=[::1]:9093`). */
export function parsePeerAddresses(source: string, value: string): PeerAddress[] {
  return splitList(value).map((item) => {
    const match = /^(\d+)=(\[[^\]]+\]|[^:=\s]+):(\d+)$/.exec(item);
    if (match === null) throw new ConfigError(source, `expected ID=HOST:PORT, got "${item}"`);
    const host = match[2]!.startsWith('[') ? match[2]!.slice(1, -1) : match[2]!;
    return { brokerId: Number(match[1]), host, port: Number(match[3]) };
  });
}

const int =
  (set: (config: Draft, value: number) => void) =>
  (config: Draft, value: string, source: string): void =>
    set(config, parseInteger(source, value));

export const serveOptions: readonly OptionSpec[] = [
  {
    name: 'data',
    help: 'data directory (default ./data)',
    apply: (c, v) => {
      c.dataDir = v;
    },
  },
  {
    name: 'host',
    help: 'address to bind (default 127.0.0.1)',
    apply: (c, v) => {
      c.host = v;
    },
  },
  {
    name: 'kafka-port',
    help: 'Kafka protocol port (default 9092)',
    apply: int((c, v) => {
      c.kafkaPort = v;
    }),
  },
  {
    name: 'http-port',
    help: 'HTTP and WebSocket port (default 8080)',
    apply: int((c, v) => {
      c.httpPort = v;
    }),
  },
  {
    name: 'advertised-host',
    help: 'host clients are told to use',
    apply: (c, v) => {
      c.advertisedHost = v;
    },
  },
  {
    name: 'advertised-port',
    help: 'port clients are told to use',
    apply: int((c, v) => {
      c.advertisedPort = v;
    }),
  },
  {
    name: 'node-id',
    help: 'broker id in Metadata (default 0)',
    apply: int((c, v) => {
      c.nodeId = v;
    }),
  },
  {
    name: 'broker-id',
    help: "cluster mode: this broker's id, unique in the cluster (the same as --node-id)",
    apply: int((c, v) => {
      c.nodeId = v;
    }),
  },
  {
    name: 'etcd',
    help: 'cluster mode: comma-separated etcd client URLs (http://127.0.0.1:2379,...); none: a single node',
    apply: (c, v) => {
      c.etcdEndpoints = splitList(v);
    },
  },
  {
    name: 'cluster',
    help: 'cluster mode: the cluster name, keys under /pyralog/<name>/ in etcd (default pyralog)',
    apply: (c, v) => {
      c.clusterName = v;
    },
  },
  {
    name: 'etcd-lease-ttl-ms',
    help: 'cluster mode: the broker lease; a broker that cannot renew fences itself before it ends (default 6000)',
    apply: int((c, v) => {
      c.etcdLeaseTtlMs = v;
    }),
  },
  {
    name: 'default-replication-factor',
    help: 'replicas of topics created with replication factor -1 (default -1: 3 in cluster mode, 1 alone)',
    apply: int((c, v) => {
      c.defaultReplicationFactor = v;
    }),
  },
  {
    name: 'peer-address',
    help: "cluster mode: ID=HOST:PORT[,...]: where this broker's followers reach peer ID instead of its advertised address",
    apply: (c, v, s) => {
      c.peerAddresses = parsePeerAddresses(s, v);
    },
  },
  {
    name: 'replica-lag-time-max-ms',
    help: 'cluster mode: a follower not caught up for this long leaves the ISR (default 10000)',
    apply: int((c, v) => {
      c.replicaLagTimeMaxMs = v;
    }),
  },
  {
    name: 'shards',
    help: "shard worker threads (default: one per core but the acceptor's, at least 1)",
    apply: int((c, v) => {
      c.shardCount = v;
    }),
  },
  {
    name: 'fsync',
    help: 'always | never | <interval ms> (default always)',
    apply: (c, v, s) => {
      c.fsync = parseFsync(s, v);
    },
  },
  {
    name: 'auto-create-topics',
    help: 'create topics on first use (default true)',
    apply: (c, v, s) => {
      c.autoCreateTopics = parseBoolean(s, v);
    },
  },
  {
    name: 'default-partitions',
    help: 'partitions of auto-created topics (default 1)',
    apply: int((c, v) => {
      c.defaultPartitions = v;
    }),
  },
  {
    name: 'segment-bytes',
    help: 'roll segments at this size',
    apply: int((c, v) => {
      c.topicDefaults.segmentBytes = v;
    }),
  },
  {
    name: 'segment-ms',
    help: 'roll segments at this age',
    apply: int((c, v) => {
      c.topicDefaults.segmentMs = v;
    }),
  },
  {
    name: 'retention-bytes',
    help: 'keep at most this many bytes per partition (-1: no limit)',
    apply: int((c, v) => {
      c.topicDefaults.retentionBytes = v;
    }),
  },
  {
    name: 'retention-ms',
    help: 'delete segments older than this (-1: never)',
    apply: int((c, v) => {
      c.topicDefaults.retentionMs = v;
    }),
  },
  {
    name: 'max-message-bytes',
    help: 'largest record batch accepted',
    apply: int((c, v) => {
      c.topicDefaults.maxMessageBytes = v;
    }),
  },
  {
    name: 'ring-bytes',
    help: 'bytes of each shard ring (power of two)',
    apply: int((c, v) => {
      c.ringBytes = v;
    }),
  },
  {
    name: 'max-request-bytes',
    help: 'largest Kafka request',
    apply: int((c, v) => {
      c.maxRequestBytes = v;
    }),
  },
  {
    name: 'max-frame-bytes',
    help: 'largest WebSocket message',
    apply: int((c, v) => {
      c.maxFrameBytes = v;
    }),
  },
  {
    name: 'fetch-max-bytes',
    help: 'largest fetch response',
    apply: int((c, v) => {
      c.fetchMaxBytes = v;
    }),
  },
  {
    name: 'max-decompressed-batch-bytes',
    help: 'largest records section a compressed batch may inflate to when checked',
    apply: int((c, v) => {
      c.maxDecompressedBatchBytes = v;
    }),
  },
  {
    name: 'producer-id-expiration-ms',
    help: 'forget an idempotent producer idle this long (producer.id.expiration.ms)',
    apply: int((c, v) => {
      c.producerIdExpirationMs = v;
    }),
  },
  {
    name: 'max-producer-ids-per-partition',
    help: 'idempotent producer ids remembered per partition (least recently used forgotten past it)',
    apply: int((c, v) => {
      c.maxProducerIdsPerPartition = v;
    }),
  },
  {
    name: 'transaction-max-timeout-ms',
    help: 'longest transaction.timeout.ms a transactional producer may ask for (transaction.max.timeout.ms)',
    apply: int((c, v) => {
      c.transactionMaxTimeoutMs = v;
    }),
  },
  {
    name: 'max-connections',
    help: 'connections per front door',
    apply: int((c, v) => {
      c.maxConnections = v;
    }),
  },
  {
    name: 'max-in-flight',
    help: 'requests in flight per connection',
    apply: int((c, v) => {
      c.maxInFlightRequestsPerConnection = v;
    }),
  },
  {
    name: 'max-unsent-bytes-per-connection',
    help: 'mute a Kafka connection owing this many response bytes',
    apply: int((c, v) => {
      c.maxUnsentBytesPerConnection = v;
    }),
  },
  {
    name: 'memory-budget-bytes',
    help: 'bytes held for clients over all connections',
    apply: int((c, v) => {
      c.memoryBudgetBytes = v;
    }),
  },
  {
    name: 'max-partitions-per-topic',
    help: 'partitions one topic may have',
    apply: int((c, v) => {
      c.maxPartitionsPerTopic = v;
    }),
  },
  {
    name: 'max-partitions-per-broker',
    help: 'partitions over all topics',
    apply: int((c, v) => {
      c.maxPartitionsPerBroker = v;
    }),
  },
  {
    name: 'max-active-partitions',
    help: 'partitions holding open files at once; idle ones beyond close theirs',
    apply: int((c, v) => {
      c.maxActivePartitions = v;
    }),
  },
  {
    name: 'max-partitions-per-request',
    help: 'partitions one Kafka request may name',
    apply: int((c, v) => {
      c.maxPartitionsPerRequest = v;
    }),
  },
  {
    name: 'max-topics-per-request',
    help: 'topics one Kafka request may name',
    apply: int((c, v) => {
      c.maxTopicsPerRequest = v;
    }),
  },
  {
    name: 'max-wait-ms-max',
    help: 'cap on a fetch long-poll',
    apply: int((c, v) => {
      c.maxWaitMsMax = v;
    }),
  },
  {
    name: 'idle-timeout-ms',
    help: 'close idle connections after',
    apply: int((c, v) => {
      c.idleTimeoutMs = v;
    }),
  },
  {
    name: 'request-timeout-ms',
    help: 'cap on any request',
    apply: int((c, v) => {
      c.requestTimeoutMs = v;
    }),
  },
  {
    name: 'shutdown-timeout-ms',
    help: 'graceful stop bound',
    apply: int((c, v) => {
      c.shutdownTimeoutMs = v;
    }),
  },
  {
    name: 'allowed-origins',
    help: 'comma-separated origins whose pages may use the WebSocket and change state (* for any)',
    apply: (c, v) => {
      c.allowedOrigins = splitList(v);
    },
  },
  {
    name: 'allowed-hosts',
    help: 'comma-separated host names the HTTP door answers besides IPs, localhost and --host',
    apply: (c, v) => {
      c.allowedHosts = splitList(v);
    },
  },
  {
    name: 'verify-segments',
    help: 'check every segment CRC at start, in the background (default false)',
    apply: (c, v, s) => {
      c.verifySegmentsOnStart = parseBoolean(s, v);
    },
  },
  {
    name: 'warm-up',
    help: 'before the listeners open, warm the produce and fetch paths with synthetic traffic on a scratch partition outside the data directory, about 0.6 s more start-up (default true)',
    apply: (c, v, s) => {
      c.warmUp = parseBoolean(s, v);
    },
  },
  {
    name: 'super-users',
    help: 'principals allowed everything whatever the ACLs say, separated by ; (User:admin;User:ops)',
    apply: (c, v, s) => {
      const users = parseSuperUsers(v);
      const bad = users.find((user) => parsePrincipal(user) === null);
      if (bad !== undefined) throw new ConfigError(s, `${bad} is not a principal like User:admin`);
      c.superUsers = users;
    },
  },
  {
    name: 'allow-everyone-if-no-acl-found',
    help: 'allow what no ACL names (default true without authentication, false with it)',
    apply: (c, v, s) => {
      c.allowEveryoneIfNoAclFound = parseBoolean(s, v);
    },
  },
  {
    name: 'http-anonymous',
    help: 'serve HTTP and WebSocket without credentials even when a listener authenticates (default false)',
    apply: (c, v, s) => {
      c.httpAnonymous = parseBoolean(s, v);
    },
  },
  {
    name: 'log-cleaner-io-bytes-per-second',
    help: 'read plus write rate of each shard log cleaner, compacted topics (default 67108864; 0: no limit)',
    apply: int((c, v) => {
      c.logCleanerIoBytesPerSecond = v;
    }),
  },
  {
    name: 'log-retention-check-interval-ms',
    help: 'how often each shard applies retention and starts the log cleaner (default 30000)',
    apply: int((c, v) => {
      c.logRetentionCheckIntervalMs = v;
    }),
  },
  {
    name: 'sql-timeout-ms',
    help: 'SQL: longest query, loading included (default 30000)',
    apply: int((c, v) => {
      c.sqlTimeoutMs = v;
    }),
  },
  {
    name: 'sql-rows-max',
    help: 'SQL: most result rows sent; more are cut off (default 10000)',
    apply: int((c, v) => {
      c.sqlRowsMax = v;
    }),
  },
  {
    name: 'sql-memory-bytes',
    help: 'SQL: DuckDB memory limit, loaded topics included (default 512MiB)',
    apply: int((c, v) => {
      c.sqlMemoryBytes = v;
    }),
  },
  {
    name: 'sql-scan-bytes-max',
    help: 'SQL: most record bytes one query reads (default 1GiB)',
    apply: int((c, v) => {
      c.sqlScanBytesMax = v;
    }),
  },
  {
    name: 'sql-concurrent-max',
    help: 'SQL: queries at once; more are answered 503 (default 2)',
    apply: int((c, v) => {
      c.sqlConcurrentMax = v;
    }),
  },
  {
    name: 'sql-read-bytes-per-second',
    help: 'SQL: record bytes per second all queries together read from the shards; 0 unpaced (default 0)',
    apply: int((c, v) => {
      c.sqlReadBytesPerSecond = v;
    }),
  },
  {
    name: 'sql-isolation',
    help: 'SQL: process (DuckDB in a child process at nice 19) | thread (default process)',
    apply: (c, v, s) => {
      if (v !== 'process' && v !== 'thread') throw new ConfigError(s, 'expected process or thread');
      c.sqlIsolation = v;
    },
  },
  {
    name: 'log-level',
    help: 'silent | error | warn | info | debug (default warn)',
    apply: (c, v, s) => {
      if (!['silent', 'error', 'warn', 'info', 'debug'].includes(v)) {
        throw new ConfigError(s, 'expected silent, error, warn, info or debug');
      }
      c.logLevel = v as BrokerConfig['logLevel'];
    },
  },
  ...securityOptions.map(
    (spec): OptionSpec => ({
      name: spec.name,
      help: spec.help,
      apply: (c, v, s) => {
        const security = { ...c.security };
        spec.apply(security, v, s);
        c.security = security;
      },
    }),
  ),
];

const specsByName = new Map(serveOptions.map((spec) => [spec.name, spec]));

function envName(option: string): string {
  return `PYRALOG_${option.toUpperCase().replaceAll('-', '_')}`;
}

/** Splits `--name value` and `--name=value` pairs; a lone `--flag` of a boolean option means true. */
function parseArgv(argv: readonly string[]): Map<string, string> {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--'))
      throw new ConfigError(arg, 'unexpected argument; options look like --name value');
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    if (name !== 'config' && !specsByName.has(name)) {
      throw new ConfigError(`--${name}`, 'unknown option (see `pyralog serve --help`)');
    }
    let value: string | undefined;
    if (eq !== -1) value = arg.slice(eq + 1);
    else if (
      (name === 'auto-create-topics' || BOOLEAN_SECURITY_FLAGS.includes(name)) &&
      (argv[i + 1] === undefined || argv[i + 1]!.startsWith('--'))
    )
      value = 'true';
    else value = argv[++i];
    if (value === undefined) throw new ConfigError(`--${name}`, 'needs a value');
    values.set(name, value);
  }
  return values;
}

export function resolveServeConfig(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  cpuCount = availableParallelism(),
): BrokerConfig {
  const defaults = defaultBrokerConfig(cpuCount);
  const draft: Draft = { ...defaults, topicDefaults: { ...defaults.topicDefaults } };
  const cli = parseArgv(argv);
  let advertisedHostSet = false;
  let advertisedPortSet = false;
  const apply = (name: string, value: string, source: string): void => {
    const spec = specsByName.get(name);
    if (spec === undefined) throw new ConfigError(source, 'unknown option');
    spec.apply(draft, value, source);
    if (name === 'advertised-host') advertisedHostSet = true;
    if (name === 'advertised-port') advertisedPortSet = true;
  };

  const configPath = cli.get('config') ?? env.PYRALOG_CONFIG;
  if (configPath !== undefined) {
    let file: Record<string, unknown>;
    try {
      file = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
    } catch (error) {
      throw new ConfigError('--config', `cannot read ${configPath}: ${(error as Error).message}`);
    }
    if (typeof file !== 'object' || file === null || Array.isArray(file)) {
      throw new ConfigError('--config', `${configPath} must hold a JSON object`);
    }
    for (const [name, value] of Object.entries(file)) apply(name, String(value), `${configPath}: ${name}`);
  }
  for (const spec of serveOptions) {
    const value = env[envName(spec.name)];
    if (value !== undefined) apply(spec.name, value, envName(spec.name));
  }
  for (const [name, value] of cli) if (name !== 'config') apply(name, value, `--${name}`);

  // With --listeners, the first Kafka listener is the one Metadata advertises by default, and the
  // HTTP listener (if any) takes --http-port's place.
  const listeners = draft.security.listeners;
  if (listeners !== null) {
    const kafka = listeners.find(isKafkaListener);
    if (kafka !== undefined) {
      draft.host = kafka.host;
      draft.kafkaPort = kafka.port;
    }
    const http = listeners.find((l) => !isKafkaListener(l));
    if (http !== undefined) draft.httpPort = http.port;
  }
  if (!advertisedHostSet) draft.advertisedHost = draft.host === '0.0.0.0' ? '127.0.0.1' : draft.host;
  if (!advertisedPortSet) draft.advertisedPort = draft.kafkaPort;
  validateBrokerConfig(draft);
  return draft;
}

export function serveUsage(): string {
  const lines = [
    'Usage: pyralog serve [options]',
    '',
    'Options (also PYRALOG_<NAME> env vars, or keys of --config FILE):',
  ];
  const rows: [string, string][] = [
    ['  --config FILE', 'JSON file of options'],
    ...serveOptions.map((spec): [string, string] => [`  --${spec.name} <value>`, spec.help]),
  ];
  // The help column starts two spaces after the longest option, so no option runs into its text.
  const width = Math.max(...rows.map(([option]) => option.length)) + 2;
  for (const [option, help] of rows) lines.push(`${option.padEnd(width)}${help}`);
  return lines.join('\n');
}
