import { type Broker, startBroker } from '../../src/server/broker.js';
import { testBrokerConfig } from './engine-fixture.js';
import { type EtcdCluster, startEtcd } from './etcd.js';
import { type ServeProcess, startServe } from './serve-process.js';
import { makeTempDir } from './temp-dir.js';

/**
 * Brokers joined through a real etcd started on free ports, for the cluster
 * tests: in this process (`startBrokerCluster`: each broker with its shard
 * worker, stopped gracefully) or as `pyralog serve` child processes
 * (`startServeCluster`: for SIGKILL and SIGSTOP). Both wait until every
 * broker sees all the others live.
 */

/** Short leases, so a lost broker's partitions move within a few seconds. */
export const TEST_LEASE_TTL_MS = 2000;

/** Polls `check` every 100 ms until it holds; throws naming `what` after `timeoutMs`. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`not within ${timeoutMs} ms: ${what}`);
}

export interface ClusterOptions {
  /** The cluster's name in etcd; also names the temporary data directories. */
  name: string;
  brokerIds?: readonly number[];
  leaseTtlMs?: number;
}

export interface BrokerCluster {
  etcd: EtcdCluster;
  /** Live brokers by id; a test that stops one removes it. */
  brokers: Map<number, Broker>;
  /** Stops every broker still in `brokers`, then etcd, and removes the data directories. */
  stop(): Promise<void>;
}

/** Starts etcd and the brokers in this process, one after the other, each with one shard. */
export async function startBrokerCluster(options: ClusterOptions): Promise<BrokerCluster> {
  const ids = options.brokerIds ?? [1, 2, 3];
  const etcd = await startEtcd();
  const brokers = new Map<number, Broker>();
  const cleanups: (() => void)[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all([...brokers.values()].map((broker) => broker.stop()));
    brokers.clear();
    await etcd.stop();
    for (const cleanup of cleanups) cleanup();
  };
  try {
    for (const id of ids) {
      const temp = makeTempDir(`${options.name}-broker-${id}`);
      cleanups.push(temp.cleanup);
      const broker = await startBroker(
        testBrokerConfig(temp.dir, {
          nodeId: id,
          shardCount: 1,
          etcdEndpoints: etcd.endpoints,
          clusterName: options.name,
          etcdLeaseTtlMs: options.leaseTtlMs ?? TEST_LEASE_TTL_MS,
        }),
        { http: false },
      );
      brokers.set(id, broker);
    }
    const first = brokers.get(ids[0]!)!;
    await eventually(() => first.cluster!.liveBrokers().length === ids.length, 30_000, 'every broker live');
  } catch (error) {
    await stop();
    throw error;
  }
  return { etcd, brokers, stop };
}

export interface ServeCluster {
  etcd: EtcdCluster;
  /** The `pyralog serve` processes by broker id (killed ones stay, with their exit promise). */
  processes: Map<number, ServeProcess>;
  /** Data directory of each broker. */
  dataDirs: Map<number, string>;
  /** Starts broker `id` again on its data directory (after it was killed), replacing its entry. */
  restart(id: number): Promise<ServeProcess>;
  /** SIGKILLs every process still running, waits for them, stops etcd and removes the data directories. */
  stop(): Promise<void>;
}

/** Starts etcd and `pyralog serve --etcd` processes (the compiled bin: `npm run build` first). */
export async function startServeCluster(options: ClusterOptions): Promise<ServeCluster> {
  const ids = options.brokerIds ?? [1, 2, 3];
  const etcd = await startEtcd();
  const processes = new Map<number, ServeProcess>();
  const dataDirs = new Map<number, string>();
  const cleanups: (() => void)[] = [];
  const stop = async (): Promise<void> => {
    for (const serve of processes.values()) serve.child.kill('SIGKILL');
    await Promise.all([...processes.values()].map((serve) => serve.exited));
    await etcd.stop();
    for (const cleanup of cleanups) cleanup();
  };
  const start = async (id: number): Promise<ServeProcess> => {
    const serve = await startServe(
      [
        '--broker-id',
        String(id),
        '--etcd',
        etcd.endpoints.join(','),
        '--cluster',
        options.name,
        '--etcd-lease-ttl-ms',
        String(options.leaseTtlMs ?? TEST_LEASE_TTL_MS),
        '--data',
        dataDirs.get(id)!,
        '--shards',
        '1',
      ],
      60_000,
    );
    processes.set(id, serve);
    return serve;
  };
  try {
    for (const id of ids) {
      const temp = makeTempDir(`${options.name}-serve-${id}`);
      cleanups.push(temp.cleanup);
      dataDirs.set(id, temp.dir);
      await start(id);
    }
  } catch (error) {
    await stop();
    throw error;
  }
  const restart = async (id: number): Promise<ServeProcess> => {
    const running = processes.get(id);
    if (running !== undefined && running.child.exitCode === null && running.child.signalCode === null) {
      throw new Error(`broker ${id} is still running`);
    }
    return start(id);
  };
  return { etcd, processes, dataDirs, restart, stop };
}
