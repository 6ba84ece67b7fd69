import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { makeTempDir } from '../support/temp-dir.js';

/**
 * SIGKILL at each coordinator state, with real processes (a real sharded
 * engine, fsync always): a child runs one transaction (two data partitions
 * and a group's offsets) and kills itself at the chosen point; a second child
 * opens the same data directory and lets the coordinator resume. Kafka's
 * rules: a transaction whose commit decision was durable (PrepareCommit) is
 * committed everywhere, one still Ongoing is aborted by its timeout; a
 * read_committed reader never sees part of it.
 */
const child = fileURLToPath(new URL('./txn-crash-child.ts', import.meta.url));

function runChild(
  args: readonly string[],
): Promise<{ code: number | string; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', child, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    proc.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => proc.kill('SIGKILL'), 30_000);
    proc.once('error', reject);
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? signal ?? -1, stdout, stderr });
    });
  });
}

const ALL = [
  ['p0-0', 'p0-1', 'p0-2'],
  ['p1-0', 'p1-1', 'p1-2'],
];

describe('transaction coordinator crash (SIGKILL)', () => {
  it.each([
    ['ongoing', 'CompleteAbort', [[], []], -1],
    ['prepared', 'CompleteCommit', ALL, 42],
    ['marked', 'CompleteCommit', ALL, 42],
    ['completed', 'CompleteCommit', ALL, 42],
  ] as const)(
    'given a SIGKILL when %s, a restart ends in %s with the data and offsets all or nothing',
    async (point, state, visible, offset) => {
      const temp = makeTempDir(`txn-crash-${point}`);
      try {
        const run = await runChild([temp.dir, 'run', point]);
        expect(run.code, run.stderr).toBe('SIGKILL');
        const verify = await runChild([temp.dir, 'verify']);
        expect(verify.code, verify.stderr).toBe(0);
        expect(JSON.parse(verify.stdout.trim())).toEqual({ state, visible, offset });
      } finally {
        temp.cleanup();
      }
    },
    60_000,
  );
});
