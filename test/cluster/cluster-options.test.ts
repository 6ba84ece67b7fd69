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

  it('given --peer-address and --replica-lag-time-max-ms, should take them from flags, env and file alike', () => {
    const etcd = ['--etcd', 'http://127.0.0.1:2379', '--broker-id', '1'];
    expect(
      resolveServeConfig([...etcd, '--peer-address', '2=127.0.0.1:19092, 3=[::1]:19093'], {}, 2)
        .peerAddresses,
    ).toEqual([
      { brokerId: 2, host: '127.0.0.1', port: 19092 },
      { brokerId: 3, host: '::1', port: 19093 },
    ]);
    const fromEnv = resolveServeConfig(
      etcd,
      { PYRALOG_PEER_ADDRESS: '3=b3.internal:9092', PYRALOG_REPLICA_LAG_TIME_MAX_MS: '2500' },
      2,
    );
    expect(fromEnv.peerAddresses).toEqual([{ brokerId: 3, host: 'b3.internal', port: 9092 }]);
    expect(fromEnv.replicaLagTimeMaxMs).toBe(2500);
    const defaults = resolveServeConfig(etcd, {}, 2);
    expect(defaults.peerAddresses).toEqual([]);
    expect(defaults.replicaLagTimeMaxMs).toBe(10_000);
  });

  it('given a malformed, repeated, self or single-node peer address, should refuse it naming the option', () => {
    const bad = (argv: string[]) => () =>
      resolveServeConfig(['--etcd', 'http://127.0.0.1:2379', '--broker-id', '1', ...argv], {}, 2);
    expect(bad(['--peer-address', '2=127.0.0.1'])).toThrow(/peer-address/);
    expect(bad(['--peer-address', 'b2=127.0.0.1:9092'])).toThrow(/peer-address/);
    expect(bad(['--peer-address', '2=127.0.0.1:0'])).toThrow(/peer-address/);
    expect(bad(['--peer-address', '2=h:1,2=h:2'])).toThrow(/given twice/);
    expect(bad(['--peer-address', '1=h:9092'])).toThrow(/this broker/);
    expect(bad(['--replica-lag-time-max-ms', '10'])).toThrow(/replica-lag-time-max-ms/);
    expect(() => resolveServeConfig(['--peer-address', '2=h:9092'], {}, 2)).toThrow(/cluster mode/);
  });

  it('given inter-broker and etcd TLS options, should take them from flags and env, and refuse inconsistent ones', () => {
    const config = resolveServeConfig(
      [
        '--etcd',
        'https://127.0.0.1:2379',
        '--listeners',
        'PLAINTEXT://127.0.0.1:9092,SASL_SSL://127.0.0.1:9093',
        '--tls-cert-file',
        'server.crt',
        '--tls-key-file',
        'server.key',
        '--inter-broker-listener',
        'SASL_SSL',
        '--inter-broker-sasl-username',
        'broker',
        '--etcd-tls-ca-file',
        'ca.crt',
      ],
      { PYRALOG_INTER_BROKER_SASL_PASSWORD_FILE: '/run/broker-password' },
      2,
    );
    expect(config.security).toMatchObject({
      interBrokerListener: 'SASL_SSL',
      interBrokerSaslMechanism: 'SCRAM-SHA-512',
      interBrokerSaslUsername: 'broker',
      interBrokerSaslPasswordFile: '/run/broker-password',
      etcdTlsCaFile: 'ca.crt',
    });
    const bad = (argv: string[]) => () => resolveServeConfig(argv, {}, 2);
    expect(bad(['--inter-broker-listener', 'HTTP'])).toThrow(/inter-broker-listener/);
    // The listener must be one of --listeners, and SASL needs the broker user and its password file.
    expect(bad(['--inter-broker-listener', 'SSL'])).toThrow(/--listeners does not list/);
    expect(
      bad(['--listeners', 'SASL_PLAINTEXT://127.0.0.1:9093', '--inter-broker-listener', 'SASL_PLAINTEXT']),
    ).toThrow(/inter-broker-sasl-username/);
    expect(bad(['--etcd-tls-cert-file', 'c.crt'])).toThrow(/etcd-tls-key-file/);
  });
});
