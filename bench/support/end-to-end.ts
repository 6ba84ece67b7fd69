import type { Histogram } from 'hdr-histogram-js';
import {
  createLatencyHistogram,
  type OpenLoopLatency,
  openLoop,
  summarizeAndDestroy,
} from '../../src/cli/bench/open-loop.js';

/**
 * End-to-end latency: an open-loop producer sends one record per request at
 * a fixed rate to one partition, and a consumer reading that partition
 * notes when each record reaches it. A record's latency is the time the
 * consumer has it minus the time its request was scheduled to be sent (not
 * when it was sent: a stall in the generator or the broker shows in the
 * figures instead of slowing the load down).
 *
 * Records carry no timestamp: the producer sends in order on one connection
 * to one partition, so request i gets offset `firstOffset + i`, and the
 * consumer finds request i's scheduled time by the offset. Each produce's
 * acknowledged offset is checked against that, and a round that saw any other
 * offset fails rather than report latencies of the wrong records.
 */
export interface EndToEndRound {
  /** Produce → consume, over the requests scheduled after the warm-up. */
  endToEnd: OpenLoopLatency;
  /** Produce → acknowledgement of the same requests, as the producer saw it. */
  produce: OpenLoopLatency;
  /**
   * The reader's part: from the producer having a record's acknowledgement
   * to the reader having the record (1 µs when the reader had it first). What
   * end to end holds beyond the produce round trip: the wake of the waiting
   * read, its reply, and the reader's next request.
   */
  afterAck: OpenLoopLatency;
}

/** Called by a consumer for every record it gets, in offset order, with when it got it (performance.now()). */
export type OnConsumed = (offset: number, receivedMs: number) => void;

/**
 * A consumer reading one partition from `fromOffset` on, calling `onRecord`
 * for every record it gets. `stop` ends it (waiting out a fetch in flight)
 * and rejects with the consumer's failure if it had one.
 */
export interface RunningConsumer {
  stop(): Promise<void>;
}

/** How long after the last acknowledgement the consumer may take to get the last records before the round fails. */
const CONSUMER_DRAIN_MS = 10_000;

/**
 * One round: `produce(i)` sends request i (one record) and resolves with the
 * offset it got; `startConsumer` starts a consumer at `firstOffset` (the
 * partition's log end: nothing else writes to it meanwhile). Both run for
 * `warmupSeconds` not recorded, then `seconds` recorded, at `ratePerSecond`.
 * Every end-to-end latency also goes into `pooled` when given.
 */
export async function endToEndRound(
  produce: (index: number) => Promise<number>,
  startConsumer: (fromOffset: number, onRecord: OnConsumed) => RunningConsumer,
  firstOffset: number,
  ratePerSecond: number,
  seconds: number,
  warmupSeconds: number,
  pooled?: Histogram,
): Promise<EndToEndRound> {
  const warmupRequests = Math.round(ratePerSecond * warmupSeconds);
  const capacity = Math.ceil(warmupRequests + ratePerSecond * seconds) + 1;
  const scheduledMs = new Float64Array(capacity);
  /** When each request's acknowledgement arrived; 0 until it has. */
  const ackedMs = new Float64Array(capacity);
  const histogram = createLatencyHistogram();
  const afterAck = createLatencyHistogram();
  let sent = 0;
  let consumed = 0;
  let strayOffset = -1;
  let misplacedAck = -1;
  const onRecord: OnConsumed = (offset, receivedMs) => {
    const index = offset - firstOffset;
    if (index < 0 || index >= sent) {
      strayOffset = offset;
      return;
    }
    consumed++;
    if (index < warmupRequests) return;
    const latencyUs = Math.max(1, Math.round((receivedMs - scheduledMs[index]!) * 1000));
    histogram.recordValue(latencyUs);
    pooled?.recordValue(latencyUs);
    const ackMs = ackedMs[index]!;
    afterAck.recordValue(ackMs === 0 ? 1 : Math.max(1, Math.round((receivedMs - ackMs) * 1000)));
  };
  const consumer = startConsumer(firstOffset, onRecord);
  let produceLatency: OpenLoopLatency;
  try {
    produceLatency = await openLoop(
      (index, dueMs) => {
        scheduledMs[index] = dueMs;
        sent = index + 1;
        return produce(index).then((offset) => {
          ackedMs[index] = performance.now();
          if (offset !== firstOffset + index && misplacedAck < 0) misplacedAck = index;
        });
      },
      ratePerSecond,
      seconds,
      warmupSeconds,
    );
    const deadlineMs = performance.now() + CONSUMER_DRAIN_MS;
    while (consumed < sent && strayOffset < 0 && performance.now() < deadlineMs)
      await new Promise((resolve) => setTimeout(resolve, 5));
  } catch (error) {
    await consumer.stop().catch(() => undefined);
    histogram.destroy();
    afterAck.destroy();
    throw error;
  }
  try {
    await consumer.stop();
  } catch (error) {
    histogram.destroy();
    afterAck.destroy();
    throw error;
  }
  const endToEnd = summarizeAndDestroy(histogram);
  const readerPart = summarizeAndDestroy(afterAck);
  if (misplacedAck >= 0)
    throw new Error(
      `request ${misplacedAck} was not given offset ${firstOffset + misplacedAck}: another writer, or requests out of order`,
    );
  if (strayOffset >= 0)
    throw new Error(`the consumer got offset ${strayOffset}, outside the ${sent} records of this round`);
  if (consumed < sent)
    throw new Error(`the consumer got ${consumed} of ${sent} records within ${CONSUMER_DRAIN_MS} ms`);
  return { endToEnd, produce: produceLatency, afterAck: readerPart };
}
