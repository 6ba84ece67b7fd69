import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { bench, do_not_optimize } from 'mitata';
import { LeanKafkaProducer, produceRequestBytes } from '../src/cli/bench/lean-kafka-producer.js';
import { type OpenLoopLatency, openLoop } from '../src/cli/bench/open-loop.js';
import { type FetchResponseData, fetch as fetchApi } from '../src/protocol/kafka/fetch.js';
import { concatChunks, KafkaReader, KafkaWriter } from '../src/protocol/kafka/primitives.js';
import { type ProduceResponse, produce as produceApi } from '../src/protocol/kafka/produce.js';
import { buildRecordBatch } from '../src/record/batch-builder.js';
import { brokerCpuProbe } from '../tools/broker-cpu.js';
import { type BrokerProcess, startBrokerProcess } from '../tools/broker-process.js';
import {
  rawAppendBytesPerSecond,
  rawTcpBytesPerSecond,
  rawWriteSyncBytesPerSecond,
  rawWriteSyncFilesBytesPerSecond,
  startAckServer,
  threadWakeLatencyAtRate,
} from '../tools/raw-baselines.js';
import { numberFlag } from './support/flags.js';
import { idleCpuShare } from './support/idle-cpu.js';
import { type LatencyRound, latencyRounds } from './support/kafka-latency.js';
import { printTable, runWithRatios } from './support/mitata-ratios.js';
import { roundsRow, type SuiteRow, suiteRow, writeSuiteResults } from './support/suite-results.js';
import { threadHopEchoCpu } from './support/thread-hop-echo.js';

/**
 * `npm run bench -- kafka`: the broker (its own process, default shard count)
 * driven over the Kafka protocol by the lean producer in tools/, against
 * baselines from the same run:
 *
 * - max produce throughput, 1 KiB records in 16 KiB batches, 4 connections ×
 *   8 partitions, counted after THROUGHPUT_WARMUP_S of the same load (the raw
 *   TCP baselines get the same warm-up), acks=1 with --fsync never, against
 *   raw loopback TCP request/response of the same frames with as many in
 *   flight, in two request shapes: one batch per request
 *   (8 in flight per connection), and one batch for each of the 8 partitions
 *   per request (4 in flight per connection), which is how Kafka clients fill
 *   a request for a broker that leads every partition; and, for what storage
 *   alone allows, against appending the same batches to a new file from one
 *   thread with nothing else to do (no target: every byte a broker accepts
 *   lands in new page-cache pages, which loopback TCP never touches); and
 *   against the least a non-durable log can do on this machine, the same raw
 *   TCP frames appended to a file by the ack server before it acks them
 *   (startAckServer's appendToDir): that baseline's own ratio to raw loopback
 *   TCP, printed as the ceiling, bounds any broker here: it does only what
 *   every broker must (receive, append, ack); the target is ≥ 0.9 of it;
 * - the same with acks=-1 and --fsync always, against raw writes plus one
 *   fdatasync per 32 batches (the batches in flight) (target ≥ 0.6 with one
 *   batch per request, ≥ 0.85 with eight); and, as the ceiling of a log
 *   whose partitions are files of their own, the same 32 batches spread over
 *   the PARTITIONS files, each file written and fdatasynced on its own, all
 *   at once (no target: what the disk allows a broker that may not share one
 *   sync among partitions);
 * - round-trip latency at 5,000 requests/s of one 1 KiB record, acks=1,
 *   open loop (measured from each request's scheduled time), over the first
 *   LATENCY_WARMUP_S of a fresh broker, as the latency of a cold broker
 *   (target: p99 ≤ 3× the steady p99), then in steady state (targets:
 *   p99 ≤ 2×, p99.9 ≤ 3× raw loopback TCP's); beside the same load of frames
 *   of the same size through raw loopback TCP, the floor the machine and the
 *   generator set, and beside two threads waking each other at that rate (a
 *   broker request crosses four wake-ups);
 * - end to end at the same rate: each record from its request's scheduled
 *   time to a long-polling consumer of its partition (target: p99 ≤ 3× raw
 *   loopback TCP's p99);
 * - the CPU time each steady-state request costs the acceptor thread and
 *   each shard thread (from /proc, by the thread ids the broker exposes),
 *   beside the CPU per request of the raw TCP server's thread over its own
 *   latency rounds (targets: acceptor ≤ 2×, shard ≤ 1.5×), and beside the
 *   thread-hop echo's two threads over the same load (a TCP echo that passes
 *   each frame through our rings to a second thread and back: the least the
 *   acceptor → shard design costs on this machine; no target). CPU time
 *   hardly depends on the machine's load, unlike latency;
 * - the CPU a fresh broker with a topic and no clients uses, as a share of
 *   one core (target ≤ 0.005).
 *
 * The steady-state, end-to-end and CPU figures come from LATENCY_ROUNDS
 * alternating rounds of LATENCY_ROUND_S each (raw TCP, produce, end to end,
 * back to back: support/kafka-latency.ts); each target is checked on the
 * median of the rounds' ratios, and every round is printed.
 *
 * Every figure with its baseline, ratio and target also goes to
 * bench/out/kafka.json, with whether the generator had a core of its own.
 *
 * Before those, the protocol codecs alone (mitata): decoding a Produce v7
 * request of 8 partitions × 16 KiB batches and a Fetch v11 request of 8
 * partitions, and encoding their responses (the Fetch response with 8 × 16 KiB
 * of records as views), each beside copying the same number of bytes.
 *
 * Flags: --seconds=N (default 4) for each throughput run; --rounds=N (default
 * 4) and --round-seconds=N (default 2) for the latency rounds; --codec-only
 * skips the broker runs.
 */
