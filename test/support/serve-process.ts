import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BROKER_NODE_FLAGS } from '../../src/cli/broker-node-flags.js';
import { parseServingPorts, type ServingPorts } from '../../src/cli/serving-line.js';

/**
 * Runs `pyralog serve` (the compiled bin, as a user would) in a child
 * process, for tests of the command's lifecycle: option errors, signals,
 * graceful stop, crash and restart.
 */
export const PYRALOG_BIN = fileURLToPath(new URL('../../bin/pyralog.mjs', import.meta.url));

export interface ServeProcess {
  child: ChildProcess;
  kafkaPort: number;
  httpPort: number;
  stderr(): string;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  exited: Promise<number | string>;
}

/** Starts `pyralog serve` with `args` on ephemeral ports and waits for its "serving" line. */
export async function startServe(args: readonly string[], timeoutMs = 20_000): Promise<ServeProcess> {
  const child = spawn(
    process.execPath,
    [...BROKER_NODE_FLAGS, PYRALOG_BIN, 'serve', '--kafka-port', '0', '--http-port', '0', ...args],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      // No start-up warm-up (about 0.6 s a start): test/server/warm-up.test.ts covers it; --warm-up still wins.
      env: { ...process.env, PYRALOG_LOG_LEVEL: 'warn', PYRALOG_WARM_UP: 'false' },
    },
  );
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stdout!.resume();
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)),
  );
  const ports = await new Promise<ServingPorts>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`pyralog serve did not start within ${timeoutMs} ms:\n${stderr}`));
    }, timeoutMs);
    child.stderr!.on('data', (chunk: string) => {
      stderr += chunk;
      const ports = parseServingPorts(stderr);
      if (ports !== null) {
        clearTimeout(timer);
        resolve(ports);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`pyralog serve exited (${code}) before serving:\n${stderr}`));
    });
  });
  return { child, ...ports, stderr: () => stderr, exited };
}

/** Runs `pyralog <args>` to completion and returns its exit code and output; `env` adds variables. */
export function runPyralog(
  args: readonly string[],
  timeoutMs = 20_000,
  stdin?: string,
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | string; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [PYRALOG_BIN, ...args], {
      stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    if (stdin !== undefined) child.stdin!.end(stdin);
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`pyralog ${args.join(' ')} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? signal ?? -1, stdout, stderr });
    });
  });
}
