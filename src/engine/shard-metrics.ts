/**
 * Per-shard metrics in one SharedArrayBuffer: the shard writes, the acceptor
 * reads on scrape without sending a message. Every slot is a float64 (exact
 * for integers up to 2^53). There is one writer per buffer, so plain stores
 * suffice; an aligned 8-byte store is not torn on the platforms Node runs on,
 * and a reader that sees a value a moment old is fine for metrics.
 *
 * Layout (float64 slots):
 *   0 .. COUNTER_COUNT-1            counters (see Counter)
 *   then one histogram per Stage:   BUCKETS_US.length + 1 bucket counts
 *                                   (last = +Inf), then sum in seconds, then count
 */
export const Counter = {
  PRODUCE_REQUESTS: 0,
  PRODUCE_BYTES: 1,
  PRODUCE_ERRORS: 2,
  FETCH_REQUESTS: 3,
  FETCH_BYTES: 4,
  FETCH_ERRORS: 5,
  OTHER_REQUESTS: 6,
  PARTITIONS: 7,
  HELD_FETCHES: 8,
  PENDING_DURABLE_ACKS: 9,
  LOG_BYTES: 10,
  DUPLICATE_BATCHES: 11,
  OFFLINE_PARTITIONS: 12,
  STORAGE_ERRORS: 13,
  CLEANER_JOBS: 14,
  CLEANER_FAILED_JOBS: 15,
  CLEANER_SEGMENTS_REPLACED: 16,
  CLEANER_RECORDS_REMOVED: 17,
  THREAD_ID: 18,
  CLEANER_IO_BYTES: 19,
  CLEANER_CPU_SECONDS: 20,
  SYNCS: 21,
} as const;
const COUNTER_COUNT = 24;

export const counterNames: Record<
  keyof typeof Counter,
  { name: string; help: string; type: 'counter' | 'gauge' }
> = {
  PRODUCE_REQUESTS: {
    name: 'pyralog_produce_requests_total',
    help: 'Batches produced to this shard',
    type: 'counter',
  },
  PRODUCE_BYTES: {
    name: 'pyralog_produce_bytes_total',
    help: 'Record batch bytes appended',
    type: 'counter',
  },
  PRODUCE_ERRORS: {
    name: 'pyralog_produce_errors_total',
    help: 'Produce requests answered with an error',
    type: 'counter',
  },
  FETCH_REQUESTS: { name: 'pyralog_fetch_requests_total', help: 'Fetch requests answered', type: 'counter' },
  FETCH_BYTES: {
    name: 'pyralog_fetch_bytes_total',
    help: 'Record batch bytes returned by fetches',
    type: 'counter',
  },
  FETCH_ERRORS: {
    name: 'pyralog_fetch_errors_total',
    help: 'Partition fetches answered with an error',
    type: 'counter',
  },
  OTHER_REQUESTS: {
    name: 'pyralog_shard_other_requests_total',
    help: 'Admin requests handled',
    type: 'counter',
  },
  PARTITIONS: { name: 'pyralog_partitions', help: 'Partitions owned by the shard', type: 'gauge' },
  HELD_FETCHES: { name: 'pyralog_fetches_held', help: 'Long-poll fetches waiting for data', type: 'gauge' },
  PENDING_DURABLE_ACKS: {
    name: 'pyralog_produce_pending_durable',
    help: 'acks=-1 produces waiting for fsync',
    type: 'gauge',
  },
  LOG_BYTES: { name: 'pyralog_log_size_bytes', help: 'Bytes on disk in the shard partitions', type: 'gauge' },
  DUPLICATE_BATCHES: {
    name: 'pyralog_produce_duplicate_batches_total',
    help: 'Retried idempotent batches answered without appending',
    type: 'counter',
  },
  OFFLINE_PARTITIONS: {
    name: 'pyralog_partitions_offline',
    help: 'Partitions not served after a failed open, write or sync (until their shard restarts)',
    type: 'gauge',
  },
  STORAGE_ERRORS: {
    name: 'pyralog_storage_errors_total',
    help: 'Storage failures that took a partition offline (open, write or sync)',
    type: 'counter',
  },
  CLEANER_JOBS: {
    name: 'pyralog_log_cleaner_jobs_total',
    help: 'Log cleaner jobs finished (compacted topics), failed ones included',
    type: 'counter',
  },
  CLEANER_FAILED_JOBS: {
    name: 'pyralog_log_cleaner_failed_jobs_total',
    help: 'Log cleaner jobs that failed or whose swap left a segment as it was',
    type: 'counter',
  },
  CLEANER_SEGMENTS_REPLACED: {
    name: 'pyralog_log_cleaner_segments_replaced_total',
    help: 'Segments the log cleaner replaced by their cleaned copies',
    type: 'counter',
  },
  CLEANER_RECORDS_REMOVED: {
    name: 'pyralog_log_cleaner_records_removed_total',
    help: 'Records the log cleaner removed (superseded values and old tombstones)',
    type: 'counter',
  },
  CLEANER_IO_BYTES: {
    name: 'pyralog_log_cleaner_io_bytes_total',
    help: 'Bytes the log cleaner read and wrote (what --log-cleaner-io-bytes-per-second paces)',
    type: 'counter',
  },
  CLEANER_CPU_SECONDS: {
    name: 'pyralog_log_cleaner_cpu_seconds_total',
    help: "CPU time of the log cleaner's thread on finished cleans (Linux; 0 where unknown)",
    type: 'counter',
  },
  SYNCS: {
    name: 'pyralog_syncs_total',
    help: 'Group-commit fdatasyncs of partition logs completed (one per log per sync; acks=-1 produces share them)',
    type: 'counter',
  },
  THREAD_ID: {
    name: 'pyralog_shard_thread_id',
    help: "The shard worker's Linux thread id (for top -H, perf, /proc); -1 where unknown",
    type: 'gauge',
  },
};

