import { parentPort, workerData } from 'node:worker_threads';
import { build, encodeIntoCompressedBase64 } from 'hdr-histogram-js';
import { PyralogClient } from '../../client/index.js';
import { errorMessage } from '../../common/errors.js';
import { readInt64 } from '../../common/offset.js';
import { buildRecordBatch } from '../../record/batch-builder.js';
import { BatchHeader } from '../../record/batch-header.js';
import { decodeRecordSet } from '../../record/batch-reader.js';
import { nextBatchBytes } from '../../record/batch-walk.js';
import type { BenchOptions } from './bench-options.js';
import { trackInFlight } from './in-flight.js';
import { LeanKafkaConsumer } from './lean-kafka-consumer.js';
import { LeanKafkaProducer } from './lean-kafka-producer.js';
import { sleepUntil } from './open-loop.js';

/**
 * One load actor of `pyralog bench`, in its own worker thread so the
 * generator is not the bottleneck: a producer (closed loop with `inFlight`
 * requests, or open loop at its share of `rate`, latency measured from each
 * batch's scheduled send time) or a consumer (end-to-end latency from the
 * send time stamped in each record to its delivery here).
 *
 * Messages to the parent: {kind:'progress', records, bytes} each second;
 * {kind:'done', records, bytes, errors, histogram} with the HDR histogram
 * (µs) compressed as base64.
 */
export interface LoadWorkerData {
  role: 'producer' | 'consumer';
  index: number;
  options: BenchOptions;
  /** Partitions this actor writes or reads. */
  partitions: number[];
  /** Wall clock (ms, shared by all threads) when measuring starts and stops. */
  measureFromMs: number;
  stopAtMs: number;
}

const data = workerData as LoadWorkerData;
const port = parentPort!;
const options = data.options;
const histogram = build({
  lowestDiscernibleValue: 1,
  highestTrackableValue: 3_600_000_000,
  numberOfSignificantValueDigits: 3,
});
let records = 0;
let bytes = 0;
let errors = 0;
let reportedRecords = 0;
let reportedBytes = 0;

/** Wall-clock ms with µs resolution, the same clock in every thread of the process. */
function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

const progress = setInterval(() => {
  port.postMessage({ kind: 'progress', records: records - reportedRecords, bytes: bytes - reportedBytes });
  reportedRecords = records;
  reportedBytes = bytes;
}, 1000);

function record(latencyMs: number, count: number, sentMs: number): void {
  if (sentMs < data.measureFromMs) return;
  histogram.recordValueWithCount(Math.max(1, Math.round(latencyMs * 1000)), count);
  records += count;
  bytes += count * options.recordBytes;
}

/** A batch whose records carry their send time in the first 8 bytes of the value, for end-to-end latency. */
function stampedBatch(sentMs: number): Uint8Array {
  const value = new Uint8Array(options.recordBytes);
  new DataView(value.buffer).setFloat64(0, sentMs);
  return buildRecordBatch(Array.from({ length: options.batchRecords }, () => ({ key: null, value })));
}

async function kafkaProducer(): Promise<void> {
  const producer = await LeanKafkaProducer.connect(options.kafka.port, options.kafka.host);
  let next = 0;
  const partitionFor = (): number => data.partitions[next++ % data.partitions.length]!;
  if (options.rate > 0) {
    const batchesPerSecond = options.rate / options.batchRecords / options.producers;
    const intervalMs = 1000 / batchesPerSecond;
    const inFlight = new Set<Promise<void>>();
    for (let i = 0; ; i++) {
      const scheduledMs = data.measureFromMs - options.warmupS * 1000 + i * intervalMs;
      if (scheduledMs >= data.stopAtMs) break;
      await sleepUntil(scheduledMs, nowMs);
      const sending = producer
        .produce(options.topic, partitionFor(), stampedBatch(scheduledMs), options.acks)
        .then(
          (ack) => {
            if (ack.errorCode !== 0) errors++;
            record(nowMs() - scheduledMs, options.batchRecords, scheduledMs);
          },
          () => {
            errors++;
          },
        );
      trackInFlight(inFlight, sending);
    }
    await Promise.all(inFlight);
  } else {
    await Promise.all(
      Array.from({ length: options.inFlight }, async () => {
        while (nowMs() < data.stopAtMs) {
          const sentMs = nowMs();
          const ack = await producer.produce(
            options.topic,
            partitionFor(),
            stampedBatch(sentMs),
            options.acks,
          );
          if (ack.errorCode !== 0) errors++;
          record(nowMs() - sentMs, options.batchRecords, sentMs);
        }
      }),
    );
  }
  producer.close();
}

