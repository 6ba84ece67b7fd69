import { spawn } from 'node:child_process';

/**
 * Runs a command with `input` on its stdin and resolves with its stdout when
 * it exits 0; rejects with its stderr otherwise. It is killed after
 * `timeoutMs`, so a client that hangs fails the test instead of stalling it.
 */
export function runCommand(
  command: string,
  args: readonly string[],
  input = '',
  timeoutMs = 30_000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr}`));
    });
    child.stdin.end(input);
  });
}
