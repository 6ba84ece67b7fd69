import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type ServeProcess, startServe } from '../support/serve-process.js';

/**
 * A broker that has answered SQL over records stops cleanly, its SQL process
 * included (set PYRALOG_TEST_SQL_ISOLATION=thread to check the worker-thread
 * mode the same way).
 */
describe('pyralog serve with SQL', () => {
  let serve: ServeProcess | null = null;
  let dataDir = '';
  afterEach(() => {
    serve?.child.kill('SIGKILL');
    serve = null;
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('given queries over records should stop on SIGTERM with exit code 0', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'pyralog-sql-stop-'));
    serve = await startServe([
      '--data',
      dataDir,
      ...(process.env.PYRALOG_TEST_SQL_ISOLATION === 'thread' ? ['--sql-isolation', 'thread'] : []),
    ]);
    const base = `http://127.0.0.1:${serve.httpPort}`;
    const created = await fetch(`${base}/topics`, {
      method: 'POST',
      body: JSON.stringify({ name: 'events', partitions: 1 }),
    });
    expect(created.ok).toBe(true);
    const records = Array.from({ length: 500 }, (_, n) => ({ value: JSON.stringify({ n }) }));
    const produced = await fetch(`${base}/topics/events/records`, {
      method: 'POST',
      body: JSON.stringify(records),
    });
    expect(produced.ok).toBe(true);
    const answer = await fetch(`${base}/sql`, {
      method: 'POST',
      body: JSON.stringify({ sql: `SELECT count(*) AS n, sum((value->>'$.n')::INT) AS total FROM events` }),
    });
    expect(((await answer.json()) as { rows: unknown[][] }).rows).toEqual([[500, 124750]]);
    serve.child.kill('SIGTERM');
    expect(await serve.exited).toBe(0);
  });
});
