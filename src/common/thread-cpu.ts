import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/**
 * CPU time of each thread of a process, read from Linux's /proc: for the
 * CPU a broker spends per request (per thread: acceptor, shards) and when it
 * has nothing to do. CPU time, unlike latency, hardly depends on what else
 * the machine runs, so it can be compared across loaded runs.
 *
 * `/proc/PID/task/TID/schedstat` counts nanoseconds on the CPU (its first
 * field); where it is missing (kernels without schedstats), `stat`'s utime +
 * stime in clock ticks (10 ms) is used instead.
 */
export interface ThreadCpu {
  readonly tid: number;
  /** The thread's name (`comm`): `node` for the main thread, `libuv-worker`, `V8 DefaultWorke`… */
  readonly name: string;
  readonly cpuNs: number;
}

const TICK_NS = 10_000_000;

/** CPU nanoseconds of one thread (`pid` may be 'self'); null when it is gone or this is not Linux. */
export function threadCpuNs(pid: number | 'self', tid: number): number | null {
  return taskCpuNs(`/proc/${pid}/task/${tid}`);
}

/**
 * The Linux thread id of the calling thread (main thread or worker), read
 * from /proc/thread-self; -1 where there is no such file.
 */
export function currentThreadId(): number {
  try {
    const link = readlinkSync('/proc/thread-self');
    return Number(link.slice(link.lastIndexOf('/') + 1));
  } catch {
    return -1;
  }
}

function taskCpuNs(taskDir: string): number | null {
  try {
    const schedstat = readFileSync(`${taskDir}/schedstat`, 'utf8');
    const ns = Number(schedstat.split(' ')[0]);
    if (Number.isFinite(ns)) return ns;
  } catch {
    // No schedstat on this kernel: fall back to stat below.
  }
  try {
    const stat = readFileSync(`${taskDir}/stat`, 'utf8');
    // The name (field 2) may hold spaces and parentheses: fields are counted after its closing one.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_NS;
  } catch {
    return null;
  }
}

/** Every live thread of `pid` with its CPU time so far; empty when the process is gone or not Linux. */
export function readThreadCpu(pid: number): ThreadCpu[] {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const threads: ThreadCpu[] = [];
  for (const tid of tids) {
    const taskDir = `/proc/${pid}/task/${tid}`;
    const cpuNs = taskCpuNs(taskDir);
    if (cpuNs === null) continue; // The thread ended while being read.
    let name = '';
    try {
      name = readFileSync(`${taskDir}/comm`, 'utf8').trim();
    } catch {
      continue;
    }
    threads.push({ tid: Number(tid), name, cpuNs });
  }
  return threads;
}

/**
 * CPU each thread spent between two readings: threads that started in
 * between count from zero, threads that ended in between are left out
 * (their last stretch is lost, a few ms at most for a pool thread retiring).
 */
export function threadCpuDelta(before: readonly ThreadCpu[], after: readonly ThreadCpu[]): ThreadCpu[] {
  const earlier = new Map(before.map((thread) => [thread.tid, thread.cpuNs]));
  return after.map((thread) => ({
    tid: thread.tid,
    name: thread.name,
    cpuNs: Math.max(0, thread.cpuNs - (earlier.get(thread.tid) ?? 0)),
  }));
}

export function totalCpuNs(threads: readonly ThreadCpu[]): number {
  let total = 0;
  for (const thread of threads) total += thread.cpuNs;
  return total;
}
