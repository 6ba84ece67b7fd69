import { describe, expect, it } from 'vitest';
import { runPyralog } from '../support/serve-process.js';

describe('pyralog serve with bad options', () => {
  it.each([
    [['--shards', 'zero'], 'shards'],
    [['--shards', '0'], 'shards'],
    [['--fsync', 'sometimes'], 'fsync'],
    [['--kafka-port', '70000'], 'kafka-port'],
    [['--no-such-option', '1'], 'no-such-option'],
    [['--ring-bytes', '1000'], 'ring-bytes'],
  ])('given %j, exits 2 with a message naming the option', async (args, option) => {
    const result = await runPyralog(['serve', ...args]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(option);
    expect(result.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
  });

  it('given a config file that does not parse, exits 2 naming the file', async () => {
    const result = await runPyralog(['serve', '--config', '/nonexistent/pyralog.json']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('config');
  });

  it('prints its options with --help and exits 0', async () => {
    const result = await runPyralog(['serve', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('--fsync');
    expect(result.stdout).toContain('--kafka-port');
    // Every option's help starts in one column, at least two spaces after the longest option.
    const optionLines = result.stdout.split('\n').filter((line) => line.startsWith('  --'));
    const optionColumn = /^ {2}--\S+(?: <value>| FILE)? {2,}(?=\S)/;
    expect(optionLines.length).toBeGreaterThan(20);
    expect(optionLines.filter((line) => !optionColumn.test(line))).toEqual([]);
    expect(new Set(optionLines.map((line) => optionColumn.exec(line)?.[0].length)).size).toBe(1);
  });
});
