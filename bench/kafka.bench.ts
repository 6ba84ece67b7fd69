import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'hdr-histogram-js';
import { buildRecordBatch } from '../src/record/batch-builder.js';
import { startBrokerProcess } from '../tools/broker-process.js';
import { LeanKafkaProducer } from '../tools/lean-kafka-producer.js';
import { rawTcpBytesPerSecond, rawWriteSyncBytesPerSecond, startAckServer } from '../tools/raw-baselines.js';
import { printTable } from './support/mitata-ratios.js';

/**
 * `npm run bench -- kafka`: the broker (its own process) driven over the
 * Kafka protocol by the lean producer in tools/, against baselines from the
 * same run:
 *
 * - max produce throughput, 1 KiB records in 16 KiB batches, 4 connections ×
 *   8 partitions, 8 requests in flight per connection, acks=1 with
 *   --fsync never, against raw loopback TCP request/response of the same
 *   frames (target ≥ 0.35);
 * - the same with acks=-1 and --fsync always, against raw writes plus one
 *   fdatasync per 32 batches (the requests in flight) (target ≥ 0.6);
 * - round-trip latency at 5,000 requests/s of one 1 KiB record, acks=1,
 *   open loop (measured from each request's scheduled time) (target p99 ≤ 1 ms).
 *
 * Flags: --seconds=N (default 4).
 */
const CONNECTIONS = 4;
const PARTITIONS = 8;
const IN_FLIGHT = 8;

function flag(args: readonly string[], name: string, fallback: number): number {
  const found = args.find((arg) => arg.startsWith(`--${name}=`));
  return found === undefined ? fallback : Number(found.slice(name.length + 3));
}

async function createTopic(httpPort: number, name: string, partitions: number): Promise<void> {
  const response = await fetch(`http://127.0.0.1:${httpPort}/topics`, {
    method: 'POST',
    body: JSON.stringify({ name, partitions }),
  });
  if (response.status !== 201)
    throw new Error(`cannot create ${name}: ${response.status} ${await response.text()}`);
}

async function produceThroughput(
  kafkaPort: number,
  topic: string,
  batch: Uint8Array,
  acks: 1 | -1,
  seconds: number,
): Promise<number> {
  const producers = await Promise.all(
    Array.from({ length: CONNECTIONS }, () => LeanKafkaProducer.connect(kafkaPort)),
  );
  let acknowledged = 0;
  let errors = 0;
  const endMs = performance.now() + seconds * 1000;
  const startMs = performance.now();
  await Promise.all(
    producers.flatMap((producer, c) =>
      Array.from({ length: IN_FLIGHT }, async (_, slot) => {
        let partition = (c * IN_FLIGHT + slot) % PARTITIONS;
        while (performance.now() < endMs) {
          const ack = await producer.produce(topic, partition, batch, acks);
          if (ack.errorCode !== 0) errors++;
          acknowledged++;
          partition = (partition + 1) % PARTITIONS;
        }
      }),
    ),
  );
  const elapsedS = (performance.now() - startMs) / 1000;
  for (const producer of producers) producer.close();
  if (errors > 0) throw new Error(`${errors} produce errors`);
  return (acknowledged * batch.length) / elapsedS;
}

async function latencyAtRate(kafkaPort: number, topic: string, ratePerSecond: number, seconds: number) {
  const producer = await LeanKafkaProducer.connect(kafkaPort);
  const batch = buildRecordBatch([{ key: null, value: new Uint8Array(1024).fill(5) }]);
  const histogram = build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
  });
  const total = ratePerSecond * seconds;
  const intervalMs = 1000 / ratePerSecond;
  const startMs = performance.now() + 20;
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const scheduledMs = startMs + i * intervalMs;
    const waitMs = scheduledMs - performance.now();
    if (waitMs > 2) await new Promise((resolve) => setTimeout(resolve, waitMs - 1.5));
    while (performance.now() < scheduledMs) await new Promise((resolve) => setImmediate(resolve));
    inFlight.push(
      producer.produce(topic, i % PARTITIONS, batch, 1).then(() => {
        histogram.recordValue(Math.max(1, Math.round((performance.now() - scheduledMs) * 1000)));
      }),
    );
    if (inFlight.length >= 1000) await Promise.all(inFlight.splice(0, 500));
  }
  await Promise.all(inFlight);
  producer.close();
  const result = {
    p50: histogram.getValueAtPercentile(50),
    p99: histogram.getValueAtPercentile(99),
    p999: histogram.getValueAtPercentile(99.9),
    max: histogram.maxValue,
  };
  histogram.destroy();
  return result;
}

export async function run(args: readonly string[]): Promise<void> {
  const seconds = flag(args, 'seconds', 4);
  const root = join(process.cwd(), 'bench', 'out');
  mkdirSync(root, { recursive: true });
  const dir = mkdtempSync(join(root, 'kafka-'));
  const batch = buildRecordBatch(
    Array.from({ length: 16 }, (_, i) => ({ key: null, value: new Uint8Array(1000).fill(i) })),
  );
  const mb = (bytesPerS: number) => (bytesPerS / 1e6).toFixed(1);
  try {
    const ackServer = await startAckServer();
    const rawTcp = await rawTcpBytesPerSecond(ackServer.port, batch.length, CONNECTIONS, IN_FLIGHT, seconds);
    await ackServer.stop();
    const rawSync = await rawWriteSyncBytesPerSecond(dir, batch.length, CONNECTIONS * IN_FLIGHT, seconds);

    const fast = await startBrokerProcess(['--data', join(dir, 'never'), '--fsync', 'never']);
    await createTopic(fast.httpPort, 'ingest', PARTITIONS);
    await createTopic(fast.httpPort, 'latency', PARTITIONS);
    const nonDurable = await produceThroughput(fast.kafkaPort, 'ingest', batch, 1, seconds);
    const latency = await latencyAtRate(fast.kafkaPort, 'latency', 5000, seconds);
    await fast.stop();

    const durableBroker = await startBrokerProcess(['--data', join(dir, 'always'), '--fsync', 'always']);
    await createTopic(durableBroker.httpPort, 'ingest', PARTITIONS);
    const durable = await produceThroughput(durableBroker.kafkaPort, 'ingest', batch, -1, seconds);
    await durableBroker.stop();

    console.log(
      `batches of ${batch.length} B (16 x 1 KiB records), ${CONNECTIONS} connections x ${IN_FLIGHT} in flight, ${PARTITIONS} partitions`,
    );
    printTable([
      ['measure', 'baseline MB/s', 'pyralog MB/s', 'records/s', 'ratio', 'target'],
      [
        'acks=1, fsync never vs raw loopback TCP',
        mb(rawTcp),
        mb(nonDurable),
        ((nonDurable / batch.length) * 16).toFixed(0),
        (nonDurable / rawTcp).toFixed(2),
        '>= 0.35',
      ],
      [
        'acks=-1, fsync always vs raw write + fdatasync per 32',
        mb(rawSync),
        mb(durable),
        ((durable / batch.length) * 16).toFixed(0),
        (durable / rawSync).toFixed(2),
        '>= 0.6',
      ],
    ]);
    console.log(
      `\nlatency at 5000 req/s (1 KiB, acks=1, open loop): p50 ${latency.p50} µs, p99 ${latency.p99} µs, ` +
        `p99.9 ${latency.p999} µs, max ${latency.max} µs (target p99 <= 1000 µs)`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
