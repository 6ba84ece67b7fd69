import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EtcdTransport, fetchTransport, tlsTransport } from '../src/cluster/etcd/etcd-transport.js';

/**
 * Real etcd members for tests, the chaos checker and benchmarks (Debian's /usr/bin/etcd, 3.4): one or three,
 * on free loopback ports, in a temp dir removed by `stop()`. A member can be
 * killed, paused and restarted on the same data dir, for restart and quorum
 * tests. Timings are etcd's defaults (heartbeat 100 ms, election 1 s), so the
 * shortest lease etcd grants is 2 s.
 */

export const ETCD_BIN = process.env.PYRALOG_ETCD_BIN ?? '/usr/bin/etcd';

/** Whether the etcd binary is there (tests that need it are skipped with a reason otherwise). */
export const etcdAvailable = existsSync(ETCD_BIN);

export interface EtcdMember {
  readonly name: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  /** Whether the process is running (started and not killed). */
  running(): boolean;
  /** SIGKILL (default) or another signal; resolves once the process has exited (at once for SIGSTOP). */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the member again on its data dir (after kill). Resolves when its client port answers. */
  restart(): Promise<void>;
  /** SIGCONT after kill('SIGSTOP'). */
  resume(): void;
}

export interface EtcdCluster {
  readonly endpoints: string[];
  readonly members: EtcdMember[];
  /** Kills every member and removes the data dirs. */
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves when `url`/health answers at all (any status: a member without quorum still answers). */
async function waitForClientPort(
  url: string,
  timeoutMs: number,
  exited: () => string | null,
  transport: EtcdTransport = fetchTransport,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const exit = exited();
    if (exit !== null) throw new Error(`etcd at ${url} exited while starting: ${exit}`);
    try {
      // Any answer will do (POST gets 405 from /version): the port is open and etcd serves it.
      await transport.post(`${url}/version`, '', AbortSignal.timeout(500));
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  throw new Error(`etcd at ${url} did not answer within ${timeoutMs} ms`);
}

/** Resolves when a write through `url` succeeds (the cluster has a leader and quorum). */
export async function waitForQuorum(
  url: string,
  timeoutMs = 20_000,
  transport: EtcdTransport = fetchTransport,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const response = await transport.post(
        `${url}/v3/kv/put`,
        JSON.stringify({ key: Buffer.from('/test/quorum').toString('base64'), value: '' }),
        AbortSignal.timeout(2000),
      );
      if (response.status === 200) return;
      last = `HTTP ${response.status}: ${response.text}`;
    } catch (error) {
      last = String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`etcd at ${url} took no write within ${timeoutMs} ms: ${last}`);
}

/**
 * TLS on etcd's client port: its certificate and key, the CA client certificates must chain to
 * (etcd's --client-cert-auth is on), and the client certificate the helpers here use.
 */
export interface EtcdTlsSetup {
  certFile: string;
  keyFile: string;
  caFile: string;
  clientCertFile: string;
  clientKeyFile: string;
}

export async function startEtcd(
  options: { members?: 1 | 3; startTimeoutMs?: number; tls?: EtcdTlsSetup } = {},
): Promise<EtcdCluster> {
  const count = options.members ?? 1;
  const startTimeoutMs = options.startTimeoutMs ?? 20_000;
  const dir = mkdtempSync(join(tmpdir(), 'pyralog-etcd-'));
  const tls = options.tls;
  const transport =
    tls === undefined
      ? fetchTransport
      : tlsTransport({ caFile: tls.caFile, certFile: tls.clientCertFile, keyFile: tls.clientKeyFile });
  const tlsArgs =
    tls === undefined
      ? []
      : [
          '--cert-file',
          tls.certFile,
          '--key-file',
          tls.keyFile,
          '--trusted-ca-file',
          tls.caFile,
          '--client-cert-auth',
        ];
  const specs: { name: string; clientUrl: string; peerUrl: string }[] = [];
  for (let index = 0; index < count; index++) {
    specs.push({
      name: `m${index}`,
      clientUrl: `${tls === undefined ? 'http' : 'https'}://127.0.0.1:${await freePort()}`,
      peerUrl: `http://127.0.0.1:${await freePort()}`,
    });
  }
  const initialCluster = specs.map((spec) => `${spec.name}=${spec.peerUrl}`).join(',');
  const members = specs.map(
    (spec) =>
      new EtcdProcess(
        spec.name,
        spec.clientUrl,
        spec.peerUrl,
        startTimeoutMs,
        [
          '--data-dir',
          join(dir, spec.name),
          '--initial-cluster',
          initialCluster,
          '--initial-cluster-state',
          'new',
          '--initial-cluster-token',
          `pyralog-test-${process.pid}`,
          ...tlsArgs,
        ],
        transport,
      ),
  );
  const cluster: EtcdCluster = {
    endpoints: members.map((member) => member.clientUrl),
    members,
    async stop() {
      await Promise.all(
        members.map(async (member) => {
          member.resume();
          await member.kill('SIGKILL');
        }),
      );
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    for (const member of members) member.launch();
    for (const member of members) await member.waitStarted();
    await waitForQuorum(members[0]!.clientUrl, startTimeoutMs, transport);
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}

/** One etcd member process; `launch` again after `kill` restarts it on the same data dir. */
class EtcdProcess implements EtcdMember {
  private child: ChildProcess | null = null;
  private exitedWith: string | null = null;
  private output = '';

  constructor(
    readonly name: string,
    readonly clientUrl: string,
    readonly peerUrl: string,
    private readonly startTimeoutMs: number,
    private readonly clusterArgs: readonly string[],
    private readonly transport: EtcdTransport = fetchTransport,
  ) {}

  running(): boolean {
    return this.child !== null;
  }

  launch(): void {
    this.exitedWith = null;
    this.output = '';
    const started = spawn(
      ETCD_BIN,
      [
        '--name',
        this.name,
        '--listen-client-urls',
        this.clientUrl,
        '--advertise-client-urls',
        this.clientUrl,
        '--listen-peer-urls',
        this.peerUrl,
        '--initial-advertise-peer-urls',
        this.peerUrl,
        ...this.clusterArgs,
        '--logger',
        'zap',
        '--log-level',
        'error',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    started.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.output = (this.output + chunk).slice(-4000);
    });
    started.once('exit', (code, signal) => {
      this.exitedWith = `${code ?? signal}: ${this.output}`;
      if (this.child === started) this.child = null;
    });
    this.child = started;
  }

  waitStarted(): Promise<void> {
    return waitForClientPort(this.clientUrl, this.startTimeoutMs, () => this.exitedWith, this.transport);
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const target = this.child;
    if (target === null) return;
    if (signal === 'SIGSTOP') {
      target.kill('SIGSTOP');
      return;
    }
    const exited = new Promise<void>((resolve) => target.once('exit', () => resolve()));
    target.kill(signal);
    await exited;
  }

  resume(): void {
    this.child?.kill('SIGCONT');
  }

  async restart(): Promise<void> {
    if (this.child !== null) throw new Error(`etcd member ${this.name} is still running`);
    this.launch();
    await this.waitStarted();
  }
}
