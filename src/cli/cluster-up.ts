import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BROKER_NODE_FLAGS } from './broker-node-flags.js';
import { CliError, ExitCode } from './cli-errors.js';
import { parseServingPorts } from './serving-line.js';

/**
 * `pyralog cluster up`: a local cluster for trying cluster mode out: a
 * 3-member etcd (Debian's etcd-server, installed with apt-get where missing)
 * and N brokers, each in its own process, data under ./data/cluster/. Runs
 * until SIGINT or SIGTERM, then stops the brokers gracefully and etcd after.
 * Not for production: every process shares one machine.
 */

export interface ClusterUpOptions {
  brokers: number;
  dataDir: string;
  /** Broker i (from 1) listens for Kafka on kafkaPortBase + i - 1 and HTTP on httpPortBase + i - 1. */
  kafkaPortBase: number;
  httpPortBase: number;
  /** etcd member i (from 0) serves clients on etcdPortBase + 2i and peers on etcdPortBase + 2i + 1. */
  etcdPortBase: number;
  clusterName: string;
}

const ETCD_MEMBERS = 3;
const START_TIMEOUT_MS = 30_000;

function etcdBinary(): string {
  const configured = process.env.PYRALOG_ETCD_BIN;
  if (configured !== undefined) return configured;
  if (existsSync('/usr/bin/etcd')) return '/usr/bin/etcd';
  const update = spawnSync('apt-get', ['update', '-qq'], { stdio: 'ignore' });
  const install = spawnSync('apt-get', ['install', '-y', '-qq', 'etcd-server'], {
    stdio: 'ignore',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (update.status !== 0 || install.status !== 0 || !existsSync('/usr/bin/etcd')) {
    throw new CliError(
      'etcd is missing and could not be installed (apt-get install etcd-server)',
      ExitCode.UNAVAILABLE,
    );
  }
  return '/usr/bin/etcd';
}

/** The pyralog bin this process runs as (so brokers run the same build). */
function pyralogBin(): string {
  const fromArgv = process.argv[1];
  if (fromArgv !== undefined && /pyralog(\.mjs)?$/.test(fromArgv)) return fromArgv;
  return fileURLToPath(new URL('../../../bin/pyralog.mjs', import.meta.url));
}

async function waitForEtcdWrite(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${url}/v3/kv/put`, {
        method: 'POST',
        body: JSON.stringify({ key: Buffer.from('/pyralog-up/ready').toString('base64'), value: '' }),
        signal: AbortSignal.timeout(2000),
      });
      if (response.status === 200) return;
    } catch {
      // not up yet
    }
    await new Promise((done) => setTimeout(done, 200));
  }
  throw new CliError(`etcd at ${url} took no write within ${timeoutMs} ms`, ExitCode.UNAVAILABLE);
}

function waitForServing(child: ChildProcess, name: string): Promise<{ kafkaPort: number; httpPort: number }> {
  return new Promise((done, fail) => {
    let output = '';
    const timer = setTimeout(
      () => fail(new CliError(`${name} did not start:\n${output}`, ExitCode.UNAVAILABLE)),
      START_TIMEOUT_MS,
    );
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      output = (output + chunk).slice(-8000);
      const ports = parseServingPorts(output);
      if (ports !== null) {
        clearTimeout(timer);
        done(ports);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new CliError(`${name} exited (${code}) before serving:\n${output}`, ExitCode.UNAVAILABLE));
    });
  });
}

function stopChild(child: ChildProcess, signal: NodeJS.Signals, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      done();
    });
    child.kill(signal);
  });
}

export async function clusterUp(options: ClusterUpOptions): Promise<number> {
  const etcd = etcdBinary();
  const root = resolve(options.dataDir);
  mkdirSync(root, { recursive: true });
  const members = Array.from({ length: ETCD_MEMBERS }, (_, index) => ({
    name: `etcd-${index}`,
    clientUrl: `http://127.0.0.1:${options.etcdPortBase + 2 * index}`,
    peerUrl: `http://127.0.0.1:${options.etcdPortBase + 2 * index + 1}`,
  }));
  const initialCluster = members.map((member) => `${member.name}=${member.peerUrl}`).join(',');
  const children: ChildProcess[] = [];
  const etcdChildren: ChildProcess[] = [];
  const brokerChildren: ChildProcess[] = [];
  const stopAll = async (): Promise<void> => {
    await Promise.all(brokerChildren.map((child) => stopChild(child, 'SIGTERM', 20_000)));
    await Promise.all(etcdChildren.map((child) => stopChild(child, 'SIGTERM', 5000)));
  };
  try {
    for (const member of members) {
      const child = spawn(
        etcd,
        [
          '--name',
          member.name,
          '--data-dir',
          join(root, member.name),
          '--listen-client-urls',
          member.clientUrl,
          '--advertise-client-urls',
          member.clientUrl,
          '--listen-peer-urls',
          member.peerUrl,
          '--initial-advertise-peer-urls',
          member.peerUrl,
          '--initial-cluster',
          initialCluster,
          '--initial-cluster-state',
          'new',
          '--initial-cluster-token',
          `pyralog-${options.clusterName}`,
          '--logger',
          'zap',
          '--log-level',
          'error',
        ],
        { stdio: ['ignore', 'ignore', 'inherit'] },
      );
      children.push(child);
      etcdChildren.push(child);
    }
    await waitForEtcdWrite(members[0]!.clientUrl, START_TIMEOUT_MS);
    const endpoints = members.map((member) => member.clientUrl).join(',');
    const bin = pyralogBin();
    const started: { id: number; kafkaPort: number; httpPort: number }[] = [];
    for (let id = 1; id <= options.brokers; id++) {
      const child = spawn(
        process.execPath,
        [
          ...BROKER_NODE_FLAGS,
          bin,
          'serve',
          '--broker-id',
          String(id),
          '--etcd',
          endpoints,
          '--cluster',
          options.clusterName,
          '--data',
          join(root, `broker-${id}`),
          '--kafka-port',
          String(options.kafkaPortBase + id - 1),
          '--http-port',
          String(options.httpPortBase + id - 1),
        ],
        { stdio: ['ignore', 'inherit', 'pipe'] },
      );
      children.push(child);
      brokerChildren.push(child);
      const ports = await waitForServing(child, `broker ${id}`);
      // Keep showing what the broker says after it started.
      child.stderr!.on('data', (chunk: string) => process.stderr.write(`[broker ${id}] ${chunk}`));
      started.push({ id, ...ports });
    }
    console.log(`pyralog cluster "${options.clusterName}" up: etcd ${endpoints}`);
    for (const broker of started) {
      console.log(
        `  broker ${broker.id}: kafka 127.0.0.1:${broker.kafkaPort}, http 127.0.0.1:${broker.httpPort}`,
      );
    }
    console.log(`try: kcat -b 127.0.0.1:${started[0]!.kafkaPort} -L`);
    console.log('Ctrl-C stops the brokers, then etcd.');
  } catch (error) {
    await stopAll();
    throw error;
  }
  const exitedEarly = new Promise<string>((done) => {
    for (const [index, child] of children.entries()) {
      child.once('exit', (code, signal) =>
        done(`${index < ETCD_MEMBERS ? 'etcd' : 'a broker'} exited (${code ?? signal})`),
      );
    }
  });
  const signalled = new Promise<string>((done) => {
    process.once('SIGINT', () => done('SIGINT'));
    process.once('SIGTERM', () => done('SIGTERM'));
  });
  const reason = await Promise.race([exitedEarly, signalled]);
  console.error(`pyralog cluster: ${reason}; stopping`);
  await stopAll();
  return reason.startsWith('SIG') ? 0 : 1;
}