async function kafkaConsumer(): Promise<void> {
  const consumer = await LeanKafkaConsumer.connect(options.kafka.port, options.kafka.host);
  const offsets = new Map<number, number>();
  // Start at the log end: only records produced during the run are measured.
  const ends = await consumer.fetch(options.topic, new Map(data.partitions.map((p) => [p, 0])), 0, 1);
  for (const end of ends) offsets.set(end.partition, end.highWatermark);
  while (nowMs() < data.stopAtMs + 2000) {
    const fetched = await consumer.fetch(options.topic, offsets, 200, 4 * 1024 * 1024);
    const receivedMs = nowMs();
    for (const part of fetched) {
      if (part.errorCode !== 0) {
        errors++;
        continue;
      }
      const from = offsets.get(part.partition)!;
      const view = new DataView(part.records.buffer, part.records.byteOffset, part.records.byteLength);
      let position = 0;
      let nextOffset = from;
      for (
        let sizeBytes = nextBatchBytes(view, position, part.records.length);
        sizeBytes > 0;
        sizeBytes = nextBatchBytes(view, position, part.records.length)
      ) {
        nextOffset =
          readInt64(view, position + BatchHeader.BASE_OFFSET) +
          view.getInt32(position + BatchHeader.LAST_OFFSET_DELTA) +
          1;
        position += sizeBytes;
      }
      for (const consumed of decodeRecordSet(part.records)) {
        if (consumed.offset < from || consumed.value === null || consumed.value.length < 8) continue;
        const sentMs = new DataView(consumed.value.buffer, consumed.value.byteOffset).getFloat64(0);
        record(receivedMs - sentMs, 1, sentMs);
      }
      offsets.set(part.partition, nextOffset);
    }
    if (nowMs() >= data.stopAtMs && fetched.every((p) => p.records.length === 0)) break;
  }
  consumer.close();
}

async function wsProducer(): Promise<void> {
  const client = await PyralogClient.connect({
    url: options.wsUrl,
    lingerMs: options.lingerMs,
    batchMaxRecords: options.batchRecords,
    acks: options.acks,
  });
  let next = 0;
  const produceOne = async (sentMs: number): Promise<void> => {
    const value = new Uint8Array(options.recordBytes);
    new DataView(value.buffer).setFloat64(0, sentMs);
    try {
      await client.produce(options.topic, {
        value,
        partition: data.partitions[next++ % data.partitions.length]!,
      });
      record(nowMs() - sentMs, 1, sentMs);
    } catch {
      errors++;
    }
  };
  if (options.rate > 0) {
    const intervalMs = 1000 / (options.rate / options.producers);
    const inFlight = new Set<Promise<void>>();
    for (let i = 0; ; i++) {
      const scheduledMs = data.measureFromMs - options.warmupS * 1000 + i * intervalMs;
      if (scheduledMs >= data.stopAtMs) break;
      await sleepUntil(scheduledMs, nowMs);
      trackInFlight(inFlight, produceOne(scheduledMs));
    }
    await Promise.all(inFlight);
  } else {
    await Promise.all(
      Array.from({ length: options.inFlight * options.batchRecords }, async () => {
        while (nowMs() < data.stopAtMs) await produceOne(nowMs());
      }),
    );
  }
  await client.close();
}

async function wsConsumer(): Promise<void> {
  const client = await PyralogClient.connect({ url: options.wsUrl });
  await Promise.all(
    data.partitions.map(async (partition) => {
      const subscription = client.subscribe(options.topic, partition, 'latest');
      const stop = setTimeout(() => subscription.close(), Math.max(0, data.stopAtMs + 2000 - nowMs()));
      for await (const consumed of subscription) {
        if (consumed.value === null || consumed.value.length < 8) continue;
        const sentMs = new DataView(consumed.value.buffer, consumed.value.byteOffset).getFloat64(0);
        record(nowMs() - sentMs, 1, sentMs);
      }
      clearTimeout(stop);
    }),
  );
  await client.close();
}

async function main(): Promise<void> {
  try {
    if (data.role === 'producer') await (options.protocol === 'kafka' ? kafkaProducer() : wsProducer());
    else await (options.protocol === 'kafka' ? kafkaConsumer() : wsConsumer());
  } catch (error) {
    errors++;
    port.postMessage({ kind: 'failed', message: errorMessage(error) });
  }
  clearInterval(progress);
  port.postMessage({
    kind: 'done',
    records,
    bytes,
    errors,
    histogram: encodeIntoCompressedBase64(histogram),
  });
  histogram.destroy();
}

void main();
