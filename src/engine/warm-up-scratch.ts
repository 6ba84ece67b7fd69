import type { TopicConfig } from '../common/broker-config.js';
import { Counter, histogramBase, Stage } from './shard-metrics.js';

/**
 * The scratch partitions of the start-up warm-up (src/server/warm-up.ts):
 * before the listeners open, synthetic produces and fetches run the Kafka
 * codecs, the acceptor's routing, the rings and each shard's append and read
 * paths, so that V8 compiles them before the first client pays for it.
 *
 * The scratch topic is known only to the engine while the warm-up runs (never
 * to the topic registry), one partition per shard, with its files in a
 * directory outside the data directory. Its name is not a legal topic name, so
 * no user topic can share it, and its id is above any the topic-id sequencer
 * hands out. When the warm-up ends each shard closes and deletes its scratch
 * partition and puts back the traffic metrics it had when the warm-up began:
 * no topic, file, offset or metric of the warm-up stays.
 */
export const WARM_UP_TOPIC_NAME = '#warm-up';
/**
 * Far above any id the topic-id sequencer hands out, and still a small integer to V8 (below 2^30), as
 * every real topic id is: an id V8 holds as a double would optimize the request path for doubles,
 * and the first real request would throw that code away.
 */
export const WARM_UP_TOPIC_ID = 0x3fff_ffff;

/** The scratch topic's settings over the broker's topic defaults: segments small enough to roll a few times. */
export const WARM_UP_TOPIC_SETTINGS: Partial<TopicConfig> = { segmentBytes: 4 * 1024 * 1024 };

/** What a shard is told when the warm-up begins (by postMessage: control, not the hot path). */
export interface WarmUpScratch {
  /** Root of the scratch files, outside the data directory; the broker removes it afterwards. */
  dir: string;
  /** This shard's scratch partition. */
  partition: number;
  config: TopicConfig;
}

/** Counters the warm-up's traffic moves; gauges (partitions, offline) are recounted instead. */
const TRAFFIC_COUNTERS = [
  Counter.PRODUCE_REQUESTS,
  Counter.PRODUCE_BYTES,
  Counter.PRODUCE_ERRORS,
  Counter.FETCH_REQUESTS,
  Counter.FETCH_BYTES,
  Counter.FETCH_ERRORS,
  Counter.OTHER_REQUESTS,
  Counter.DUPLICATE_BATCHES,
  Counter.SYNCS,
] as const;

/** The traffic counters and every stage histogram, as they are now (taken on the shard thread). */
export function trafficMetricsSnapshot(slots: Float64Array): Float64Array {
  return slots.slice();
}

/**
 * Puts the traffic counters and the stage histograms back as they were in
 * `snapshot`. Runs on the shard thread, the buffer's only writer, while no
 * client can reach the broker (its listeners are not open yet).
 */
export function restoreTrafficMetrics(slots: Float64Array, snapshot: Float64Array): void {
  for (const counter of TRAFFIC_COUNTERS) slots[counter] = snapshot[counter]!;
  const firstHistogramSlot = histogramBase(Stage.RING_WAIT);
  for (let slot = firstHistogramSlot; slot < slots.length; slot++) slots[slot] = snapshot[slot]!;
}
