import type { ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBrokerProcess } from '../broker-process.js';
import { type EtcdCluster, freePort, startEtcd } from '../etcd-members.js';
import { FaultProxy } from './fault-proxy.js';

/**
 * A cluster of `pyralog serve` processes and real etcd members on 127.0.0.1,
 * for the chaos checker and the replication benches. With `proxied`, every
 * link the nemesis may cut goes through a fault proxy of its own:
 *
 * - `b<i>->etcd<j>`: broker i to etcd member j (broker i's `--etcd` lists its proxies, one per member);
 * - `b<f>->b<l>`: broker f's followers fetching from broker l (`--peer-address l=…` on broker f), one per
 *   ordered pair, so a leader can be cut from its followers while clients and etcd still reach it;
 * - `clients->b<i>`: everyone else (Kafka clients): broker i advertises this proxy's port.
 *
 * Each broker keeps its Kafka port and data directory across restarts, so a
 * killed broker comes back on its own log behind the same proxies.
 */
export interface ProcessClusterOptions {
  brokerIds: readonly number[];
  etcdMembers: 1 | 3;
  clusterName: string;
  leaseTtlMs: number;
  replicaLagTimeMaxMs: number;
  /** Put every link behind a fault proxy (the chaos checker) or connect directly (benches). */
  proxied: boolean;
  /** More `pyralog serve` options for every broker (e.g. `--shards 1`). */
  extraArgs?: readonly string[];
  /** A directory to append each broker's log to (`broker-<id>.log`), kept after the run; none by default. */
  logDir?: string;
}

export interface BrokerSlot {
  readonly id: number;
  readonly dataDir: string;
  readonly kafkaPort: number;
  /** The port clients use: the client proxy's, or the Kafka port itself without proxies. */
  readonly clientPort: number;
  httpPort: number;
  readonly args: readonly string[];
  child: ChildProcess | null;
  /** Resolves when the current process exits. */
  exited: Promise<void>;
}

export class ProcessCluster {
  readonly brokers = new Map<number, BrokerSlot>();
  readonly links = new Map<string, FaultProxy>();

  private constructor(
    readonly etcd: EtcdCluster,
    readonly options: ProcessClusterOptions,
    private readonly root: string,
  ) {}

  static async start(options: ProcessClusterOptions): Promise<ProcessCluster> {
    const etcd = await startEtcd({ members: options.etcdMembers, startTimeoutMs: 30_000 });
    const root = mkdtempSync(join(tmpdir(), `pyralog-${options.clusterName}-`));
    const cluster = new ProcessCluster(etcd, options, root);
    try {
      await cluster.layOut();
      await Promise.all(options.brokerIds.map((id) => cluster.startBroker(id)));
    } catch (error) {
      await cluster.close();
      throw error;
    }
    return cluster;
  }

  /** Picks ports, starts the proxies and writes each broker's command line. */
  private async layOut(): Promise<void> {
    const { brokerIds, proxied } = this.options;
    const kafkaPorts = new Map<number, number>();
    for (const id of brokerIds) kafkaPorts.set(id, await freePort());
    const link = async (name: string, targetPort: number): Promise<number> => {
      const proxy = await FaultProxy.start({ targetPort, name });
      this.links.set(name, proxy);
      return proxy.port;
    };
    for (const id of brokerIds) {
      const kafkaPort = kafkaPorts.get(id)!;
      const etcdUrls: string[] = [];
      for (const [index, member] of this.etcd.members.entries()) {
        const port = Number(new URL(member.clientUrl).port);
        etcdUrls.push(
          proxied ? `http://127.0.0.1:${await link(`b${id}->etcd${index}`, port)}` : member.clientUrl,
        );
      }
      const peers: string[] = [];
      if (proxied) {
        for (const leader of brokerIds) {
          if (leader !== id)
            peers.push(`${leader}=127.0.0.1:${await link(`b${id}->b${leader}`, kafkaPorts.get(leader)!)}`);
        }
      }
      const clientPort = proxied ? await link(`clients->b${id}`, kafkaPort) : kafkaPort;
      const dataDir = join(this.root, `broker-${id}`);
      this.brokers.set(id, {
        id,
        dataDir,
        kafkaPort,
        clientPort,
        httpPort: 0,
        child: null,
        exited: Promise.resolve(),
        args: [
          '--data',
          dataDir,
          '--kafka-port',
          String(kafkaPort),
          '--advertised-port',
          String(clientPort),
          '--broker-id',
          String(id),
          '--etcd',
          etcdUrls.join(','),
          '--cluster',
          this.options.clusterName,
          '--etcd-lease-ttl-ms',
          String(this.options.leaseTtlMs),
          '--replica-lag-time-max-ms',
          String(this.options.replicaLagTimeMaxMs),
          ...(peers.length > 0 ? ['--peer-address', peers.join(',')] : []),
          ...(this.options.extraArgs ?? []),
        ],
      });
    }
  }

