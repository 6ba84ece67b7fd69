import { currentThreadId, threadCpuNs } from '../common/thread-cpu.js';
import {
  BUCKETS_US,
  Counter,
  counterNames,
  readHistogram,
  Stage,
  stageNames,
} from '../engine/shard-metrics.js';

/**
 * Renders Prometheus text exposition (format 0.0.4) from the shards' shared
 * metrics buffers, read on the acceptor thread without asking the shards.
 * Counters carry a `shard` label; latency histograms are merged over shards.
 */
export interface MetricsSource {
  readonly hosts: readonly {
    readonly shardId: number;
    readonly metricsBuffer: SharedArrayBuffer;
    readonly restarts: number;
    readonly timedOut: number;
    requestRingUsedBytes(): number;
  }[];
}

/** Extra acceptor-side figures a front door wants exposed (connections, requests). */
export type ExtraMetrics = () => readonly {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  value: number;
}[];

/** The batch checker's counters (compressed batches checked before they reach a shard). */
export function batchCheckMetrics(counts: {
  readonly checked: number;
  readonly refused: number;
  readonly recompressed: number;
}): ReturnType<ExtraMetrics> {
  return [
    {
      name: 'pyralog_checked_batches_total',
      help: "Compressed (or to be recompressed) batches whose records were counted as Kafka's validator does",
      type: 'counter',
      value: counts.checked,
    },
    {
      name: 'pyralog_refused_checked_batches_total',
      help: 'Checked batches refused (wrong record count, bad records or timestamps, or too large once inflated)',
      type: 'counter',
      value: counts.refused,
    },
    {
      name: 'pyralog_recompressed_batches_total',
      help: "Batches recompressed into their topic's compression.type",
      type: 'counter',
      value: counts.recompressed,
    },
  ];
}

/** The Kafka door's backpressure figures: muted connections and the memory budget. */
export function budgetMetrics(budget: {
  readonly mutedConnections: number;
  readonly usedBytes: number;
  readonly limitBytes: number;
}): ReturnType<ExtraMetrics> {
  return [
    {
      name: 'pyralog_muted_connections',
      help: 'Kafka connections muted until their client reads or memory frees',
      type: 'gauge',
      value: budget.mutedConnections,
    },
    {
      name: 'pyralog_memory_budget_used_bytes',
      help: 'Bytes held for clients: partial frames, fetches being built, queued responses',
      type: 'gauge',
      value: budget.usedBytes,
    },
    {
      name: 'pyralog_memory_budget_limit_bytes',
      help: 'The memory budget (memory-budget-bytes)',
      type: 'gauge',
      value: budget.limitBytes,
    },
  ];
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  return String(value);
}

