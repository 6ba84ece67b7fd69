/**
 * Entry point of a shard worker thread. It owns the partitions placed on it:
 * only this thread opens their files. Requests arrive through the request
 * ring and replies leave through the reply ring; postMessage carries only
 * control (ready, stop, stopped).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { currentThreadId } from '../src/common/thread-cpu.js';
import { ReplyWriter } from '../src/engine/reply-writer.js';
import { Shard } from '../src/engine/shard.js';
import { Counter, ShardMetricsWriter } from '../src/engine/shard-metrics.js';
import type { ShardControlMessage, ShardWorkerData } from '../src/engine/shard-worker-data.js';
import { restoreTrafficMetrics, trafficMetricsSnapshot } from '../src/engine/warm-up-scratch.js';
import { nativeDoorbell, RingReader, type RingRecord, RingWriter } from '../src/ring/index.js';
import { installFaultsFromEnv } from '../src/storage/faulty-storage-io.js';
import { SYNC_ROUNDS_ENV } from '../src/storage/group-commit.js';

const data = workerData as ShardWorkerData;
const port = parentPort;
if (port === null) throw new Error('workers/shard.ts must run as a worker thread');

// Tests choose storage faults for a real broker with PYRALOG_STORAGE_FAULTS (faulty-storage-io.ts).
installFaultsFromEnv();

const reader = new RingReader(data.requestRing);
const replies = new RingWriter(data.replyRing);
if (data.replyDoorbell >= 0) {
  // The acceptor sleeps on its native doorbell, not in Atomics.waitAsync: a notify would never wake it.
  if (nativeDoorbell === undefined)
    throw new Error('the doorbell addon loads on the acceptor but not in the shard');
  replies.useDoorbell(nativeDoorbell, data.replyDoorbell);
}
const metrics = new ShardMetricsWriter(data.metricsBuffer);
// The acceptor reports this thread's CPU from /proc by this id (pyralog_thread_cpu_seconds_total).
metrics.set(Counter.THREAD_ID, currentThreadId());
const shard = new Shard(
  {
    shardId: data.shardId,
    dataDir: data.dataDir,
    fsync: data.fsync,
    retentionCheckIntervalMs: data.retentionCheckIntervalMs,
    producerLimits: data.producerLimits,
    cleanerIoBytesPerSecond: data.cleanerIoBytesPerSecond,
    maxActivePartitions: data.maxActivePartitions,
    // Sync rounds are off unless asked for: they did not measure better on a loaded 2-core VM (bench/RESULTS.md).
    syncRounds: process.env[SYNC_ROUNDS_ENV] === '1',
  },
  reader,
  new ReplyWriter(replies),
  metrics,
);

shard.onPartitionOffline = (offline) => {
  port.postMessage({
    kind: 'partition-offline',
    topicName: offline.topicName,
    partition: offline.partition,
    reason: offline.reason,
  } satisfies ShardControlMessage);
};

let stopping = false;
/** The traffic metrics as they were when the start-up warm-up began (warm-up-scratch.ts); null outside it. */
let beforeWarmUp: Float64Array | null = null;
port.on('message', (message: ShardControlMessage) => {
  if (message.kind === 'warm-up-begin') {
    beforeWarmUp = trafficMetricsSnapshot(metrics.slots);
    shard.beginWarmUp(message.scratch);
    port.postMessage({ kind: 'warm-up-begun' } satisfies ShardControlMessage);
    return;
  }
  if (message.kind === 'warm-up-end') {
    const endWarmUp = (error: string | null): void => {
      if (beforeWarmUp !== null) restoreTrafficMetrics(metrics.slots, beforeWarmUp);
      beforeWarmUp = null;
      port.postMessage({ kind: 'warm-up-ended', error } satisfies ShardControlMessage);
    };
    shard.endWarmUp().then(
      () => endWarmUp(null),
      (error: unknown) => endWarmUp(String(error)),
    );
    return;
  }
  if (message.kind !== 'stop') return;
  stopping = true;
  // The serve loop may be waiting on the ring with no timeout: wake it to see the stop.
  reader.interrupt();
});

/** Yields to the event loop (I/O callbacks such as fdatasync completions, timers, messages, microtasks). */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Longest the shard serves the ring without an event-loop turn while
 * requests keep coming and no reply waits on the event loop. A turn after
 * every drain cost each request an extra trip round libuv (a zero-timeout
 * epoll_wait, the check phase, the immediate's promise) for nothing at
 * 5,000 requests/s, where a drain holds one request; timers (retention,
 * interval fsync), control messages and the microtasks a drain leaves
 * behind run at most this much (plus one drain and one IDLE_BLOCK_MS wait)
 * late.
 */
const EVENT_LOOP_TURN_EVERY_MS = 1;

/**
 * Longest the shard blocks on its doorbell while nothing waits on its event
 * loop: timers (retention, interval fsync) and control messages run at most
 * this late.
 */
const IDLE_BLOCK_MS = 2;

/**
 * Blocking waits in a row that may end with nothing to read before the shard
 * parks on its event loop instead (about 50 ms without a record). Each
 * blocking wait that times out costs a futex wake-up and an event-loop turn:
 * 500 a second were ~4% of a core for a broker with no clients. Parked, the
 * shard costs nothing until a record or a stop arrives; the first request
 * after a pause then wakes it through the event loop (tens of microseconds
 * more), and the fast blocking waits resume at once.
 */
const IDLE_WAITS_BEFORE_PARKING = 25;

async function serve(): Promise<void> {
  shard.openPartitions(data.partitions);
  port!.postMessage({ kind: 'ready' } satisfies ShardControlMessage);
  const record: RingRecord = { type: 0, flags: 0, correlationId: 0, payloadPosition: 0, payloadBytes: 0 };
  let idleWaits = 0;
  let lastTurnMs = performance.now();
  while (!stopping) {
    if (shard.drain(record) > 0) {
      idleWaits = 0;
      // The drain's replies are published. Back to the ring at once, unless a reply depends on the event
      // loop (an fdatasync, a held fetch, ring space) or the loop has waited long enough for its turn.
      if (shard.waitsOnEventLoop() || performance.now() - lastTurnMs >= EVENT_LOOP_TURN_EVERY_MS) {
        await yieldToEventLoop();
        lastTurnMs = performance.now();
      }
    } else if (shard.waitsOnEventLoop() || idleWaits >= IDLE_WAITS_BEFORE_PARKING) {
      // A reply depends on an fdatasync, a timer or ring space, or the ring has been quiet for a while:
      // sleep with the event loop running (those callbacks answer by themselves; only a record or a stop
      // has to end this wait, hence no timeout, which would cost an event-loop task per wait).
      idleWaits = 0;
      await reader.waitAsync(Number.POSITIVE_INFINITY);
      lastTurnMs = performance.now();
    } else if (!reader.waitSync(IDLE_BLOCK_MS, 0)) {
      // Nothing pending but the ring: a blocking wait wakes in a futex hop instead of an event-loop turn
      // (less CPU and a shorter tail per request); on timeout, let timers and messages run.
      idleWaits++;
      await yieldToEventLoop();
      lastTurnMs = performance.now();
    }
  }
  // Stopping: answer what is already in the ring, then close every log.
  shard.drain(record);
  await shard.close();
  port!.postMessage({ kind: 'stopped' } satisfies ShardControlMessage);
  port!.close();
}

void serve();