export const Stage = {
  RING_WAIT: 0,
  APPEND: 1,
  FSYNC_WAIT: 2,
  FETCH_READ: 3,
  CLEANER_SWAP: 4,
  SEGMENT_EXTENTS: 5,
  SYNC: 6,
} as const;
export type Stage = (typeof Stage)[keyof typeof Stage];

export const stageNames: Record<keyof typeof Stage, { name: string; help: string }> = {
  RING_WAIT: { name: 'pyralog_ring_wait_seconds', help: 'Time a request waited in the request ring' },
  APPEND: {
    name: 'pyralog_append_seconds',
    help: 'From a batch reaching its shard until it is written (with the rest of its ring drain)',
  },
  FSYNC_WAIT: { name: 'pyralog_fsync_wait_seconds', help: 'Time from append until an fdatasync covered it' },
  FETCH_READ: {
    name: 'pyralog_fetch_read_seconds',
    help: 'Reading one fetch from the log and copying it into the reply ring (the shard is busy with it)',
  },
  CLEANER_SWAP: {
    name: 'pyralog_log_cleaner_swap_seconds',
    help: "The shard's part of swapping a cleaner job's segments in: a rename and a pointer swap per segment",
  },
  SEGMENT_EXTENTS: {
    name: 'pyralog_segment_extents_seconds',
    help: 'Saying where a range of offsets lies in the segment files (SQL then reads them itself)',
  },
  SYNC: {
    name: 'pyralog_sync_seconds',
    help: "One group-commit sync of a partition log, from its start to its fdatasync's completion",
  },
};
// Derived, so a stage added without a slot (two changes merged side by side) cannot overrun the buffer.
const STAGE_COUNT = Object.keys(Stage).length;

/** Upper bounds of the histogram buckets in microseconds (Prometheus `le`). */
export const BUCKETS_US = [
  5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 25_000, 50_000, 100_000, 250_000, 1_000_000,
] as const;
const HISTOGRAM_SLOTS = BUCKETS_US.length + 1 + 2;

export const SHARD_METRICS_BYTES = (COUNTER_COUNT + STAGE_COUNT * HISTOGRAM_SLOTS) * 8;

export function histogramBase(stage: Stage): number {
  return COUNTER_COUNT + stage * HISTOGRAM_SLOTS;
}

/** The shard's writer over its metrics buffer. Owned by the shard thread. */
export class ShardMetricsWriter {
  readonly slots: Float64Array;

  constructor(buffer: SharedArrayBuffer) {
    this.slots = new Float64Array(buffer);
  }

  add(counter: number, amount: number): void {
    this.slots[counter]! += amount;
  }

  set(counter: number, value: number): void {
    this.slots[counter] = value;
  }

  /** Records one latency in milliseconds into the stage's histogram. */
  observeMs(stage: Stage, latencyMs: number): void {
    const base = histogramBase(stage);
    const latencyUs = latencyMs * 1000;
    let bucket = 0;
    while (bucket < BUCKETS_US.length && latencyUs > BUCKETS_US[bucket]!) bucket++;
    this.slots[base + bucket]! += 1;
    this.slots[base + BUCKETS_US.length + 1]! += latencyMs / 1000;
    this.slots[base + BUCKETS_US.length + 2]! += 1;
  }
}

/** A merged snapshot of one stage's histogram over all shards. */
export interface HistogramSnapshot {
  bucketCounts: number[];
  sumSeconds: number;
  count: number;
}

export function readHistogram(buffers: readonly SharedArrayBuffer[], stage: Stage): HistogramSnapshot {
  const base = histogramBase(stage);
  const bucketCounts = new Array<number>(BUCKETS_US.length + 1).fill(0);
  let sumSeconds = 0;
  let count = 0;
  for (const buffer of buffers) {
    const slots = new Float64Array(buffer);
    for (let i = 0; i <= BUCKETS_US.length; i++) bucketCounts[i]! += slots[base + i]!;
    sumSeconds += slots[base + BUCKETS_US.length + 1]!;
    count += slots[base + BUCKETS_US.length + 2]!;
  }
  return { bucketCounts, sumSeconds, count };
}

/** Quantile estimate (upper bucket bound, in ms) from a histogram snapshot; NaN when empty. */
export function histogramQuantileMs(snapshot: HistogramSnapshot, quantile: number): number {
  if (snapshot.count === 0) return Number.NaN;
  const rank = quantile * snapshot.count;
  let seen = 0;
  for (let i = 0; i < snapshot.bucketCounts.length; i++) {
    seen += snapshot.bucketCounts[i]!;
    if (seen >= rank) return i < BUCKETS_US.length ? BUCKETS_US[i]! / 1000 : Number.POSITIVE_INFINITY;
  }
  return Number.POSITIVE_INFINITY;
}
