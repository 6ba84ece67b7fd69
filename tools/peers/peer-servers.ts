import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { connect, createServer } from 'node:net';

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

export async function startNats(dataDir: string): Promise<PeerServer> {
  ensureInstalled('nats-server', 'nats-server');
  const port = await freePort();
  const child = spawn('nats-server', ['-js', '-sd', dataDir, '-a', '127.0.0.1', '-p', String(port)], {
    stdio: 'ignore',
  });
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
