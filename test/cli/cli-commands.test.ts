import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPyralog, type ServeProcess, startServe } from '../support/serve-process.js';
import { makeTempDir } from '../support/temp-dir.js';

/** `pyralog topic | produce | consume` against a running `pyralog serve`, as a user types them. */
describe('pyralog commands', () => {
  let serve: ServeProcess;
  let url: string;
  const temp = makeTempDir('cli');
  beforeAll(async () => {
    serve = await startServe(['--data', temp.dir, '--shards', '1']);
    url = `http://127.0.0.1:${serve.httpPort}`;
  }, 30_000);
  afterAll(async () => {
    serve.child.kill('SIGTERM');
    await serve.exited;
    temp.cleanup();
  });

  it('creates a topic, produces to it, consumes what was produced, and deletes it', async () => {
    const created = await runPyralog([
      'topic',
      'create',
      'audit',
      '--partitions',
      '2',
      '--config',
      '{"retention.ms":3600000}',
      '--url',
      url,
    ]);
    expect(created.code).toBe(0);
    const produced = await runPyralog([
      'produce',
      'audit',
      'first',
      'second',
      '--partition',
      '1',
      '--url',
      url,
    ]);
    expect(produced.stdout.trim().split('\n')).toEqual(['audit-1@0', 'audit-1@1']);
    const consumed = await runPyralog(['consume', 'audit', '--partition', '1', '--url', url]);
    const values = consumed.stdout
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { value: string }).value);
    expect(values).toEqual(['first', 'second']);
    const described = await runPyralog(['topic', 'describe', 'audit', '--url', url]);
    expect(JSON.parse(described.stdout)).toMatchObject({
      name: 'audit',
      partitions: [{ partition: 0 }, { partition: 1, logEndOffset: 2 }],
    });
    expect((await runPyralog(['topic', 'delete', 'audit', '--url', url])).code).toBe(0);
    const listed = await runPyralog(['topic', 'list', '--url', url]);
    expect(listed.stdout).not.toContain('"audit"');
  }, 60_000);

  it('reports an unknown topic clearly, with a non-zero exit code', async () => {
    const result = await runPyralog(['consume', 'missing', '--url', url]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('UNKNOWN_TOPIC');
  });
});
