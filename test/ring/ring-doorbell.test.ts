import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import {
  createRingBuffer,
  nativeDoorbell,
  RingReader,
  type RingRecord,
  RingWriter,
} from '../../src/ring/index.js';
import { STOP_TYPE } from './doorbell-wait.js';
import { nextRandom } from './ring-traffic.js';

const boot = fileURLToPath(new URL('../../workers/tsx-boot.mjs', import.meta.url));
const echoEntry = new URL('./ring-echo-thread.ts', import.meta.url).href;

/** Long enough that a slow peer on a loaded machine never looks like a lost wake-up. */
const WAIT_TIMEOUT_MS = 2_000;
/** Bounds the whole exchange in time whatever the machine's load (a lost wake-up stops it earlier). */
const EXCHANGE_DEADLINE_MS = 30_000;
const ROUND_TRIPS = 20_000;

/** Spins for about `iterations` atomic loads: a seeded, tiny delay that moves where a publish lands. */
function spin(control: Int32Array, iterations: number): void {
  for (let i = 0; i < iterations; i++) Atomics.load(control, 0);
}

/** How the test thread, which has an event loop, sleeps on its reply ring between bursts. */
type Sleeper = 'waitAsync' | 'native';

/**
 * Sends ROUND_TRIPS records to the echo thread in seeded bursts and reads its
 * answers, counting the waits on either side that ran out their timeout with
 * a record published (lost wake-ups).
 */
async function exchange(sleeper: Sleeper): Promise<{
  lostWakeUps: number;
  echoLostWakeUps: number;
  answered: number;
  echoed: number;
}> {
  const requests = createRingBuffer(1 << 12);
  const replies = createRingBuffer(1 << 12);
  const writer = new RingWriter(requests);
  const reader = new RingReader(replies);
  // The native doorbell runs `wake` on this thread's loop when the echo thread's publish rings it.
  let wake: (() => void) | null = null;
  const doorbellId = sleeper === 'native' ? nativeDoorbell!.open(() => wake?.()) : -1;
  const echo = new Worker(boot, {
    workerData: {
      pyralogEntry: echoEntry,
      requests,
      replies,
      replyDoorbell: doorbellId,
      timeoutMs: WAIT_TIMEOUT_MS,
      deadlineMs: EXCHANGE_DEADLINE_MS,
    },
  });
  const echoed = new Promise<{ lostWakeUps: number; echoed: number }>((resolve, reject) => {
    echo.once('message', resolve);
    echo.once('error', reject);
  });
  const state = Uint32Array.of(0x2545f491);
  const scratch = new Int32Array(1);
  const record: RingRecord = { type: 0, flags: 0, correlationId: 0, payloadPosition: 0, payloadBytes: 0 };
  const endMs = performance.now() + EXCHANGE_DEADLINE_MS;
  let sent = 0;
  let answered = 0;
  let lostWakeUps = 0;
  try {
    while (sent < ROUND_TRIPS && lostWakeUps === 0 && performance.now() < endMs) {
      // A burst of 1..4 records, published after a seeded delay of 0..~1,000 loads: the echo thread is
      // caught at every point of its way to sleep (draining, setting the flag, re-checking, asleep).
      const burst = Math.min(1 + (nextRandom(state) % 4), ROUND_TRIPS - sent);
      for (let i = 0; i < burst; i++) writer.tryClaim(0, 1, 0, sent++);
      spin(scratch, nextRandom(state) % 1024);
      writer.publish();
      // The test thread has an event loop: it waits like the acceptor, without spinning.
      while (answered < sent && lostWakeUps === 0 && performance.now() < endMs) {
        while (reader.tryRead(record)) {
          expect(record.correlationId).toBe(answered);
          answered++;
        }
        reader.release();
        if (answered === sent) break;
        const startMs = performance.now();
        if (sleeper === 'waitAsync') {
          await reader.waitAsync(WAIT_TIMEOUT_MS);
        } else {
          if (!reader.armDoorbell()) continue;
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, WAIT_TIMEOUT_MS);
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          wake = null;
        }
        if (performance.now() - startMs >= WAIT_TIMEOUT_MS && reader.hasData()) lostWakeUps++;
      }
    }
  } finally {
    writer.tryClaim(0, STOP_TYPE, 0, 0);
    writer.publish();
  }
  const echoSide = await echoed;
  await echo.terminate();
  if (doorbellId >= 0) nativeDoorbell!.close(doorbellId);
  return { lostWakeUps, echoLostWakeUps: echoSide.lostWakeUps, answered, echoed: echoSide.echoed };
}

describe('ring doorbell: no lost wake-ups', () => {
  it('given two threads that sleep on the doorbell without spinning, when they exchange thousands of records at random moments, then no wait ever runs out its timeout with a record published', async () => {
    const result = await exchange('waitAsync');
    expect(result).toEqual({
      lostWakeUps: 0,
      echoLostWakeUps: 0,
      answered: ROUND_TRIPS,
      echoed: ROUND_TRIPS,
    });
  }, 60_000);

  it.runIf(nativeDoorbell !== undefined)(
    'given the event-loop side asleep on the native doorbell instead of waitAsync, when they exchange thousands of records at random moments, then no wait runs out its timeout with a record published',
    async () => {
      const result = await exchange('native');
      expect(result).toEqual({
        lostWakeUps: 0,
        echoLostWakeUps: 0,
        answered: ROUND_TRIPS,
        echoed: ROUND_TRIPS,
      });
    },
    60_000,
  );
});
