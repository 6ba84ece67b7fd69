import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { OffloadPool } from '../../src/engine/offload-pool.js';
import { CompressionCodec } from '../../src/record/batch-header.js';

/**
 * A fresh broker used to spend its first second loading Arrow and the codecs in the offload pool's
 * worker while serving its first requests on the same cores (bench/RESULTS.md, "the first second of a
 * fresh broker"). `ready()` moves that load before the listeners open: after it, the first real task
 * finds a worker that has nothing left to load.
 */
describe('OffloadPool.ready', () => {
  const pools: OffloadPool[] = [];
  afterEach(async () => {
    await Promise.all(pools.splice(0).map((pool) => pool.close()));
  });

  async function firstTaskMs(warmFirst: boolean): Promise<number> {
    const pool = new OffloadPool(1);
    pools.push(pool);
    if (warmFirst) await pool.ready();
    const compressed = gzipSync(Buffer.from('x'.repeat(1000)));
    const startMs = performance.now();
    const inflated = await pool.decompress(CompressionCodec.GZIP, compressed);
    const elapsedMs = performance.now() - startMs;
    expect(inflated.length).toBe(1000);
    return elapsedMs;
  }

  it('leaves the first task nothing to load: it takes a fraction of a cold pool’s first task', async () => {
    const coldMs = await firstTaskMs(false);
    const warmMs = await firstTaskMs(true);
    // Cold: the worker starts and imports Arrow, lz4, snappy and zstd (hundreds of ms on this machine);
    // warm: one message round trip. The margin is wide so that a loaded machine does not flake it.
    expect(warmMs).toBeLessThan(coldMs / 4);
  }, 30_000);
});

describe('OffloadPool.close', () => {
  it('ends a worker that loaded the codecs without taking the process down (napi-rs addons)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pool-close-'));
    try {
      const script = join(dir, 'close-pool.mts');
      const poolModule = new URL('../../src/engine/offload-pool.ts', import.meta.url).href;
      writeFileSync(
        script,
        `import { OffloadPool } from '${poolModule}';\n` +
          'const pool = new OffloadPool(1);\nawait pool.ready();\nawait pool.close();\nconsole.log("closed");\n',
      );
      const child = spawnSync(process.execPath, ['--import', 'tsx', script], {
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect({ status: child.status, signal: child.signal, stdout: child.stdout.trim() }).toEqual({
        status: 0,
        signal: null,
        stdout: 'closed',
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 40_000);
});
