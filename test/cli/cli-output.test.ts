import { describe, expect, it } from 'vitest';
import { exitCodeForStatus } from '../../src/cli/cli-errors.js';
import { type CommandSpec, parseCommand } from '../../src/cli/command-spec.js';
import { renderTable, renderYaml } from '../../src/cli/output.js';
import { compileTemplate } from '../../src/cli/record-template.js';

describe('CLI output', () => {
  it('given rows should pad columns to the widest cell, numbers to the right, nulls as -', () => {
    const text = renderTable(
      [
        { name: 'events', partitions: 12, lag: null },
        { name: 'a', partitions: 3, lag: 0 },
      ],
      [
        { header: 'name', value: (r) => r.name },
        { header: 'partitions', value: (r) => r.partitions },
        { header: 'lag', value: (r) => r.lag },
      ],
    );
    expect(text).toBe(
      ['NAME    PARTITIONS  LAG', 'events          12  -', 'a                3    0'].join('\n'),
    );
  });

  it('given nested data should write YAML that quotes what YAML would misread', () => {
    const yaml = renderYaml({
      name: 'events',
      partitions: [{ partition: 0, highWatermark: 5 }],
      config: { 'retention.ms': '-1', enabled: 'true', note: 'a: b' },
      empty: [],
      none: null,
    });
    expect(yaml).toBe(
      [
        'name: events',
        'partitions:',
        '  - partition: 0',
        '    highWatermark: 5',
        'config:',
        '  retention.ms: "-1"',
        '  enabled: "true"',
        '  note: "a: b"',
        'empty: []',
        'none: null',
      ].join('\n'),
    );
  });

  it('given a kcat-like template should print each field, escapes and a literal percent', () => {
    const format = compileTemplate('%t/%p@%o %T %k=%s (%K,%S) [%h] 100%%\\n');
    const line = format({
      topic: 't',
      partition: 2,
      offset: 7,
      timestamp: 1000,
      key: null,
      value: 'héllo',
      headers: { a: '1', b: null },
    });
    expect(line).toBe('t/2@7 1000 =héllo (-1,6) [a=1,b=] 100%\n');
    expect(() => compileTemplate('%x')).toThrow(/unknown field %x/);
    expect(() => compileTemplate('ends with %')).toThrow(/lone/);
  });

  it('maps broker statuses to exit codes by class', () => {
    expect([404, 409, 400, 413, 503, 500].map(exitCodeForStatus)).toEqual([4, 5, 6, 6, 7, 1]);
  });

  it('given an unknown option or a missing value should throw a usage error that carries the help', () => {
    const spec: CommandSpec = {
      name: 'pyralog thing',
      summary: 'does a thing',
      options: { size: { type: 'string', valueName: 'N', description: 'how big' } },
    };
    expect(parseCommand(spec, ['x', '--size', '3'])).toEqual({ values: { size: '3' }, positionals: ['x'] });
    expect(() => parseCommand(spec, ['--size'])).toThrow(expect.objectContaining({ exitCode: 2 }));
    expect(() => parseCommand(spec, ['--bogus'])).toThrow(
      expect.objectContaining({ usage: expect.stringContaining('--size N') }),
    );
  });
});
