import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_SQL_LIMITS } from '../../src/sql/sql-limits.js';
import { SqlService } from '../../src/sql/sql-service.js';
import { SQL_THREAD_NICE } from '../../src/sql/sql-worker.js';
import { MemoryEngine } from '../support/memory-engine.js';

/** Nice values of this process's threads, from /proc (field 19 of each task's stat). */
function threadNices(): number[] {
  return readdirSync('/proc/self/task').map((task) => {
    const stat = readFileSync(`/proc/self/task/${task}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
  });
}

describe.skipIf(!existsSync('/proc/thread-self'))('SQL worker priority', () => {
  const service = new SqlService(new MemoryEngine(), DEFAULT_SQL_LIMITS, 1 << 20);
  afterAll(() => service.close());

  it('given a started SQL worker should run its thread, and only it, at a lower priority', async () => {
    const before = threadNices().filter((nice) => nice === SQL_THREAD_NICE).length;
    expect((await service.query('SELECT 42 AS answer', 'json')).rows).toEqual([[42]]);
    const nices = threadNices();
    expect(nices.filter((nice) => nice === SQL_THREAD_NICE).length).toBe(before + 1);
    expect(nices.filter((nice) => nice === 0).length).toBeGreaterThan(0);
  });
});
