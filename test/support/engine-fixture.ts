import { type BrokerConfig, defaultBrokerConfig } from '../../src/common/broker-config.js';
import { ShardedEngine } from '../../src/engine/sharded-engine.js';

const MiB = 1024 * 1024;

/** A broker config for tests: 2 shards, small rings, the given data dir, ephemeral ports. */
export function testBrokerConfig(dataDir: string, overrides: Partial<BrokerConfig> = {}): BrokerConfig {
  const defaults = defaultBrokerConfig(2);
  return {
    ...defaults,
    dataDir,
    kafkaPort: 0,
    httpPort: 0,
    shardCount: 2,
    ringBytes: 4 * MiB,
    maxRequestBytes: 1 * MiB,
    maxFrameBytes: 1 * MiB,
    fetchMaxBytes: 1 * MiB,
    topicDefaults: { ...defaults.topicDefaults, maxMessageBytes: 1 * MiB },
    logLevel: 'silent',
    ...overrides,
  };
}

export async function startTestEngine(
  dataDir: string,
  overrides: Partial<BrokerConfig> = {},
  retentionCheckIntervalMs = 60_000,
): Promise<ShardedEngine> {
  return ShardedEngine.start(testBrokerConfig(dataDir, overrides), { retentionCheckIntervalMs });
}