export function renderMetrics(source: MetricsSource, extra?: ExtraMetrics): string {
  const lines: string[] = [];
  for (const key of Object.keys(Counter) as (keyof typeof Counter)[]) {
    const meta = counterNames[key];
    lines.push(`# HELP ${meta.name} ${meta.help}`, `# TYPE ${meta.name} ${meta.type}`);
    for (const host of source.hosts) {
      const slots = new Float64Array(host.metricsBuffer);
      lines.push(`${meta.name}{shard="${host.shardId}"} ${formatValue(slots[Counter[key]]!)}`);
    }
  }
  lines.push(
    '# HELP pyralog_request_ring_used_bytes Bytes waiting in a shard request ring',
    '# TYPE pyralog_request_ring_used_bytes gauge',
  );
  for (const host of source.hosts) {
    lines.push(`pyralog_request_ring_used_bytes{shard="${host.shardId}"} ${host.requestRingUsedBytes()}`);
  }
  lines.push(
    '# HELP pyralog_shard_restarts_total Shard worker restarts after a crash',
    '# TYPE pyralog_shard_restarts_total counter',
  );
  for (const host of source.hosts)
    lines.push(`pyralog_shard_restarts_total{shard="${host.shardId}"} ${host.restarts}`);
  lines.push(
    '# HELP pyralog_requests_timed_out_total Requests answered REQUEST_TIMED_OUT because their shard did not answer in time',
    '# TYPE pyralog_requests_timed_out_total counter',
  );
  for (const host of source.hosts)
    lines.push(`pyralog_requests_timed_out_total{shard="${host.shardId}"} ${host.timedOut}`);

  const buffers = source.hosts.map((host) => host.metricsBuffer);
  for (const key of Object.keys(Stage) as (keyof typeof Stage)[]) {
    const meta = stageNames[key];
    const snapshot = readHistogram(buffers, Stage[key]);
    lines.push(`# HELP ${meta.name} ${meta.help}`, `# TYPE ${meta.name} histogram`);
    let cumulative = 0;
    for (let i = 0; i < BUCKETS_US.length; i++) {
      cumulative += snapshot.bucketCounts[i]!;
      lines.push(`${meta.name}_bucket{le="${BUCKETS_US[i]! / 1e6}"} ${cumulative}`);
    }
    cumulative += snapshot.bucketCounts[BUCKETS_US.length]!;
    lines.push(`${meta.name}_bucket{le="+Inf"} ${cumulative}`);
    lines.push(
      `${meta.name}_sum ${formatValue(snapshot.sumSeconds)}`,
      `${meta.name}_count ${snapshot.count}`,
    );
  }
  for (const metric of extra?.() ?? []) {
    lines.push(`# HELP ${metric.name} ${metric.help}`, `# TYPE ${metric.name} ${metric.type}`);
    lines.push(`${metric.name} ${formatValue(metric.value)}`);
  }
  lines.push(...threadCpuLines(source));
  const memory = process.memoryUsage();
  lines.push(
    '# HELP pyralog_process_resident_memory_bytes Resident set size',
    '# TYPE pyralog_process_resident_memory_bytes gauge',
  );
  lines.push(`pyralog_process_resident_memory_bytes ${memory.rss}`);
  lines.push(
    '# HELP pyralog_process_heap_used_bytes V8 heap in use on the acceptor thread',
    '# TYPE pyralog_process_heap_used_bytes gauge',
  );
  lines.push(`pyralog_process_heap_used_bytes ${memory.heapUsed}`);
  lines.push(
    '# HELP pyralog_process_array_buffers_bytes ArrayBuffers and Buffers allocated on the acceptor thread, live or not yet collected',
    '# TYPE pyralog_process_array_buffers_bytes gauge',
  );
  lines.push(`pyralog_process_array_buffers_bytes ${memory.arrayBuffers}`);
  return `${lines.join('\n')}\n`;
}

/** The acceptor's own thread id, read once (this module is loaded on the acceptor thread). */
let acceptorThreadId: number | null = null;

/**
 * CPU seconds of the acceptor thread and of each shard's thread, from
 * /proc/self/task (Linux; nothing elsewhere): what a request costs on each,
 * read by a scrape before and after a load.
 */
function threadCpuLines(source: MetricsSource): string[] {
  acceptorThreadId ??= currentThreadId();
  const threads: [string, number][] = [['thread="acceptor"', acceptorThreadId]];
  for (const host of source.hosts) {
    const tid = new Float64Array(host.metricsBuffer)[Counter.THREAD_ID]!;
    if (tid > 0) threads.push([`thread="shard",shard="${host.shardId}"`, tid]);
  }
  const lines: string[] = [];
  for (const [labels, tid] of threads) {
    const ns = tid > 0 ? threadCpuNs('self', tid) : null;
    if (ns !== null) lines.push(`pyralog_thread_cpu_seconds_total{${labels}} ${ns / 1e9}`);
  }
  if (lines.length === 0) return [];
  return [
    '# HELP pyralog_thread_cpu_seconds_total CPU time of the acceptor thread and of each shard thread',
    '# TYPE pyralog_thread_cpu_seconds_total counter',
    ...lines,
  ];
}
