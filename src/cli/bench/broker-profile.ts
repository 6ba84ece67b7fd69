/**
 * `pyralog bench --profile`: the broker's per-stage latency histograms
 * (Prometheus text from /metrics) scraped before and after a run, and the
 * difference turned into how long each stage took: ring wait (request ring,
 * acceptor → shard), append (validation and write on the shard), fsync wait
 * (append until a covering fdatasync), fetch read. What the client measured
 * beyond these went to the network, the acceptor and the reply ring. The
 * CPU time of the acceptor thread and of each shard thread over the same
 * window (pyralog_thread_cpu_seconds_total) says what each produced batch
 * cost each thread.
 */
export interface StageProfile {
  stage: string;
  count: number;
  meanUs: number;
  /** Upper bound of the bucket holding the 99th percentile. */
  p99UpperUs: number;
}

interface HistogramScrape {
  buckets: Map<number, number>;
  sumSeconds: number;
  count: number;
}

/** One /metrics scrape: the stage histograms and each broker thread's CPU seconds so far. */
export interface BrokerScrape {
  stages: Map<string, HistogramScrape>;
  /** `acceptor`, `shard 0`, …: from pyralog_thread_cpu_seconds_total (Linux brokers only). */
  threadCpuSeconds: Map<string, number>;
}

/** CPU a broker thread spent over a run, and per produced batch (each batch is one produce request). */
export interface ThreadCpuProfile {
  thread: string;
  cpuSeconds: number;
  usPerBatch: number;
}

export async function scrapeBroker(httpUrl: string): Promise<BrokerScrape> {
  const text = await (await fetch(`${httpUrl}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
  return { stages: parseStages(text), threadCpuSeconds: parseThreadCpu(text) };
}

function parseThreadCpu(text: string): Map<string, number> {
  const threads = new Map<string, number>();
  for (const match of text.matchAll(
    /^pyralog_thread_cpu_seconds_total\{thread="(\w+)"(?:,shard="(\d+)")?\} (\S+)$/gm,
  )) {
    threads.set(match[2] === undefined ? match[1]! : `${match[1]} ${match[2]}`, Number(match[3]));
  }
  return threads;
}

export function threadCpuDelta(
  before: BrokerScrape,
  after: BrokerScrape,
  batches: number,
): ThreadCpuProfile[] {
  const profiles: ThreadCpuProfile[] = [];
  for (const [thread, endSeconds] of after.threadCpuSeconds) {
    const cpuSeconds = endSeconds - (before.threadCpuSeconds.get(thread) ?? 0);
    profiles.push({
      thread,
      cpuSeconds,
      usPerBatch: batches > 0 ? (cpuSeconds * 1e6) / batches : Number.NaN,
    });
  }
  return profiles;
}

function parseStages(text: string): Map<string, HistogramScrape> {
  const stages = new Map<string, HistogramScrape>();
  const get = (name: string): HistogramScrape => {
    let entry = stages.get(name);
    if (entry === undefined) {
      entry = { buckets: new Map(), sumSeconds: 0, count: 0 };
      stages.set(name, entry);
    }
    return entry;
  };
  for (const line of text.split('\n')) {
    let match = /^pyralog_(\w+)_seconds_bucket\{[^}]*le="([^"]+)"[^}]*\} (\S+)$/.exec(line);
    if (match) {
      const le = match[2] === '+Inf' ? Number.POSITIVE_INFINITY : Number(match[2]);
      const entry = get(match[1]!);
      entry.buckets.set(le, (entry.buckets.get(le) ?? 0) + Number(match[3]));
      continue;
    }
    match = /^pyralog_(\w+)_seconds_(sum|count)(\{[^}]*\})? (\S+)$/.exec(line);
    if (match) {
      const entry = get(match[1]!);
      if (match[2] === 'sum') entry.sumSeconds += Number(match[4]);
      else entry.count += Number(match[4]);
    }
  }
  return stages;
}

export function stageDelta(
  before: Map<string, HistogramScrape>,
  after: Map<string, HistogramScrape>,
): StageProfile[] {
  const profiles: StageProfile[] = [];
  for (const [stage, end] of after) {
    const start = before.get(stage);
    const count = end.count - (start?.count ?? 0);
    if (count <= 0) continue;
    const sumSeconds = end.sumSeconds - (start?.sumSeconds ?? 0);
    const bounds = [...end.buckets.keys()].sort((a, b) => a - b);
    let p99UpperUs = Number.POSITIVE_INFINITY;
    for (const le of bounds) {
      const cumulative = end.buckets.get(le)! - (start?.buckets.get(le) ?? 0);
      if (cumulative >= count * 0.99) {
        p99UpperUs = le * 1e6;
        break;
      }
    }
    profiles.push({
      stage: stage.replaceAll('_', ' '),
      count,
      meanUs: (sumSeconds / count) * 1e6,
      p99UpperUs,
    });
  }
  return profiles.sort((a, b) => b.meanUs - a.meanUs);
}
