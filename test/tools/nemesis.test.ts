import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { HistoryRecorder } from '../../tools/chaos/history.js';
import { continueProcess, type Fault, processFault, runNemesis } from '../../tools/chaos/nemesis.js';

/** A clock that only moves when the nemesis sleeps, so a schedule runs instantly and exactly. */
function fakeClock(): { now: () => number; sleep: (ms: number) => Promise<void> } {
  let nowMs = 1_000;
  return {
    now: () => nowMs,
    sleep: async (ms) => {
      nowMs += ms;
    },
  };
}

function recordingFault(action: string, log: string[], fail = false): Fault {
  return {
    action,
    target: 'x',
    apply: async () => {
      log.push(action);
      if (fail) throw new Error(`${action} failed`);
    },
  };
}

describe('runNemesis', () => {
  it('given a duration, should alternate fault and heal, each fault held for faultMs', async () => {
    const log: string[] = [];
    const history = new HistoryRecorder();
    const applied = await runNemesis({
      faults: [recordingFault('a', log), recordingFault('b', log)],
      healAll: async () => {
        log.push('heal');
      },
      history,
      seed: 1,
      quietMs: 3_000,
      faultMs: 2_000,
      durationMs: 20_000,
      ...fakeClock(),
    });
    // Quiet 3 s + fault 2 s = one cycle per 5 s of a 20 s run; the fifth quiet period ends past the duration.
    expect(applied).toBe(4);
    expect(log.filter((entry) => entry === 'heal')).toHaveLength(4);
    expect(log.every((entry, i) => (i % 2 === 0 ? entry !== 'heal' : entry === 'heal'))).toBe(true);
    const events = history.events();
    expect(events.map((event) => event.kind)).toEqual([
      'fault',
      'heal',
      'fault',
      'heal',
      'fault',
      'heal',
      'fault',
      'heal',
    ]);
    expect(events[0]).toMatchObject({ kind: 'fault', atMs: 4_000 });
    expect(events[1]).toEqual({ kind: 'heal', atMs: 6_000 });
  });

  it('given order cycle, should apply the faults in the order given, round after round', async () => {
    const log: string[] = [];
    await runNemesis({
      faults: ['a', 'b', 'c'].map((action) => recordingFault(action, log)),
      healAll: async () => {},
      history: new HistoryRecorder(),
      seed: 7,
      quietMs: 1_000,
      faultMs: 1_000,
      durationMs: 10_000,
      order: 'cycle',
      ...fakeClock(),
    });
    expect(log).toEqual(['a', 'b', 'c', 'a', 'b']);
  });

  it('given the same seed, should choose the same faults in the same order', async () => {
    const run = async (seed: number): Promise<string[]> => {
      const log: string[] = [];
      await runNemesis({
        faults: ['a', 'b', 'c', 'd'].map((action) => recordingFault(action, log)),
        healAll: async () => {},
        history: new HistoryRecorder(),
        seed,
        quietMs: 1,
        faultMs: 1,
        durationMs: 40,
        ...fakeClock(),
      });
      return log;
    };
    expect(await run(7)).toEqual(await run(7));
    expect(await run(7)).not.toEqual(await run(8));
  });

  it('given a fault that throws, should still heal and record the heal, then rethrow', async () => {
    const log: string[] = [];
    const history = new HistoryRecorder();
    await expect(
      runNemesis({
        faults: [recordingFault('boom', log, true)],
        healAll: async () => {
          log.push('heal');
        },
        history,
        seed: 1,
        quietMs: 10,
        faultMs: 10,
        durationMs: 1_000,
        ...fakeClock(),
      }),
    ).rejects.toThrow('boom failed');
    expect(log).toEqual(['boom', 'heal']);
    expect(history.events().map((event) => event.kind)).toEqual(['fault', 'heal']);
  });
});

describe('processFault', () => {
  it('given a running process, SIGSTOP stops it and continueProcess resumes it; a dead one is refused', async () => {
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    try {
      await once(child, 'spawn');
      await processFault('child', 'SIGSTOP', () => child).apply();
      continueProcess(child);
      await processFault('child', 'SIGKILL', () => child).apply();
      await once(child, 'exit');
      expect(child.signalCode).toBe('SIGKILL');
      await expect(processFault('child', 'SIGKILL', () => child).apply()).rejects.toThrow(
        'child is not running',
      );
    } finally {
      child.kill('SIGKILL');
    }
  });
});
