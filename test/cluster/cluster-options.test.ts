import { describe, expect, it } from 'vitest';
import { resolveServeConfig } from '../../src/cli/serve-options.js';
import { defaultReplicationFactor } from '../../src/common/broker-config.js';
import { ConfigError } from '../../src/common/errors.js';

describe('pyralog serve cluster options', () => {
  it('given no --etcd, should stay a single node with replication factor 1', () => {
    const config = resolveServeConfig([], {}, 2);
    expect(config.etcdEndpoints).toEqual([]);
    expect(defaultReplicationFactor(config, false)).toBe(1);
  });

  it('given --broker-id, --etcd, --cluster and the lease, should take them from flags, env and file alike', () => {
    const config = resolveServeConfig(
      ['--broker-id', '3', '--etcd', 'http://127.0.0.1:2379, http://127.0.0.1:2381', '--cluster', 'prod'],
      { PYRALOG_ETCD_LEASE_TTL_MS: '9000', PYRALOG_DEFAULT_REPLICATION_FACTOR: '2' },
      2,
    );
    expect(config).toMatchObject({
      nodeId: 3,
      etcdEndpoints: ['http://127.0.0.1:2379', 'http://127.0.0.1:2381'],
      clusterName: 'prod',
      etcdLeaseTtlMs: 9000,
      defaultReplicationFactor: 2,
    });
    expect(defaultReplicationFactor(resolveServeConfig(['--etcd', 'http://e:2379'], {}, 2), true)).toBe(3);
  });

  it('given a bad etcd URL, cluster name, lease or factor, should refuse it naming the option', () => {
    const bad = (argv: string[]) => () => resolveServeConfig(argv, {}, 2);
    expect(bad(['--etcd', '127.0.0.1:2379'])).toThrow(ConfigError);
    expect(bad(['--etcd', '127.0.0.1:2379'])).toThrow(/etcd/);
    expect(bad(['--cluster', 'a/b'])).toThrow(/cluster/);
    expect(bad(['--etcd-lease-ttl-ms', '500'])).toThrow(/etcd-lease-ttl-ms/);
    expect(bad(['--default-replication-factor', '0'])).toThrow(/default-replication-factor/);
  });
});
