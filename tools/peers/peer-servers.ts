import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';

/**
 * Starts and stops the peers the comparison runs against, each on 127.0.0.1
 * with a temporary data directory: NATS with JetStream (file storage) and
 * Redis (append-only file, appendfsync as asked). Missing servers are
 * installed from Debian's packages (nats-server, redis-server) when apt-get
 * is there and we may use it.
 */
export interface PeerServer {
  port: number;
  stop(): Promise<void>;
}

export function ensureInstalled(binary: string, debianPackage: string): void {
  if (spawnSync('which', [binary]).status === 0) return;
  const update = spawnSync('apt-get', ['update', '-qq'], { stdio: 'ignore' });
  const install = spawnSync('apt-get', ['install', '-y', '-qq', debianPackage], {
    stdio: 'ignore',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (update.status !== 0 || install.status !== 0 || spawnSync('which', [binary]).status !== 0) {
    throw new Error(`${binary} is missing and could not be installed (apt-get install ${debianPackage})`);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
    server.once('error', reject);
  });
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`nothing listens on ${port} after ${timeoutMs} ms`);
}

function stopper(child: ChildProcess): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 5000).unref();
    });
}

/**
 * How often JetStream's file store fsyncs: a duration such as "1s", or "always" (before each ack).
 * nats-server takes `sync_interval` from 2.10 on; older servers (Debian 12 ships 2.9.10) refuse the
 * field and sync on their own schedule, which no option changes.
 */
export type NatsSyncInterval = string;

/** The installed nats-server's version line, e.g. "nats-server: v2.9.10". */
export function natsVersion(): string {
  ensureInstalled('nats-server', 'nats-server');
  return spawnSync('nats-server', ['--version'], { encoding: 'utf8' }).stdout.trim();
}

/**
 * Starts nats-server with JetStream storing in `dataDir`; with `syncInterval`, its file store
 * syncs at that interval (or before each ack). Null when this nats-server cannot take
 * `sync_interval` (checked with `nats-server -t` on the config file, before starting anything).
 */
export async function startNats(
  dataDir: string,
  syncInterval?: NatsSyncInterval,
): Promise<PeerServer | null> {
  ensureInstalled('nats-server', 'nats-server');
  const port = await freePort();
  let args = ['-js', '-sd', dataDir, '-a', '127.0.0.1', '-p', String(port)];
  if (syncInterval !== undefined) {
    const configFile = join(dataDir, 'nats.conf');
    const value = syncInterval === 'always' ? 'always' : JSON.stringify(syncInterval);
    writeFileSync(
      configFile,
      `jetstream {\n  store_dir: ${JSON.stringify(dataDir)}\n  sync_interval: ${value}\n}\n`,
    );
    if (spawnSync('nats-server', ['-c', configFile, '-t'], { stdio: 'ignore' }).status !== 0) return null;
    args = ['-c', configFile, '-a', '127.0.0.1', '-p', String(port)];
  }
  const child = spawn('nats-server', args, { stdio: 'ignore' });
  await waitForPort(port, child);
  return { port, stop: stopper(child) };
}

export async function startRedis(dataDir: string, appendfsync: 'everysec' | 'always'): Promise<PeerServer> {
  ensureInstalled('redis-server', 'redis-server');
  const port = await freePort();
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dataDir,
      '--appendonly',
      'yes',
      '--appendfsync',
      appendfsync,
      '--save',
      '',
      '--protected-mode',
      'no',
    ],
    { stdio: 'ignore' },
  );
  await waitForPort(port, child);
  return { port, stop: stopper(child) };
}
