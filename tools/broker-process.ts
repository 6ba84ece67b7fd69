import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BROKER_NODE_FLAGS } from '../src/cli/broker-node-flags.js';
import { parseServingPorts, type ServingPorts } from '../src/cli/serving-line.js';

/**
 * Starts `pyralog serve` in its own process for benchmarks, so the load
 * generator never shares the broker's acceptor thread. Runs the compiled
 * build when there is one (`npm run bench` builds first), else the
 * TypeScript sources through tsx.
 */
export interface BrokerProcess {
  kafkaPort: number;
  httpPort: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

const root = fileURLToPath(new URL('..', import.meta.url));

export async function startBrokerProcess(
  args: readonly string[],
  /** Another build's compiled `dist/src/cli/main.js`, for before/after comparisons in one run. */
  mainFile?: string,
  /** How long it may take to print its serving line (longer on a loaded machine). */
  startTimeoutMs = 30_000,
): Promise<BrokerProcess> {
  // The compiled build runs faster than the sources through tsx (`npm run bench` builds first).
  const compiled = mainFile ?? `${root}dist/src/cli/main.js`;
  const entry = existsSync(compiled) ? [compiled] : ['--import', 'tsx', `${root}src/cli/main.ts`];
  const child = spawn(
    process.execPath,
    [...BROKER_NODE_FLAGS, ...entry, 'serve', '--kafka-port', '0', '--http-port', '0', ...args],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
      cwd: root,
    },
  );
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  const ports = await new Promise<ServingPorts>((resolve, reject) => {
    const timer = setTimeout(() => {
      // A broker that never served must not outlive the attempt.
      child.kill('SIGKILL');
      reject(new Error(`broker did not start within ${startTimeoutMs} ms:\n${stderr}`));
    }, startTimeoutMs);
    child.stderr!.on('data', (chunk: string) => {
      stderr += chunk;
      const ports = parseServingPorts(stderr);
      if (ports !== null) {
        clearTimeout(timer);
        resolve(ports);
      }
    });
    child.once('exit', (code) => reject(new Error(`broker exited (${code}):\n${stderr}`)));
  });
  return {
    ...ports,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
      }),
  };
}