const CONNECTIONS = 4;
const PARTITIONS = 8;
const IN_FLIGHT = 8;
/** Requests in flight per connection when each carries a batch for every partition. */
const IN_FLIGHT_ALL_PARTITIONS = 4;
/**
 * Seconds of load before the throughput is counted: a fresh broker spends its
 * first seconds compiling its hot paths.
 */
const THROUGHPUT_WARMUP_S = 2;
/**
 * Seconds at the latency rate before steady state is recorded. Measured per
 * second from a fresh broker at 5,000 req/s (bench/RESULTS.md): p99 is tens
 * of ms in the first second and 2–4 ms in seconds 2–5, then 0.6–0.8 ms. The
 * early tail is V8 compiling on its background threads (TurboFan jobs of up to
 * 15 ms, each holding one of the two cores) and recompiling the ring's claim
 * and drain loops after the ring first wraps (16 MiB at ~6 MB/s: ~3 s in),
 * in the broker and in the load generator alike.
 */
const LATENCY_WARMUP_S = 6;
const LATENCY_RATE_PER_S = 5000;
/** Alternating latency rounds after the cold run (see support/kafka-latency.ts), and each one's length. */
const LATENCY_ROUNDS = 4;
const LATENCY_ROUND_S = 2;
/** Unrecorded seconds of the raw TCP and end-to-end series before the first round. */
const LATENCY_SERIES_WARMUP_S = 2;
/** An idle broker's CPU: seconds of rest after start, then the seconds measured (issue 18: <= 0.5% of a core). */
const IDLE_SETTLE_S = 2;
const IDLE_WINDOW_S = 5;

/**
 * Writes back every dirty page before the next measurement (sync(1)): a run
 * with --fsync never leaves gigabytes in the page cache, and their writeback
 * would otherwise slow whichever measurement comes next.
 */
function settleDirtyPages(): void {
  execFileSync('sync');
}

async function createTopic(httpPort: number, name: string, partitions: number): Promise<void> {
  const response = await fetch(`http://127.0.0.1:${httpPort}/topics`, {
    method: 'POST',
    body: JSON.stringify({ name, partitions }),
  });
  if (response.status !== 201)
    throw new Error(`cannot create ${name}: ${response.status} ${await response.text()}`);
}

