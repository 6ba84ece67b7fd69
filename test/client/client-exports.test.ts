import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/** The client is imported as `pyralog/client` through package.json's exports map, with its types beside it. */
describe('pyralog/client', () => {
  const root = resolve(import.meta.dirname, '../..');

  it('given the built package, should resolve pyralog/client by its package name', () => {
    const script = "const m = await import('pyralog/client'); console.log(typeof m.PyralogClient);";
    const printed = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(printed.trim()).toBe('function');
  });

  it('given the exports map, should name type declarations that the build wrote', () => {
    expect(existsSync(resolve(root, 'dist/src/client/index.d.ts'))).toBe(true);
  });
});
