import { readThreadCpu, threadCpuNs, totalCpuNs } from '../src/common/thread-cpu.js';

/**
 * CPU time of a broker process's threads, read from /proc: its acceptor
 * (the main thread, whose id is the process id), each shard thread (ids from
 * the broker's `pyralog_shard_thread_id` gauge), and all threads together.
 * Two readings around a load, divided by the requests it sent, give the CPU
 * each request costs on each thread.
 */
export interface BrokerCpuReading {
  acceptorNs: number;
  shardNs: number[];
  totalNs: number;
}

export interface BrokerCpuProbe {
  read(): BrokerCpuReading;
}

export async function brokerCpuProbe(pid: number, httpPort: number): Promise<BrokerCpuProbe> {
  const response = await fetch(`http://127.0.0.1:${httpPort}/metrics`, {
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  const shardThreads = [...text.matchAll(/^pyralog_shard_thread_id\{shard="(\d+)"\} (\d+)$/gm)]
    .map((match) => ({ shard: Number(match[1]), tid: Number(match[2]) }))
    .sort((a, b) => a.shard - b.shard);
  return {
    read: () => ({
      acceptorNs: threadCpuNs(pid, pid) ?? Number.NaN,
      shardNs: shardThreads.map(({ tid }) => (tid > 0 ? (threadCpuNs(pid, tid) ?? Number.NaN) : Number.NaN)),
      totalNs: totalCpuNs(readThreadCpu(pid)),
    }),
  };
}

/** CPU microseconds per request on each thread. */
export interface CpuPerRequest {
  acceptorUs: number;
  shardUs: number[];
  /** Every thread of the process (pools, V8's compiler and GC threads included). */
  totalUs: number;
}

/** The CPU each of `requests` cost between two readings. */
export function cpuPerRequest(
  before: BrokerCpuReading,
  after: BrokerCpuReading,
  requests: number,
): CpuPerRequest {
  const us = (ns: number) => ns / 1000 / requests;
  return {
    acceptorUs: us(after.acceptorNs - before.acceptorNs),
    shardUs: after.shardNs.map((ns, i) => us(ns - before.shardNs[i]!)),
    totalUs: us(after.totalNs - before.totalNs),
  };
}
