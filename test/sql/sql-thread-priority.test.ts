import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_SQL_LIMITS } from '../../src/sql/sql-limits.js';
import { SqlService } from '../../src/sql/sql-service.js';
import { SQL_PROCESS_NICE, SQL_THREAD_NICE } from '../../src/sql/sql-worker.js';
import { MemoryEngine } from '../support/memory-engine.js';

/** Nice value of a task from its stat line (field 19). */
function niceOf(statPath: string): number {
  const stat = readFileSync(statPath, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
}

/** Nice values of this process's threads, from /proc. */
function threadNices(): number[] {
  return readdirSync('/proc/self/task').map((task) => niceOf(`/proc/self/task/${task}/stat`));
}

/** Child processes of this process, from /proc (every thread's children). */
function childPids(): number[] {
  return readdirSync('/proc/self/task').flatMap((task) =>
    readFileSync(`/proc/self/task/${task}/children`, 'utf8').split(' ').filter(Boolean).map(Number),
  );
}

describe.skipIf(!existsSync('/proc/thread-self'))('SQL worker priority', () => {
  const inThread = new SqlService(new MemoryEngine(), DEFAULT_SQL_LIMITS, 1 << 20, 'thread');
  const inProcess = new SqlService(new MemoryEngine(), DEFAULT_SQL_LIMITS, 1 << 20, 'process');
  afterAll(async () => {
    await inThread.close();
    await inProcess.close();
  });

  it('given a SQL worker thread should run its thread, and only it, at a lower priority', async () => {
    const before = threadNices().filter((nice) => nice === SQL_THREAD_NICE).length;
    expect((await inThread.query('SELECT 42 AS answer', 'json')).rows).toEqual([[42]]);
    const nices = threadNices();
    expect(nices.filter((nice) => nice === SQL_THREAD_NICE).length).toBe(before + 1);
    expect(nices.filter((nice) => nice === 0).length).toBeGreaterThan(0);
  });

  it('given a SQL process should run it, every thread of it, at nice 19, and stop it when the service closes', async () => {
    const before = new Set(childPids());
    expect((await inProcess.query('SELECT 42 AS answer', 'json')).rows).toEqual([[42]]);
    const started = childPids().filter((pid) => !before.has(pid));
    expect(started).toHaveLength(1);
    const pid = started[0]!;
    const nices = readdirSync(`/proc/${pid}/task`).map((task) => niceOf(`/proc/${pid}/task/${task}/stat`));
    expect(nices.length).toBeGreaterThan(1);
    expect(nices.every((nice) => nice === SQL_PROCESS_NICE)).toBe(true);
    expect(threadNices().filter((nice) => nice === SQL_PROCESS_NICE)).toEqual([]);
    await inProcess.close();
    expect(existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z')).toBe(
      false,
    );
  });
});