/** Bytes of batches acknowledged per second; each request carries one batch, or one for every partition. */
async function produceThroughput(
  kafkaPort: number,
  topic: string,
  batch: Uint8Array,
  acks: 1 | -1,
  seconds: number,
  shape: 'one-partition' | 'all-partitions' = 'one-partition',
  warmupSeconds = THROUGHPUT_WARMUP_S,
  /** Filled with every request's round trip (warm-up included), when given. */
  roundTrips?: RoundTrips,
): Promise<number> {
  const producers = await Promise.all(
    Array.from({ length: CONNECTIONS }, () => LeanKafkaProducer.connect(kafkaPort)),
  );
  const allPartitions = Array.from({ length: PARTITIONS }, (_, index) => index);
  const inFlight = shape === 'one-partition' ? IN_FLIGHT : IN_FLIGHT_ALL_PARTITIONS;
  const batchesPerRequest = shape === 'one-partition' ? 1 : PARTITIONS;
  let acknowledged = 0;
  let errors = 0;
  const startMs = performance.now() + warmupSeconds * 1000;
  const endMs = startMs + seconds * 1000;
  await Promise.all(
    producers.flatMap((producer, c) =>
      Array.from({ length: inFlight }, async (_, slot) => {
        // Each slot builds its requests once (one per partition it rotates through, or the one carrying every
        // partition) and sends each again once it is answered, as the raw TCP baseline resends its frame.
        const requests =
          shape === 'one-partition'
            ? allPartitions.map((partition) => producer.prepare(topic, [partition], batch, acks))
            : [producer.prepare(topic, allPartitions, batch, acks)];
        let partition = (c * inFlight + slot) % PARTITIONS;
        while (performance.now() < endMs) {
          const sentMs = performance.now();
          const ack = await producer.send(requests[shape === 'one-partition' ? partition : 0]!);
          if (roundTrips !== undefined) {
            roundTrips.totalMs += performance.now() - sentMs;
            roundTrips.count++;
          }
          if (ack.errorCode !== 0) errors++;
          if (performance.now() >= startMs) acknowledged += batchesPerRequest;
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

interface RoundTrips {
  totalMs: number;
  count: number;
}

/** The shard stages an acks=-1 produce passes through, by their `/metrics` histogram. */
const DURABLE_STAGES = {
  ringWait: 'pyralog_ring_wait_seconds',
  append: 'pyralog_append_seconds',
  fsyncWait: 'pyralog_fsync_wait_seconds',
  sync: 'pyralog_sync_seconds',
} as const;
type DurableStage = keyof typeof DURABLE_STAGES;
type StageTotals = Record<DurableStage, { sumS: number; count: number }>;

/** Sum (s) and count of each of the broker's DURABLE_STAGES histograms, all shards. */
async function stageTotals(httpPort: number): Promise<StageTotals> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const totals = {} as StageTotals;
  for (const stage of Object.keys(DURABLE_STAGES) as DurableStage[]) totals[stage] = { sumS: 0, count: 0 };
  for (const line of text.split('\n')) {
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    for (const stage of Object.keys(DURABLE_STAGES) as DurableStage[]) {
      if (line.startsWith(`${DURABLE_STAGES[stage]}_sum`)) totals[stage].sumS += value;
      else if (line.startsWith(`${DURABLE_STAGES[stage]}_count`)) totals[stage].count += value;
    }
  }
  return totals;
}

/** Where a produce request's time went, means over the run, warm-up included. */
interface ThroughputSplit {
  bytesPerS: number;
  /** The round trip the client saw. */
  roundTripMs: number;
  /** In the shard's request ring: from the acceptor's write to the shard's read. */
  ringWaitMs: number;
  /** From the shard's read until the batch was written (with the rest of its ring drain). */
  appendMs: number;
  /** From the write until an fdatasync covered the batch. */
  fsyncWaitMs: number;
  /** One group-commit sync of one partition log, start to completion. */
  syncMs: number;
  /** Syncs completed per batch acknowledged. */
  syncsPerBatch: number;
  /** CPU time per batch on the acceptor thread and on all shard threads together (from /proc). */
  acceptorUsPerBatch: number;
  shardUsPerBatch: number;
}

/**
 * Throughput with where its requests' time went: the mean round trip the
 * client saw, and the shard's stages from its histograms (ring wait, append,
 * and with acks=-1 the wait for the covering fdatasync, how long one sync took
 * and how many there were per batch), and the CPU per batch of the acceptor
 * and the shards, over the whole run, warm-up included. What the round trip
 * holds beyond the shard's stages is the acceptor's, the reply ring's, the
 * network's and the generator's part, and a response waiting behind an
 * earlier one on its connection (Kafka answers in order).
 */
async function throughputWithSplit(
  broker: BrokerProcess,
  batch: Uint8Array,
  seconds: number,
  shape: 'one-partition' | 'all-partitions',
  acks: 1 | -1,
): Promise<ThroughputSplit> {
  const probe = await brokerCpuProbe(broker.child.pid!, broker.httpPort);
  const before = await stageTotals(broker.httpPort);
  const cpuBefore = probe.read();
  const roundTrips: RoundTrips = { totalMs: 0, count: 0 };
  const bytesPerS = await produceThroughput(
    broker.kafkaPort,
    'ingest',
    batch,
    acks,
    seconds,
    shape,
    THROUGHPUT_WARMUP_S,
    roundTrips,
  );
  const cpuAfter = probe.read();
  const after = await stageTotals(broker.httpPort);
  const meanMs = (stage: DurableStage) =>
    ((after[stage].sumS - before[stage].sumS) / (after[stage].count - before[stage].count)) * 1000;
  const batches = roundTrips.count * (shape === 'one-partition' ? 1 : PARTITIONS);
  let shardNs = 0;
  for (let i = 0; i < cpuAfter.shardNs.length; i++) shardNs += cpuAfter.shardNs[i]! - cpuBefore.shardNs[i]!;
  return {
    bytesPerS,
    roundTripMs: roundTrips.totalMs / roundTrips.count,
    ringWaitMs: meanMs('ringWait'),
    appendMs: meanMs('append'),
    fsyncWaitMs: acks === -1 ? meanMs('fsyncWait') : 0,
    syncMs: acks === -1 ? meanMs('sync') : 0,
    syncsPerBatch: (after.sync.count - before.sync.count) / batches,
    acceptorUsPerBatch: (cpuAfter.acceptorNs - cpuBefore.acceptorNs) / 1000 / batches,
    shardUsPerBatch: shardNs / 1000 / batches,
  };
}

/** The batch of the latency runs: one 1 KiB record. */
function latencyRecordBatch(): Uint8Array {
  return buildRecordBatch([{ key: null, value: new Uint8Array(1024).fill(5) }]);
}

function bodyOf(write: (writer: KafkaWriter) => void): Uint8Array {
  const writer = new KafkaWriter();
  write(writer);
  return concatChunks(writer.finish());
}

/** Request decode and response encode of Produce and Fetch, each against a copy of as many bytes. */
async function codecs(batch: Uint8Array): Promise<void> {
  const partitions = Array.from({ length: PARTITIONS }, (_, index) => index);
  const produceRequest = bodyOf((w) => {
    w.nullableString(null).int16(1).int32(30_000).int32(1).string('ingest');
    w.array(partitions, (pw, index) => pw.int32(index).bytesField(batch));
  });
  const fetchRequest = bodyOf((w) => {
    w.int32(-1)
      .int32(500)
      .int32(1)
      .int32(50 << 20)
      .int8(0)
      .int32(0)
      .int32(-1);
    w.int32(1).string('ingest');
    w.array(partitions, (pw, index) =>
      pw
        .int32(index)
        .int32(-1)
        .int64(1_000_000)
        .int64(0)
        .int32(1 << 20),
    );
    w.int32(0).string('');
  });
  const produceResponse: ProduceResponse = {
    topics: [
      {
        name: 'ingest',
        partitions: partitions.map((index) => ({
          index,
          errorCode: 0,
          baseOffset: 1_000_000,
          logAppendTimeMs: -1,
          logStartOffset: 0,
        })),
      },
    ],
  };
  const fetchResponse: FetchResponseData = {
    topics: [
      {
        topic: 'ingest',
        partitions: partitions.map((partition) => ({
          partition,
          errorCode: 0,
          highWatermark: 2_000_000,
          lastStableOffset: 2_000_000,
          logStartOffset: 0,
          records: batch,
        })),
      },
    ],
  };
  const writer = new KafkaWriter(16 * 1024);
  const frameBytes = (encode: (w: KafkaWriter) => void) => {
    encode(writer.beginFrame().int32(1));
    let total = 0;
    for (const chunk of writer.finishFrame()) total += chunk.length;
    return total;
  };
  const produceResponseBytes = frameBytes((w) => produceApi.encode(w, produceResponse, 7));
  const fetchResponseBytes = frameBytes((w) => fetchApi.encode(w, fetchResponse, 11));
  const copySource = new Uint8Array(Math.max(produceRequest.length, fetchResponseBytes));
  const copyTarget = new Uint8Array(copySource.length);
  const copyOf = (byteCount: number) => () => copyTarget.set(copySource.subarray(0, byteCount));

  const names = {
    produceCopy: `copy ${produceRequest.length} B (Produce request)`,
    produceDecode: `decode Produce v7 request, ${PARTITIONS} x ${batch.length} B`,
    fetchCopy: `copy ${fetchRequest.length} B (Fetch request)`,
    fetchDecode: `decode Fetch v11 request, ${PARTITIONS} partitions`,
    produceResponseCopy: `copy ${produceResponseBytes} B (Produce response)`,
    produceEncode: `encode Produce v7 response, ${PARTITIONS} partitions`,
    fetchResponseCopy: `copy ${fetchResponseBytes} B (Fetch response)`,
    fetchEncode: `encode Fetch v11 response, ${PARTITIONS} x ${batch.length} B as views`,
  };
  bench(names.produceCopy, copyOf(produceRequest.length));
  bench(names.produceDecode, () => do_not_optimize(produceApi.decode(new KafkaReader(produceRequest), 7)));
  bench(names.fetchCopy, copyOf(fetchRequest.length));
  bench(names.fetchDecode, () => do_not_optimize(fetchApi.decode(new KafkaReader(fetchRequest), 11)));
  bench(names.produceResponseCopy, copyOf(produceResponseBytes));
  bench(names.produceEncode, () =>
    do_not_optimize(frameBytes((w) => produceApi.encode(w, produceResponse, 7))),
  );
  bench(names.fetchResponseCopy, copyOf(fetchResponseBytes));
  bench(names.fetchEncode, () => do_not_optimize(frameBytes((w) => fetchApi.encode(w, fetchResponse, 11))));
  await runWithRatios([
    { name: names.produceCopy, baseline: names.produceCopy, bytesPerOp: produceRequest.length },
    {
      name: names.produceDecode,
      baseline: names.produceCopy,
      bytesPerOp: produceRequest.length,
      itemsPerOp: PARTITIONS,
    },
    { name: names.fetchCopy, baseline: names.fetchCopy, bytesPerOp: fetchRequest.length },
    {
      name: names.fetchDecode,
      baseline: names.fetchCopy,
      bytesPerOp: fetchRequest.length,
      itemsPerOp: PARTITIONS,
    },
    {
      name: names.produceResponseCopy,
      baseline: names.produceResponseCopy,
      bytesPerOp: produceResponseBytes,
    },
    {
      name: names.produceEncode,
      baseline: names.produceResponseCopy,
      bytesPerOp: produceResponseBytes,
      itemsPerOp: PARTITIONS,
    },
    { name: names.fetchResponseCopy, baseline: names.fetchResponseCopy, bytesPerOp: fetchResponseBytes },
    {
      name: names.fetchEncode,
      baseline: names.fetchResponseCopy,
      bytesPerOp: fetchResponseBytes,
      itemsPerOp: PARTITIONS,
    },
  ]);
}

export async function run(args: readonly string[]): Promise<void> {
  const seconds = numberFlag(args, 'seconds', 4);
  const root = join(process.cwd(), 'bench', 'out');
  mkdirSync(root, { recursive: true });
  const dir = mkdtempSync(join(root, 'kafka-'));
  const batch = buildRecordBatch(
    Array.from({ length: 16 }, (_, i) => ({ key: null, value: new Uint8Array(1000).fill(i) })),
  );
  const mb = (bytesPerS: number) => (bytesPerS / 1e6).toFixed(1);
  console.log('Kafka codecs (ratio: copy time / codec time; above 1 is faster than copying the bytes)');
  await codecs(batch);
  if (args.includes('--codec-only')) {
    rmSync(dir, { recursive: true, force: true });
    return;
  }
  try {
    const ackServer = await startAckServer();
    const rawTcp = await rawTcpBytesPerSecond(
      ackServer.port,
      batch.length,
      CONNECTIONS,
      IN_FLIGHT,
      seconds,
      THROUGHPUT_WARMUP_S,
    );
    const allPartitionsBytes = produceRequestBytes('ingest', PARTITIONS, batch.length);
    const rawTcpAllPartitions =
      (await rawTcpBytesPerSecond(
        ackServer.port,
        allPartitionsBytes,
        CONNECTIONS,
        IN_FLIGHT_ALL_PARTITIONS,
        seconds,
        THROUGHPUT_WARMUP_S,
      )) *
      ((PARTITIONS * batch.length) / allPartitionsBytes);
    const latencyBatch = latencyRecordBatch();
    await ackServer.stop();
    // Like the broker runs below, each shape starts on an empty directory after the page cache is written back.
    const rawTcpIntoFile = async (frameBytes: number, inFlight: number): Promise<number> => {
      settleDirtyPages();
      const appendDir = mkdtempSync(join(dir, 'raw-tcp-append-'));
      const appendServer = await startAckServer({ appendToDir: appendDir });
      try {
        return await rawTcpBytesPerSecond(
          appendServer.port,
          frameBytes,
          CONNECTIONS,
          inFlight,
          seconds,
          THROUGHPUT_WARMUP_S,
        );
      } finally {
        await appendServer.stop();
        rmSync(appendDir, { recursive: true, force: true });
      }
    };
    const rawTcpAppend = await rawTcpIntoFile(batch.length, IN_FLIGHT);
    const rawTcpAppendAllPartitions =
      (await rawTcpIntoFile(allPartitionsBytes, IN_FLIGHT_ALL_PARTITIONS)) *
      ((PARTITIONS * batch.length) / allPartitionsBytes);
    const threadWake = await threadWakeLatencyAtRate(LATENCY_RATE_PER_S, seconds, LATENCY_SERIES_WARMUP_S);
    settleDirtyPages();
    const rawSync = await rawWriteSyncBytesPerSecond(dir, batch.length, CONNECTIONS * IN_FLIGHT, seconds);
    settleDirtyPages();
    // The same 32 batches spread over the partition files, each file synced on its own (a broker's shape).
    const rawSyncPerPartition = await rawWriteSyncFilesBytesPerSecond(
      dir,
      batch.length,
      PARTITIONS,
      (CONNECTIONS * IN_FLIGHT) / PARTITIONS,
      seconds,
    );
    settleDirtyPages();
    const rawAppend = await rawAppendBytesPerSecond(dir, batch.length, seconds);

    // Each measurement gets a broker of its own on an empty data directory, started after the page cache
    // has been written back, so that none inherits the writeback or the files of the one before.
    let run = 0;
    const onFreshBroker = async <T>(
      fsync: 'never' | 'always',
      measure: (kafkaPort: number, broker: BrokerProcess) => Promise<T>,
      extraArgs: readonly string[] = [],
    ) => {
      settleDirtyPages();
      const dataDir = join(dir, `run-${run++}`);
      const broker = await startBrokerProcess(['--data', dataDir, '--fsync', fsync, ...extraArgs]);
      try {
        await createTopic(broker.httpPort, 'ingest', PARTITIONS);
        return await measure(broker.kafkaPort, broker);
      } finally {
        await broker.stop();
        // Its files go at once, as the raw baselines' do: on this VM, writing into disk blocks never written
        // before is several times slower than into freed ones, so a run after gigabytes of kept files paid
        // for the runs before it (8 batches/request, measured after 1 batch/request, showed 0.26-0.44).
        rmSync(dataDir, { recursive: true, force: true });
      }
    };
    const rounds = numberFlag(args, 'rounds', LATENCY_ROUNDS);
    const roundSeconds = numberFlag(args, 'round-seconds', LATENCY_ROUND_S);
    const latency = await onFreshBroker('never', async (_port, broker) => {
      await createTopic(broker.httpPort, 'e2e', 1);
      return latencyRounds(broker, {
        topic: 'ingest',
        partitions: PARTITIONS,
        endToEndTopic: 'e2e',
        batch: latencyBatch,
        ratePerSecond: LATENCY_RATE_PER_S,
        coldSeconds: LATENCY_WARMUP_S,
        warmupSeconds: LATENCY_SERIES_WARMUP_S,
        rounds,
        roundSeconds,
      });
    });
    // The start-up warm-up (--warm-up, off by default), A/B: the first seconds of two more fresh brokers, with
    // and without it, back to back after the run above (so the generator is as warm for both).
    const coldWarmUpAb: { warmUp: boolean; startMs: number; cold: OpenLoopLatency }[] = [];
    for (const warmUp of [true, false]) {
      // Written back here, so that the time to a served topic below holds no writeback.
      settleDirtyPages();
      const spawnedMs = performance.now();
      coldWarmUpAb.push(
        await onFreshBroker(
          'never',
          async (port) => ({
            warmUp,
            startMs: Math.round(performance.now() - spawnedMs),
            cold: await coldLatency(port, 'ingest', latencyBatch),
          }),
          ['--warm-up', String(warmUp)],
        ),
      );
    }
    // The raw TCP baseline and its server's CPU per request, pooled over the rounds.
    const rawLatency = latency.raw;
    const echoUsPerRequest = latency.echoUsPerRequest;
    // The floor of the acceptor -> shard design here: a TCP echo through our rings and a second thread.
    const threadHop = await threadHopEchoCpu(
      produceRequestBytes('ingest', 1, latencyBatch.length),
      LATENCY_RATE_PER_S,
      rounds * roundSeconds,
      LATENCY_SERIES_WARMUP_S,
    );
    const idleShare = await onFreshBroker('never', (_port, broker) =>
      idleCpuShare(broker, IDLE_SETTLE_S, IDLE_WINDOW_S),
    );
    const nonDurableSplit = await onFreshBroker('never', (_port, broker) =>
      throughputWithSplit(broker, batch, seconds, 'one-partition', 1),
    );
    const nonDurableAllSplit = await onFreshBroker('never', (_port, broker) =>
      throughputWithSplit(broker, batch, seconds, 'all-partitions', 1),
    );
    const nonDurable = nonDurableSplit.bytesPerS;
    const nonDurableAll = nonDurableAllSplit.bytesPerS;
    const durableSplit = await onFreshBroker('always', (_port, broker) =>
      throughputWithSplit(broker, batch, seconds, 'one-partition', -1),
    );
    const durableAllSplit = await onFreshBroker('always', (_port, broker) =>
      throughputWithSplit(broker, batch, seconds, 'all-partitions', -1),
    );
    const durable = durableSplit.bytesPerS;
    const durableAll = durableAllSplit.bytesPerS;

    console.log(
      `batches of ${batch.length} B (16 x 1 KiB records), ${CONNECTIONS} connections, ${PARTITIONS} partitions; ` +
        `1 batch/request x ${IN_FLIGHT} in flight, or ${PARTITIONS} batches/request x ${IN_FLIGHT_ALL_PARTITIONS} in flight ` +
        '(MB/s of batch bytes; the raw TCP baseline sends frames of the same size)',
    );
    // Every figure beside its baseline, for bench/out/kafka.json; targets are issue 18's, on the ratio.
    const results: SuiteRow[] = [];
    const row = (name: string, baseline: number, measured: number, target: string) => {
      results.push(suiteRow(name, 'MB/s', baseline / 1e6, measured / 1e6, target));
      return [
        name,
        mb(baseline),
        mb(measured),
        ((measured / batch.length) * 16).toFixed(0),
        (measured / baseline).toFixed(2),
        target,
      ];
    };
    printTable([
      ['measure', 'baseline MB/s', 'pyralog MB/s', 'records/s', 'ratio', 'target'],
      row('acks=1, fsync never, 1 batch/request vs raw loopback TCP', rawTcp, nonDurable, ''),
      row(
        'acks=1, fsync never, 8 batches/request vs raw loopback TCP',
        rawTcpAllPartitions,
        nonDurableAll,
        '',
      ),
      row(
        'raw loopback TCP into a file, 1 batch/request vs raw loopback TCP',
        rawTcp,
        rawTcpAppend,
        '(ceiling)',
      ),
      row(
        'raw loopback TCP into a file, 8 batches/request vs raw loopback TCP',
        rawTcpAllPartitions,
        rawTcpAppendAllPartitions,
        '(ceiling)',
      ),
      row('acks=1, fsync never, 1 batch/request vs raw TCP into a file', rawTcpAppend, nonDurable, '>= 0.9'),
      row(
        'acks=1, fsync never, 8 batches/request vs raw TCP into a file',
        rawTcpAppendAllPartitions,
        nonDurableAll,
        '>= 0.9',
      ),
      row('acks=1, fsync never, 1 batch/request vs raw page-cache append', rawAppend, nonDurable, ''),
      row('acks=1, fsync never, 8 batches/request vs raw page-cache append', rawAppend, nonDurableAll, ''),
      row(
        'acks=-1, fsync always, 1 batch/request vs raw write + fdatasync per 32',
        rawSync,
        durable,
        '>= 0.6',
      ),
      row(
        'acks=-1, fsync always, 8 batches/request vs raw write + fdatasync per 32',
        rawSync,
        durableAll,
        '>= 0.85',
      ),
      row(
        `raw write + fdatasync per ${(CONNECTIONS * IN_FLIGHT) / PARTITIONS}, ${PARTITIONS} files at once, vs raw write + fdatasync per 32`,
        rawSync,
        rawSyncPerPartition,
        '(ceiling)',
      ),
      row(
        `acks=-1, fsync always, 1 batch/request vs ${PARTITIONS} files at once`,
        rawSyncPerPartition,
        durable,
        '',
      ),
      row(
        `acks=-1, fsync always, 8 batches/request vs ${PARTITIONS} files at once`,
        rawSyncPerPartition,
        durableAll,
        '',
      ),
    ]);
    // Where an acks=-1 request's time goes, beside the baseline's cycle (32 writes, then one fdatasync).
    const rawSyncCycleMs = ((CONNECTIONS * IN_FLIGHT * batch.length) / rawSync) * 1000;
    const cpuOf = (figures: ThroughputSplit) =>
      `CPU per batch: acceptor ${figures.acceptorUsPerBatch.toFixed(1)} µs, shards ${figures.shardUsPerBatch.toFixed(1)} µs`;
    const restOf = (figures: ThroughputSplit) =>
      `the rest (acceptor, reply ring, sockets, generator, in-order answers) ${(
        figures.roundTripMs - figures.ringWaitMs - figures.appendMs - figures.fsyncWaitMs
      ).toFixed(2)} ms`;
    const split = (name: string, figures: ThroughputSplit) =>
      `${name}: mean round trip ${figures.roundTripMs.toFixed(2)} ms, of which a batch waited for its covering ` +
      `fdatasync ${figures.fsyncWaitMs.toFixed(2)} ms (${((figures.fsyncWaitMs / figures.roundTripMs) * 100).toFixed(0)}%), ` +
      `in the request ring ${figures.ringWaitMs.toFixed(2)} ms, for its append ${figures.appendMs.toFixed(2)} ms; ` +
      `${restOf(figures)}; one sync took ${figures.syncMs.toFixed(2)} ms, ` +
      `${figures.syncsPerBatch.toFixed(3)} syncs per batch; ${cpuOf(figures)}`;
    const nonDurableSplitLine = (name: string, figures: ThroughputSplit) =>
      `${name}: mean round trip ${figures.roundTripMs.toFixed(2)} ms, of which in the request ring ` +
      `${figures.ringWaitMs.toFixed(2)} ms, for its append ${figures.appendMs.toFixed(2)} ms; ${restOf(figures)}; ` +
      cpuOf(figures);
    console.log("\nacks=1, fsync never: where a request's time went (means over the run, warm-up included)");
    console.log(nonDurableSplitLine('  1 batch/request', nonDurableSplit));
    console.log(nonDurableSplitLine('  8 batches/request', nonDurableAllSplit));
    console.log(
      `\nacks=-1, fsync always: the baseline's cycle of ${CONNECTIONS * IN_FLIGHT} writes + one fdatasync took ${rawSyncCycleMs.toFixed(2)} ms`,
    );
    console.log(split('  1 batch/request', durableSplit));
    console.log(split('  8 batches/request', durableAllSplit));
    console.log(
      `\nround trip at ${LATENCY_RATE_PER_S} req/s (one 1 KiB record, open loop; steady state: ${rounds} rounds of ` +
        `${roundSeconds} s after the first ${LATENCY_WARMUP_S} s, pooled; ` +
        'baseline: raw loopback TCP of frames of the same size through the same generator, in the same rounds)',
    );
    const latencyRow = (name: string, figures: OpenLoopLatency, target: string) => [
      name,
      String(figures.p50),
      String(figures.p99),
      String(figures.p999),
      String(figures.max),
      target,
    ];
    printTable([
      ['measure', 'p50 µs', 'p99 µs', 'p99.9 µs', 'max µs', 'target'],
      latencyRow('two threads waking each other (Atomics), no I/O', threadWake, ''),
      latencyRow('raw loopback TCP', rawLatency, ''),
      latencyRow(
        `pyralog, acks=1, fsync never, first ${LATENCY_WARMUP_S} s of a fresh broker`,
        latency.cold,
        'p99 <= 3 x steady p99',
      ),
      latencyRow(
        'pyralog, acks=1, fsync never, steady state',
        latency.steady,
        'p99 <= 2 x, p99.9 <= 3 x raw',
      ),
      latencyRow(
        'pyralog end to end: produce -> long-polling consumer, one partition',
        latency.endToEnd,
        'p99 <= 3 x raw',
      ),
    ]);
    printTable([
      [
        'first seconds of a fresh broker, started with',
        'spawn to topic created, ms',
        'p50 µs',
        'p99 µs',
        'p99.9 µs',
        'max µs',
      ],
      ...coldWarmUpAb.map((run) => [
        `--warm-up ${run.warmUp}`,
        String(run.startMs),
        String(run.cold.p50),
        String(run.cold.p99),
        String(run.cold.p999),
        String(run.cold.max),
      ]),
    ]);
    printLatencyRounds(latency.rounds);
    const perRound = (baseline: (round: LatencyRound) => number, value: (round: LatencyRound) => number) =>
      latency.rounds.map((round) => ({ baseline: baseline(round), value: value(round) }));
    const steadyP99 = roundsRow(
      'steady p99 vs raw loopback TCP p99',
      'µs',
      perRound(
        (round) => round.raw.p99,
        (round) => round.steady.p99,
      ),
      '<= 2',
    );
    const endToEndP99 = roundsRow(
      'end-to-end p99 (produce -> consume) vs raw loopback TCP p99',
      'µs',
      perRound(
        (round) => round.raw.p99,
        (round) => round.endToEnd.p99,
      ),
      '<= 3',
    );
    console.log(
      `p99 ratios to raw loopback TCP, median of ${rounds} rounds: steady ${steadyP99.ratio.toFixed(2)}, ` +
        `end to end ${endToEndP99.ratio.toFixed(2)}`,
    );
    results.push(
      steadyP99,
      roundsRow(
        'steady p99.9 vs raw loopback TCP p99.9',
        'µs',
        perRound(
          (round) => round.raw.p999,
          (round) => round.steady.p999,
        ),
        '<= 3',
      ),
      endToEndP99,
      roundsRow(
        'end-to-end p99.9 vs raw loopback TCP p99.9',
        'µs',
        perRound(
          (round) => round.raw.p999,
          (round) => round.endToEnd.p999,
        ),
      ),
      suiteRow(
        `first ${LATENCY_WARMUP_S} s p99 of a fresh broker vs its steady p99`,
        'µs',
        latency.steady.p99,
        latency.cold.p99,
        '<= 3',
      ),
      // Not a target: whether the warm-up earns its place as a default (same run, brokers back to back).
      suiteRow(
        `first ${LATENCY_WARMUP_S} s p99 of a fresh broker with --warm-up true vs without`,
        'µs',
        coldWarmUpAb.find((run) => !run.warmUp)!.cold.p99,
        coldWarmUpAb.find((run) => run.warmUp)!.cold.p99,
        '',
      ),
    );

    // CPU per request at the latency rate: what each request costs each thread, whatever the machine's load.
    const cores = availableParallelism();
    const brokerBusyThreads = 1 + latency.cpu.shardUs.length;
    const generatorOwnCore = cores >= brokerBusyThreads + 1;
    console.log(
      `\nCPU per request at ${LATENCY_RATE_PER_S} req/s, steady state (µs of CPU time per request, from /proc; ` +
        'baseline: the raw loopback TCP server thread, a Node TCP echo, over the same load)',
    );
    const cpuRow = (
      name: string,
      us: number,
      target: string,
      /** This thread's µs per request in each latency round, when measured there: the row is then per round. */
      usOfRound?: (round: LatencyRound) => number,
    ) => {
      const row =
        usOfRound === undefined
          ? suiteRow(
              `CPU per request: ${name} vs a raw Node TCP echo`,
              'µs CPU/request',
              echoUsPerRequest,
              us,
              target,
            )
          : roundsRow(
              `CPU per request: ${name} vs a raw Node TCP echo`,
              'µs CPU/request',
              perRound((round) => round.echoUs, usOfRound),
              target,
            );
      results.push(row);
      return [name, us.toFixed(1), row.ratio.toFixed(2), target];
    };
    printTable([
      ['thread', 'µs CPU/request', 'ratio to echo (median of rounds)', 'target'],
      ['raw Node TCP echo (baseline)', echoUsPerRequest.toFixed(1), '1.00', ''],
      cpuRow('thread-hop echo: TCP thread (the floor for the acceptor)', threadHop.tcpUs, ''),
      cpuRow('thread-hop echo: ring thread (the floor for a shard)', threadHop.ringUs, ''),
      cpuRow('pyralog acceptor', latency.cpu.acceptorUs, '<= 2', (round) => round.cpu.acceptorUs),
      ...latency.cpu.shardUs.map((us, shard) =>
        cpuRow(`pyralog shard ${shard}`, us, '<= 1.5', (round) => round.cpu.shardUs[shard]!),
      ),
      cpuRow('pyralog, all threads', latency.cpu.totalUs, '', (round) => round.cpu.totalUs),
      ['load generator (this thread)', latency.generatorUs.toFixed(1), '', ''],
    ]);
    console.log(
      generatorOwnCore
        ? `the generator had a core of its own (${cores} cores for ${brokerBusyThreads} busy broker threads and it)`
        : `the generator did NOT have a core of its own: ${cores} cores for ${brokerBusyThreads} busy broker threads and the generator`,
    );
    console.log(
      `\nidle: a fresh broker with one topic of ${PARTITIONS} partitions and no clients used ` +
        `${(idleShare * 100).toFixed(2)}% of a core over ${IDLE_WINDOW_S} s (all threads, after ${IDLE_SETTLE_S} s at rest; target <= 0.5%)`,
    );
    results.push(
      suiteRow(
        `idle broker, no clients: CPU as a share of one core over ${IDLE_WINDOW_S} s`,
        'share of a core',
        1,
        idleShare,
        '<= 0.005',
      ),
    );
    const file = writeSuiteResults('kafka', results, {
      cores,
      generatorOwnCore,
      seconds,
      latencyRatePerS: LATENCY_RATE_PER_S,
      latencyRounds: rounds,
      latencyRoundSeconds: roundSeconds,
      // End to end and its baseline pooled over the rounds (the rows' ratios are the medians of the rounds').
      endToEndP50Us: latency.endToEnd.p50,
      endToEndP99Us: latency.endToEnd.p99,
      endToEndP999Us: latency.endToEnd.p999,
      endToEndMaxUs: latency.endToEnd.max,
      rawTcpP99Us: rawLatency.p99,
    });
    console.log(`rows written to ${file}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Every latency round's figures, so that a run's spread is visible beside the medians the targets use. */
/** The first LATENCY_WARMUP_S of a fresh broker at the latency rate, on a new connection. */
async function coldLatency(kafkaPort: number, topic: string, batch: Uint8Array): Promise<OpenLoopLatency> {
  const producer = await LeanKafkaProducer.connect(kafkaPort);
  try {
    return await openLoop(
      (i) => producer.produce(topic, i % PARTITIONS, batch, 1),
      LATENCY_RATE_PER_S,
      LATENCY_WARMUP_S,
    );
  } finally {
    producer.close();
  }
}

function printLatencyRounds(rounds: readonly LatencyRound[]): void {
  const ratio = (value: number, baseline: number) => (value / baseline).toFixed(2);
  printTable([
    [
      'round',
      'raw p99 µs',
      'steady p99 µs',
      'ratio',
      'raw p99.9 µs',
      'steady p99.9 µs',
      'ratio',
      'e2e p99 µs',
      'e2e / raw p99',
      'e2e after ack p50/p99 µs',
      'echo µs CPU',
      'acceptor µs CPU',
      'shards µs CPU',
      'e2e acceptor / shards µs CPU per record',
    ],
    ...rounds.map((round, index) => [
      String(index + 1),
      String(round.raw.p99),
      String(round.steady.p99),
      ratio(round.steady.p99, round.raw.p99),
      String(round.raw.p999),
      String(round.steady.p999),
      ratio(round.steady.p999, round.raw.p999),
      String(round.endToEnd.p99),
      ratio(round.endToEnd.p99, round.raw.p99),
      `${round.endToEndAfterAck.p50}/${round.endToEndAfterAck.p99}`,
      round.echoUs.toFixed(1),
      round.cpu.acceptorUs.toFixed(1),
      round.cpu.shardUs.map((us) => us.toFixed(1)).join(' / '),
      `${round.endToEndCpu.acceptorUs.toFixed(1)} / ${round.endToEndCpu.shardUs.map((us) => us.toFixed(1)).join(' / ')}`,
    ]),
  ]);
}
