import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { runPyralog, type ServeProcess, startServe } from '../support/serve-process.js';
import { makeTempDir } from '../support/temp-dir.js';

/** The pyralog commands against a running `pyralog serve`, as a user or a script types them. */
describe('pyralog commands', () => {
  let serve: ServeProcess;
  let url: string;
  const temp = makeTempDir('cli');
  const run = (args: string[], stdin?: string) => runPyralog([...args, '--url', url], 20_000, stdin);
  const json = async (args: string[]): Promise<unknown> => {
    const result = await run([...args, '--format', 'json']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    return JSON.parse(result.stdout);
  };
  beforeAll(async () => {
    serve = await startServe(['--data', temp.dir, '--shards', '1']);
    url = `http://127.0.0.1:${serve.httpPort}`;
  }, 30_000);
  afterAll(async () => {
    serve.child.kill('SIGTERM');
    await serve.exited;
    temp.cleanup();
  });

  it('given a new topic when lines are piped to produce should consume them from every partition', async () => {
    const created = await run(['topic', 'create', 'audit', '-p', '3', '-c', 'retention.ms=3600000']);
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^TOPIC\s+PARTITIONS\s+STATUS\naudit\s+3\s+created$/m);
    const lines = Array.from({ length: 30 }, (_, i) => `k${i % 5}:v${i}`).join('\n');
    const produced = await run(['produce', 'audit', '-K', ':', '-H', 'source=test'], `${lines}\n`);
    expect(produced.code).toBe(0);
    expect(produced.stdout.trim().split('\n')).toHaveLength(30);
    const consumed = await run(['consume', 'audit']);
    expect(consumed.code).toBe(0);
    const records = consumed.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { partition: number; key: string; value: string; headers: object });
    expect(records).toHaveLength(30);
    expect(new Set(records.map((r) => r.partition)).size).toBeGreaterThan(1);
    expect(records.map((r) => r.value).sort()).toEqual(Array.from({ length: 30 }, (_, i) => `v${i}`).sort());
    // Keys keep their order within their partition.
    for (let k = 0; k < 5; k++) {
      const values = records.filter((r) => r.key === `k${k}`).map((r) => Number(r.value.slice(1)));
      expect(values).toEqual([...values].sort((a, b) => a - b));
      expect(new Set(records.filter((r) => r.key === `k${k}`).map((r) => r.partition)).size).toBe(1);
    }
    expect(records[0]!.headers).toEqual({ source: 'test' });
  });

  it('given a kcat-like template, an offset and a count should print exactly those records', async () => {
    await run(['topic', 'create', 'tpl', '-p', '1']);
    await run(['produce', 'tpl', 'a', 'b', 'c', 'd', '--key', 'K']);
    const out = await run(['consume', 'tpl', '-o', '1', '-n', '2', '--fmt', '%t/%p@%o %k=%s %S\\n']);
    expect(out.stdout).toBe('tpl/0@1 K=b 1\ntpl/0@2 K=c 1\n');
    const end = await run(['consume', 'tpl', '-o', 'end']);
    expect(end.stdout).toBe('');
  });

  it('given --follow should print records produced after it started, in order', async () => {
    await run(['topic', 'create', 'live', '-p', '2']);
    const following = run(['consume', 'live', '-f', '-n', '4', '--fmt', '%s\\n']);
    await new Promise((resolve) => setTimeout(resolve, 700));
    await run(['produce', 'live', 'one', 'two', 'three', 'four', '-p', '1']);
    const out = await following;
    expect(out.code).toBe(0);
    expect(out.stdout).toBe('one\ntwo\nthree\nfour\n');
  });

  it('alters settings and adds partitions, and describe shows them', async () => {
    await run(['topic', 'create', 'grow', '-p', '1']);
    const altered = (await json(['topic', 'alter-config', 'grow', '-c', 'retention.ms=5000'])) as {
      config: Record<string, string>;
    };
    expect(altered.config['retention.ms']).toBe('5000');
    expect(
      ((await json(['topic', 'add-partitions', 'grow', '-n', '2'])) as { partitions: number }).partitions,
    ).toBe(3);
    const described = (await json(['topic', 'describe', 'grow'])) as {
      partitions: unknown[];
      config: object;
    };
    expect(described.partitions).toHaveLength(3);
    expect(described.config).toMatchObject({ 'retention.ms': '5000' });
    const reset = (await json(['topic', 'alter-config', 'grow', '-c', 'retention.ms='])) as {
      config: Record<string, string>;
    };
    expect(reset.config['retention.ms']).not.toBe('5000');
    const table = (await run(['topic', 'describe', 'grow'])).stdout;
    expect(table).toMatch(/KEY\s+VALUE\s+SOURCE\s+APPLIED/);
    expect(table).toMatch(/cleanup\.policy\s+delete\s+default\s+yes/);
    expect(table).toMatch(/min\.insync\.replicas\s+1\s+default\s+no/);
    const shrink = await run(['topic', 'add-partitions', 'grow', '--total', '2']);
    expect(shrink.code).toBe(6);
    expect(shrink.stderr).toContain('INVALID_CONFIG');
  });

  it('given a group that consumed should show its lag, reset it, and delete it', async () => {
    await run(['topic', 'create', 'lagged', '-p', '2']);
    await run(['produce', 'lagged', 'a', 'b', 'c', '-p', '0']);
    await run(['produce', 'lagged', 'd', '-p', '1']);
    await run(['consume', 'lagged', '-g', 'readers', '-n', '2']);
    const described = (await json(['group', 'describe', 'readers'])) as {
      state: string;
      totalLag: number;
      offsets: { partition: number; committedOffset: number; lag: number }[];
    };
    expect(described.state).toBe('Empty');
    // Partition 0 committed at 2 of 3; partition 1 was never reached, so it has no committed offset.
    expect(described.offsets.map((o) => [o.partition, o.committedOffset, o.lag])).toEqual([[0, 2, 1]]);
    expect(described.totalLag).toBe(1);
    const table = await run(['group', 'describe', 'readers']);
    expect(table.stdout).toMatch(/TOPIC\s+PARTITION\s+COMMITTED-OFFSET\s+HIGH-WATERMARK\s+LAG/);
    const listed = (await json(['group', 'list'])) as { groupId: string }[];
    expect(listed.map((g) => g.groupId)).toContain('readers');
    // The next read of the group picks up where it stopped.
    const rest = await run(['consume', 'lagged', '-g', 'readers', '--fmt', '%s\\n']);
    expect(rest.stdout.split('\n').filter(Boolean).sort()).toEqual(['c', 'd']);
    await run(['group', 'reset-offsets', 'readers', '-t', 'lagged', '--to', 'start']);
    expect(((await json(['group', 'describe', 'readers'])) as { totalLag: number }).totalLag).toBe(4);
    expect((await run(['group', 'delete', 'readers'])).code).toBe(0);
    const gone = await run(['group', 'describe', 'readers']);
    expect(gone.code).toBe(4);
    expect(gone.stderr).toContain('UNKNOWN_GROUP');
  });

  it('prints YAML for scripts that want it', async () => {
    const out = await run(['cluster', 'info', '--format', 'yaml']);
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/^clusterId: pyralog$/m);
    expect(out.stdout).toMatch(/^brokers:\n {2}- nodeId: 0$/m);
    expect((await run(['cluster', 'health'])).stdout).toMatch(/HEALTHY[\s\S]*true/);
  });

  it('answers --help on every command and subcommand with exit code 0', async () => {
    const commands = [
      ['topic'],
      ['topic', 'create'],
      ['topic', 'list'],
      ['topic', 'describe'],
      ['topic', 'alter-config'],
      ['topic', 'add-partitions'],
      ['topic', 'delete'],
      ['produce'],
      ['consume'],
      ['group'],
      ['group', 'list'],
      ['group', 'describe'],
      ['group', 'reset-offsets'],
      ['group', 'delete'],
      ['cluster'],
      ['cluster', 'info'],
      ['cluster', 'health'],
      ['serve'],
      ['bench'],
    ];
    // In-process: the same main() the bin runs, without a node start-up per command.
    const printed: string[] = [];
    const log = vi
      .spyOn(console, 'log')
      .mockImplementation((text: unknown) => void printed.push(String(text)));
    const error = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      for (const command of commands) {
        printed.length = 0;
        const code = await main([...command, '--help']);
        expect({ command, code }).toEqual({ command, code: 0 });
        expect(printed.join('\n')).toMatch(/Usage: pyralog/);
      }
      expect(error).not.toHaveBeenCalled();
    } finally {
      log.mockRestore();
      error.mockRestore();
    }
    // And once through the real bin.
    const real = await runPyralog(['group', 'reset-offsets', '--help']);
    expect(real.code).toBe(0);
    expect(real.stdout).toContain('--to start|end|N|@MS');
  });

  it('gives each class of error its own exit code, on stderr', async () => {
    const unknownTopic = await run(['consume', 'missing']);
    expect(unknownTopic.code).toBe(4);
    expect(unknownTopic.stderr).toContain('UNKNOWN_TOPIC');
    expect(unknownTopic.stdout).toBe('');
    await run(['topic', 'create', 'twice']);
    const exists = await run(['topic', 'create', 'twice']);
    expect(exists.code).toBe(5);
    const badConfig = await run(['topic', 'create', 'bad', '-c', 'segment.bytes=1']);
    expect(badConfig.code).toBe(6);
    const usage = await run(['topic', 'create', '--partitions']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('Usage: pyralog topic create');
    const unknownOption = await run(['produce', 'x', '--nope']);
    expect(unknownOption.code).toBe(2);
    const unreachable = await runPyralog(['cluster', 'health', '--url', 'http://127.0.0.1:9']);
    expect(unreachable.code).toBe(3);
    expect(unreachable.stderr).toContain('cannot reach the broker');
  });
});