  /** Starts (or restarts) broker `id` and resolves once it serves. */
  async startBroker(id: number): Promise<void> {
    const slot = this.slot(id);
    if (this.running(id)) throw new Error(`broker ${id} is still running`);
    const started = await startBrokerProcess(slot.args, undefined, 60_000);
    slot.child = started.child;
    const logDir = this.options.logDir;
    if (logDir !== undefined) {
      mkdirSync(logDir, { recursive: true });
      const logFile = join(logDir, `broker-${id}.log`);
      appendFileSync(logFile, `--- started ${new Date().toISOString()}\n`);
      started.child.stderr?.on('data', (chunk: string) => appendFileSync(logFile, chunk));
    }
    slot.httpPort = started.httpPort;
    slot.exited = new Promise<void>((resolve) => {
      if (started.child.exitCode !== null || started.child.signalCode !== null) resolve();
      else started.child.once('exit', () => resolve());
    });
  }

  running(id: number): boolean {
    const child = this.slot(id).child;
    return child !== null && child.exitCode === null && child.signalCode === null;
  }

  /** Sends `signal` to broker `id`; for SIGKILL and SIGTERM resolves once it has exited. */
  async signal(id: number, signal: 'SIGKILL' | 'SIGTERM' | 'SIGSTOP' | 'SIGCONT'): Promise<void> {
    const slot = this.slot(id);
    if (!this.running(id)) return;
    slot.child!.kill(signal);
    if (signal === 'SIGKILL' || signal === 'SIGTERM') await slot.exited;
  }

  /** Bootstrap addresses for clients. */
  bootstrap(): string[] {
    return [...this.brokers.values()].map((slot) => `127.0.0.1:${slot.clientPort}`);
  }

  /** The proxies of broker `id`'s links to every etcd member. */
  etcdLinksOf(id: number): FaultProxy[] {
    return this.etcd.members.map((_, index) => this.link(`b${id}->etcd${index}`));
  }

  /** The proxies of every replica link to or from broker `id`. */
  peerLinksOf(id: number): FaultProxy[] {
    const found: FaultProxy[] = [];
    for (const other of this.options.brokerIds) {
      if (other === id) continue;
      found.push(this.link(`b${id}->b${other}`), this.link(`b${other}->b${id}`));
    }
    return found;
  }

  link(name: string): FaultProxy {
    const proxy = this.links.get(name);
    if (proxy === undefined) throw new Error(`no link ${name} (is the cluster proxied?)`);
    return proxy;
  }

  healLinks(): void {
    for (const proxy of this.links.values()) proxy.heal();
  }

  /** Stops every broker gracefully (SIGCONT first, in case one is stopped), bounded, then SIGKILL. */
  async stopBrokers(timeoutMs = 20_000): Promise<void> {
    await Promise.all(
      [...this.brokers.keys()].map(async (id) => {
        if (!this.running(id)) return;
        const slot = this.slot(id);
        slot.child!.kill('SIGCONT');
        slot.child!.kill('SIGTERM');
        const timer = setTimeout(() => slot.child?.kill('SIGKILL'), timeoutMs);
        await slot.exited;
        clearTimeout(timer);
      }),
    );
  }

  /** Kills whatever still runs, closes the proxies, stops etcd and removes every data directory. */
  async close(): Promise<void> {
    for (const id of this.brokers.keys()) {
      if (this.running(id)) this.slot(id).child!.kill('SIGKILL');
    }
    await Promise.all([...this.brokers.values()].map((slot) => slot.exited));
    await Promise.all([...this.links.values()].map((proxy) => proxy.close()));
    await this.etcd.stop();
    rmSync(this.root, { recursive: true, force: true });
  }

  private slot(id: number): BrokerSlot {
    const slot = this.brokers.get(id);
    if (slot === undefined) throw new Error(`no broker ${id}`);
    return slot;
  }
}
