import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { nativeDoorbell } from '../../src/ring/index.js';

/**
 * The doorbell addon (src/native/doorbell.c) on its own: rings from another
 * thread run the owner's callback on its event loop, coalesced; a closed
 * doorbell ignores rings; a thread that ends with one open ends cleanly.
 * The ring protocol over it (no lost wake-ups) is in ring-doorbell.test.ts.
 */
const addonPath = fileURLToPath(new URL('../../src/native/build/Release/doorbell.node', import.meta.url));

/** Runs `source` (CommonJS) in a worker with `doorbell` bound to the addon; resolves with its exit code. */
function inWorker(source: string, workerData: unknown): Promise<number> {
  const worker = new Worker(`const doorbell = require(${JSON.stringify(addonPath)});\n${source}`, {
    eval: true,
    workerData,
  });
  return new Promise((resolve, reject) => {
    worker.once('error', reject);
    worker.once('exit', resolve);
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.runIf(nativeDoorbell !== undefined)('native doorbell', () => {
  const doorbell = nativeDoorbell!;

  it('given a doorbell opened here when another thread rings it many times then the callback runs on this thread, at least once and never more often than it was rung', async () => {
    let calls = 0;
    let rung: () => void = () => {};
    const firstCall = new Promise<void>((resolve) => {
      rung = resolve;
    });
    const id = doorbell.open(() => {
      calls++;
      rung();
    });
    try {
      const exitCode = await inWorker(
        'for (let i = 0; i < 1000; i++) doorbell.ring(require("node:worker_threads").workerData);',
        id,
      );
      expect(exitCode).toBe(0);
      await Promise.race([firstCall, sleep(5_000)]);
      await sleep(20);
      expect(calls).toBeGreaterThanOrEqual(1);
      expect(calls).toBeLessThanOrEqual(1000);
    } finally {
      doorbell.close(id);
    }
  });

  it('given a closed doorbell when it is rung then nothing runs and nothing fails', async () => {
    let calls = 0;
    const id = doorbell.open(() => {
      calls++;
    });
    doorbell.close(id);
    doorbell.ring(id);
    expect(await inWorker('doorbell.ring(require("node:worker_threads").workerData);', id)).toBe(0);
    await sleep(20);
    expect(calls).toBe(0);
  });

  it('given a bad id or callback when used then it throws a clear error', () => {
    expect(() => doorbell.ring(-1)).toThrow(/doorbell id/);
    expect(() => doorbell.open(42 as unknown as () => void)).toThrow(/callback/);
  });

  it('given a thread that ends with its doorbell open when it exits then it exits cleanly and a later ring does nothing', async () => {
    const exitCode = await inWorker(
      `const { parentPort } = require('node:worker_threads');
       const id = doorbell.open(() => {});
       parentPort.postMessage(id);
       setTimeout(() => process.exit(0), 10);`,
      null,
    );
    expect(exitCode).toBe(0);
    // Its slot is free again: rings of any id that is not open are ignored.
    for (let id = 0; id < 8; id++) doorbell.ring(id);
  });

  it('given a callback that has run when more rings come then it runs again (the handle stays armed)', async () => {
    let calls = 0;
    const id = doorbell.open(() => {
      calls++;
    });
    try {
      for (let round = 1; round <= 3; round++) {
        doorbell.ring(id);
        const deadlineMs = performance.now() + 5_000;
        while (calls < round && performance.now() < deadlineMs) await sleep(1);
        expect(calls).toBe(round);
      }
    } finally {
      doorbell.close(id);
    }
  });
});
