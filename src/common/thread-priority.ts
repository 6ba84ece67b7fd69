import { readFileSync, readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';

/**
 * Lowers the calling thread's CPU priority (a nice value; 19 is the lowest).
 * On Linux a nice value belongs to a thread (setpriority on a thread id), so
 * this lowers only the caller: a worker thread doing background work (the
 * log cleaner) then yields the cores to the shards and the acceptor whenever
 * they want them. Returns the thread id it lowered, or -1 where it could not
 * (not Linux, no /proc, or not allowed): the thread then runs at the normal
 * priority.
 */
export function lowerThisThreadPriority(nice: number): number {
  try {
    const link = readlinkSync('/proc/thread-self');
    const threadId = Number(link.slice(link.lastIndexOf('/') + 1));
    if (!Number.isInteger(threadId) || threadId <= 0) return -1;
    setPriority(threadId, nice);
    return threadId;
  } catch {
    return -1;
  }
}

/** The nice value of thread `threadId` of this process, from /proc (field 19 of its stat line); null if unknown. */
export function niceOfThread(threadId: number): number | null {
  try {
    const stat = readFileSync(`/proc/self/task/${threadId}/stat`, 'utf8');
    // The name (field 2) may hold spaces and parentheses: fields are counted after its closing one.
    const nice = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
    return Number.isInteger(nice) ? nice : null;
  } catch {
    return null;
  }
}
