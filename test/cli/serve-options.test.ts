import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveServeConfig } from '../../src/cli/serve-options.js';
import { ConfigError } from '../../src/common/errors.js';
import { makeTempDir } from '../support/temp-dir.js';

function errorOf(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('pyralog serve options', () => {
  let cleanup = (): void => {};
  afterEach(() => cleanup());

  it("defaults to ./data, 127.0.0.1, Kafka 9092, HTTP 8080, a shard per core but the acceptor's, fsync always", () => {
    expect(resolveServeConfig([], {}, 1).shardCount).toBe(1);
    expect(resolveServeConfig([], {}, 2).shardCount).toBe(1);
    const config = resolveServeConfig([], {}, 4);
    expect(config).toMatchObject({
      dataDir: './data',
      host: '127.0.0.1',
      kafkaPort: 9092,
      httpPort: 8080,
      shardCount: 3,
      fsync: 'always',
      advertisedHost: '127.0.0.1',
      advertisedPort: 9092,
    });
  });

  it('takes command-line options over environment variables over the config file', () => {
    const temp = makeTempDir('options');
    cleanup = temp.cleanup;
    const file = join(temp.dir, 'pyralog.json');
    writeFileSync(file, JSON.stringify({ 'kafka-port': 1111, 'http-port': 2222, shards: 3, fsync: 'never' }));
    const config = resolveServeConfig(
      ['--config', file, '--kafka-port', '3333'],
      { PYRALOG_KAFKA_PORT: '4444', PYRALOG_HTTP_PORT: '5555' },
      2,
    );
    expect(config.kafkaPort).toBe(3333);
    expect(config.httpPort).toBe(5555);
    expect(config.shardCount).toBe(3);
    expect(config.fsync).toBe('never');
    expect(config.advertisedPort).toBe(3333);
  });

  it('parses fsync intervals, sizes with units and --name=value', () => {
    const config = resolveServeConfig(
      ['--fsync=25', '--segment-bytes', '64MiB', '--ring-bytes', '32MiB'],
      {},
      2,
    );
    expect(config.fsync).toEqual({ intervalMs: 25 });
    expect(config.topicDefaults.segmentBytes).toBe(64 * 1024 * 1024);
    expect(config.ringBytes).toBe(32 * 1024 * 1024);
  });

  it('runs SQL in a nice-19 process, unpaced, unless told otherwise', () => {
    expect(resolveServeConfig([], {}, 2)).toMatchObject({
      sqlIsolation: 'process',
      sqlReadBytesPerSecond: 0,
    });
    const config = resolveServeConfig(
      ['--sql-isolation', 'thread', '--sql-read-bytes-per-second', '16MiB'],
      {},
      2,
    );
    expect(config).toMatchObject({ sqlIsolation: 'thread', sqlReadBytesPerSecond: 16 * 1024 * 1024 });
    expect(errorOf(() => resolveServeConfig(['--sql-isolation', 'fiber'], {}, 2)).option).toBe(
      '--sql-isolation',
    );
    expect(errorOf(() => resolveServeConfig(['--sql-read-bytes-per-second', '-1'], {}, 2)).option).toMatch(
      /sql-read-bytes-per-second/,
    );
  });

  it('names the option in every error', () => {
    expect(errorOf(() => resolveServeConfig(['--kafka-port', 'abc'], {}, 2)).option).toBe('--kafka-port');
    expect(errorOf(() => resolveServeConfig(['--kafka-port', '70000'], {}, 2)).option).toBe('kafka-port');
    expect(errorOf(() => resolveServeConfig(['--fsync', 'sometimes'], {}, 2)).option).toBe('--fsync');
    expect(errorOf(() => resolveServeConfig(['--no-such-thing', '1'], {}, 2)).option).toBe('--no-such-thing');
    expect(errorOf(() => resolveServeConfig(['--shards'], {}, 2)).option).toBe('--shards');
    expect(errorOf(() => resolveServeConfig([], { PYRALOG_SHARDS: 'x' }, 2)).option).toBe('PYRALOG_SHARDS');
    expect(errorOf(() => resolveServeConfig(['--ring-bytes', '100000'], {}, 2)).option).toBe('ring-bytes');
    expect(errorOf(() => resolveServeConfig(['--config', '/nonexistent/pyralog.json'], {}, 2)).option).toBe(
      '--config',
    );
  });

  it('rejects limits that contradict each other', () => {
    const error = errorOf(() =>
      resolveServeConfig(['--ring-bytes', '1MiB', '--max-request-bytes', '1MiB'], {}, 2),
    );
    expect(error.option).toBe('max-request-bytes');
  });
});
