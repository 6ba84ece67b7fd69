import type { ChildProcess } from 'node:child_process';
import { SeededRandom } from '../../src/cluster/placement/index.js';
import type { FaultProxy } from './fault-proxy.js';
import type { HistoryRecorder } from './history.js';

/**
 * The nemesis of a chaos run: every few seconds it applies one fault, holds it,
 * then undoes every fault, recording each fault and heal in the history so the
 * checker can relate writes to them. Which fault comes next is drawn from a
 * seeded generator, so a failing run can be replayed with the same schedule.
 */
export interface Fault {
  /** What it does, e.g. "blackhole" or "SIGKILL". */
  readonly action: string;
  /** What it does it to, e.g. "broker1->etcd" or "broker-2". */
  readonly target: string;
  apply(): Promise<void>;
}

export interface NemesisOptions {
  faults: readonly Fault[];
  /** Undoes every fault: heals every link, continues stopped processes, restarts killed ones. */
  healAll(): Promise<void>;
  history: HistoryRecorder;
  seed: number;
  /** Quiet time before each fault. */
  quietMs: number;
  /** How long each fault is held before healing. */
  faultMs: number;
  /** No new fault starts after this long; the last one is still healed. */
  durationMs: number;
  /**
   * `random` (the default): each fault drawn from the seeded generator; `cycle`: the faults in the order
   * given, round after round, so that a short run covers the first ones for certain.
   */
  order?: 'random' | 'cycle';
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs the schedule to its end; always ends healed, also when applying a fault throws (which it rethrows). */
export async function runNemesis(options: NemesisOptions): Promise<number> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? realSleep;
  if (options.faults.length === 0) throw new RangeError('the nemesis needs at least one fault');
  const random = new SeededRandom(options.seed);
  const startMs = now();
  let applied = 0;
  let round = 0;
  while (now() - startMs < options.durationMs) {
    await sleep(options.quietMs);
    if (now() - startMs >= options.durationMs) break;
    const index =
      options.order === 'cycle' ? round++ % options.faults.length : random.nextBelow(options.faults.length);
    const fault = options.faults[index]!;
    options.history.record({ kind: 'fault', action: fault.action, target: fault.target, atMs: now() });
    try {
      await fault.apply();
      applied++;
      await sleep(options.faultMs);
    } finally {
      await options.healAll();
      options.history.record({ kind: 'heal', atMs: now() });
    }
  }
  return applied;
}

/** A link fault: blackhole (both ways or one), stall or reset the proxied link. */
export function linkFault(
  proxy: FaultProxy,
  target: string,
  action: 'blackhole' | 'blackhole-toTarget' | 'blackhole-fromTarget' | 'stall' | 'reset',
): Fault {
  return {
    action,
    target,
    apply: async () => {
      if (action === 'blackhole') proxy.blackhole('both');
      else if (action === 'blackhole-toTarget') proxy.blackhole('toTarget');
      else if (action === 'blackhole-fromTarget') proxy.blackhole('fromTarget');
      else if (action === 'stall') proxy.stall();
      else proxy.reset();
    },
  };
}

/**
 * A process fault: SIGKILL (healAll must restart it) or SIGSTOP (healAll must
 * send SIGCONT; `continueProcess` does). `processOf` is asked at apply time, so
 * the fault follows restarts and can target whoever leads at that moment.
 */
export function processFault(
  target: string,
  signal: 'SIGKILL' | 'SIGSTOP',
  processOf: () => ChildProcess | undefined,
): Fault {
  return {
    action: signal,
    target,
    apply: async () => {
      const child = processOf();
      if (child === undefined || child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`${target} is not running`);
      }
      child.kill(signal);
    },
  };
}

/** Continues a process stopped by SIGSTOP; harmless on one that runs or has exited. */
export function continueProcess(child: ChildProcess | undefined): void {
  if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGCONT');
}
