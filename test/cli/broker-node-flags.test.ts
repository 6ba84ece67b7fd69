import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BROKER_NODE_FLAGS } from '../../src/cli/broker-node-flags.js';

const root = new URL('../../', import.meta.url);

describe('the Node flags the broker runs with', () => {
  it('are on the pyralog bin shebang and in npm start, which cannot import them', () => {
    const shebang = readFileSync(new URL('bin/pyralog.mjs', root), 'utf8').split('\n')[0];
    expect(shebang).toBe(`#!/usr/bin/env -S node ${BROKER_NODE_FLAGS.join(' ')}`);
    const packageJson = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(packageJson.scripts.start).toBe(`node ${BROKER_NODE_FLAGS.join(' ')} dist/src/cli/main.js serve`);
  });

  it('are accepted by this Node (an unknown V8 flag would stop the broker at start)', () => {
    const output = execFileSync(process.execPath, [...BROKER_NODE_FLAGS, '-p', 'process.execArgv.length'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(Number(output.trim())).toBe(BROKER_NODE_FLAGS.length + 2);
  });
});
