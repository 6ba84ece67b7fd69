import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LeanKafkaProducer } from '../src/cli/bench/lean-kafka-producer.js';
import { buildRecordBatch } from '../src/record/batch-builder.js';
import { CompressionCodec, compressionCodecName } from '../src/record/batch-header.js';
import { buildCompressedBatch } from '../src/record/compression.js';
import type { ProducedRecord } from '../src/record/record.js';
import { type BrokerProcess, startBrokerProcess } from '../tools/broker-process.js';
import { numberFlag, stringFlag } from './support/flags.js';
import { printTable } from './support/mitata-ratios.js';

/**
 * `npm run bench -- compressed-produce`: what checking compressed batches
 * costs. The broker (its own process, --fsync never, acks=1) takes 16-record
 * batches of ~1 KiB JSON-like records, 4 connections × 8 in flight over 8
 * partitions, as plain batches and in each codec. Every compressed batch is
 * inflated and walked on the checker thread before it reaches its shard, so
 * the figure is records per second, as a ratio to plain batches measured in
 * the same run right before each codec (a fresh broker for every measurement).
 *
 * `--before=PATH` (another checkout's compiled dist/src/cli/main.js) also
 * runs plain batches through that build, interleaved with this one's, for
 * the before/after cost on the uncompressed path. Flags: --seconds=N (4).
 */
const CONNECTIONS = 4;
const PARTITIONS = 8;
const IN_FLIGHT = 8;
const WARMUP_S = 2;
const RECORDS_PER_BATCH = 16;

function sampleRecords(): ProducedRecord[] {
  const encoder = new TextEncoder();
  return Array.from({ length: RECORDS_PER_BATCH }, (_, i) => ({
    key: encoder.encode(`user-${i}`),
    value: encoder.encode(
      JSON.stringify({
        id: i,
        kind: 'page_view',
        path: `/products/${(i * 7919) % 1000}`,
        referrer: `https://example.test/${(i * 31) % 97}`,
        ms: 1_700_000_000_000 + i,
      }).padEnd(1000, ' '),
    ),
  }));
}

async function recordsPerSecond(
  port: number,
  topic: string,
  batch: Uint8Array,
  seconds: number,
): Promise<number> {
  const producers = await Promise.all(
    Array.from({ length: CONNECTIONS }, () => LeanKafkaProducer.connect(port)),
  );
  let batches = 0;
  let errors = 0;
  const startMs = performance.now() + WARMUP_S * 1000;
  const endMs = startMs + seconds * 1000;
  await Promise.all(
    producers.flatMap((producer, c) =>
      Array.from({ length: IN_FLIGHT }, async (_, slot) => {
        const requests = Array.from({ length: PARTITIONS }, (_, partition) =>
          producer.prepare(topic, [partition], batch, 1),
        );
        let partition = (c * IN_FLIGHT + slot) % PARTITIONS;
        while (performance.now() < endMs) {
          const ack = await producer.send(requests[partition]!);
          if (ack.errorCode !== 0) errors++;
          if (performance.now() >= startMs) batches++;
          partition = (partition + 1) % PARTITIONS;
        }
      }),
    ),
  );
  const elapsedS = (performance.now() - startMs) / 1000;
  for (const producer of producers) producer.close();
  if (errors > 0) throw new Error(`${errors} produce errors on ${topic}`);
  return (batches * RECORDS_PER_BATCH) / elapsedS;
}

async function createTopic(httpPort: number, name: string): Promise<void> {
  const response = await fetch(`http://127.0.0.1:${httpPort}/topics`, {
    method: 'POST',
    body: JSON.stringify({ name, partitions: PARTITIONS }),
  });
  if (response.status !== 201) throw new Error(`cannot create ${name}: ${response.status}`);
}

async function withBroker<T>(
  mainFile: string | undefined,
  run: (broker: BrokerProcess) => Promise<T>,
): Promise<T> {
  const dataDir = mkdtempSync(join(tmpdir(), 'pyralog-bench-compressed-'));
  const broker = await startBrokerProcess(['--data', dataDir, '--fsync', 'never'], mainFile);
  try {
    return await run(broker);
  } finally {
    await broker.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function run(args: readonly string[]): Promise<void> {
  const seconds = numberFlag(args, 'seconds', 4);
  const before = stringFlag(args, 'before', '');
  const records = sampleRecords();
  const plain = buildRecordBatch(records);
  const codecs = [
    CompressionCodec.GZIP,
    CompressionCodec.SNAPPY,
    CompressionCodec.LZ4,
    CompressionCodec.ZSTD,
  ];
  // Each measurement gets a fresh broker, after the page cache's dirty pages are written back (sync(1)).
  const measure = (mainFile: string | undefined, topic: string, batch: Uint8Array) =>
    withBroker(mainFile, async (broker) => {
      execFileSync('sync');
      await createTopic(broker.httpPort, topic);
      return recordsPerSecond(broker.kafkaPort, topic, batch, seconds);
    });
  // One discarded run first: the load generator itself is cold (V8 compiling its loop) on the first one.
  await measure(undefined, 'plain', plain);
  const rows: string[][] = [['codec', 'bytes/batch', 'plain records/s', 'codec records/s', 'codec / plain']];
  for (const codec of codecs) {
    const name = compressionCodecName(codec);
    const batch = buildCompressedBatch(records, codec);
    const plainRate = await measure(undefined, 'plain', plain);
    const codecRate = await measure(undefined, name, batch);
    rows.push([
      name,
      `${batch.length} (plain ${plain.length})`,
      plainRate.toFixed(0),
      codecRate.toFixed(0),
      (codecRate / plainRate).toFixed(2),
    ]);
  }
  printTable(rows);
  if (before === '') return;
  // Plain batches through the other build and this one, alternating.
  const pairs: string[][] = [['round', 'before records/s', 'after records/s', 'after / before']];
  for (let round = 1; round <= 4; round++) {
    // Alternate which build goes first, so neither always runs on a machine the other just warmed or dirtied.
    let beforeRate: number;
    let afterRate: number;
    if (round % 2 === 1) {
      beforeRate = await measure(before, 'plain', plain);
      afterRate = await measure(undefined, 'plain', plain);
    } else {
      afterRate = await measure(undefined, 'plain', plain);
      beforeRate = await measure(before, 'plain', plain);
    }
    pairs.push([
      String(round),
      beforeRate.toFixed(0),
      afterRate.toFixed(0),
      (afterRate / beforeRate).toFixed(2),
    ]);
  }
  printTable(pairs);
}
