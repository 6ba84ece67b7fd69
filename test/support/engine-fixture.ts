import { afterEach } from 'vitest';
import { type BrokerConfig, defaultBrokerConfig } from '../../src/common/broker-config.js';
import { ShardedEngine } from '../../src/engine/sharded-engine.js';
import { makeTempDir } from './temp-dir.js';

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
    // Brokers start by the hundred in tests: the warm-up has tests of its own (test/server/warm-up.test.ts).
    warmUp: false,
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

/**
 * Engines for the tests of one describe block: `start` makes a fresh temp
 * dir and an engine in it; after each test the engine is stopped and the dir
 * removed. Call it inside the describe.
 */
export function scopedTestEngines(prefix: string): {
  start: (overrides?: Partial<BrokerConfig>, retentionCheckIntervalMs?: number) => Promise<ShardedEngine>;
  /** Stops the running engine (a clean stop) and starts another on the same data dir and settings. */
  restart: () => Promise<ShardedEngine>;
} {
  let running: ShardedEngine | null = null;
  let cleanup = (): void => {};
  let started: { dir: string; overrides: Partial<BrokerConfig>; retentionCheckIntervalMs: number } | null =
    null;
  afterEach(async () => {
    const engine = running;
    running = null;
    try {
      await engine?.stop();
    } finally {
      cleanup();
      cleanup = () => {};
    }
  });
  return {
    async start(overrides = {}, retentionCheckIntervalMs = 60_000) {
      const temp = makeTempDir(prefix);
      cleanup = temp.cleanup;
      started = { dir: temp.dir, overrides, retentionCheckIntervalMs };
      running = await startTestEngine(temp.dir, overrides, retentionCheckIntervalMs);
      return running;
    },
    async restart() {
      if (started === null) throw new Error('restart before start');
      const engine = running;
      running = null;
      await engine?.stop();
      running = await startTestEngine(started.dir, started.overrides, started.retentionCheckIntervalMs);
      return running;
    },
  };
}
