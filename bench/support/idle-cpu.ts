import { setTimeout as sleep } from 'node:timers/promises';
import { brokerCpuProbe } from '../../tools/broker-cpu.js';
import type { BrokerProcess } from '../../tools/broker-process.js';

/**
 * The share of one core a broker with no clients uses (all its threads,
 * from /proc), over `windowSeconds` after `settleSeconds` of rest (a fresh
 * broker finishes compiling and starting its pools first). Issue 18's idle
 * target is 0.5% of a core; test/cli/idle-cost.test.ts checks the same bound
 * and, with PYRALOG_IDLE_SOAK_S, that resident memory does not grow.
 */
export async function idleCpuShare(
  broker: BrokerProcess,
  settleSeconds: number,
  windowSeconds: number,
): Promise<number> {
  // The probe asks the broker for its thread ids over HTTP: before the window, so that request is not counted.
  const probe = await brokerCpuProbe(broker.child.pid!, broker.httpPort);
  await sleep(settleSeconds * 1000);
  const before = probe.read().totalNs;
  const startMs = performance.now();
  await sleep(windowSeconds * 1000);
  const busyNs = probe.read().totalNs - before;
  return busyNs / ((performance.now() - startMs) * 1e6);
}
