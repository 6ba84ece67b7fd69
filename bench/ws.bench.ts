import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { openLoop } from '../src/cli/bench/open-loop.js';
import { type ProduceFormat, PyralogClient } from '../src/client/index.js';
import { currentThreadId, threadCpuNs } from '../src/common/thread-cpu.js';
import { FrameWriter, WsOpCode } from '../src/protocol/ws/binary-frame.js';
import { brokerCpuProbe } from '../tools/broker-cpu.js';
import { startBrokerProcess } from '../tools/broker-process.js';
import { numberFlag } from './support/flags.js';
import { printTable } from './support/mitata-ratios.js';
import { roundsRow, suiteRow, writeSuiteResults } from './support/suite-results.js';
import { wsAgainstKafkaRounds } from './support/ws-end-to-end.js';

/**
 * `npm run bench -- ws`: WebSocket ingest through the TypeScript client
 * (1 KiB records, client batching with linger) into the broker (its own
 * process, fsync never, acks=1), against a raw uWebSockets.js echo of the same
 * frames measured in the same run; then produce latency at a fixed offered
 * rate (open loop, from each record's scheduled time); then end to end at
 * E2E_RATE_PER_S records/s, one 1 KiB record per request, from each record's
 * scheduled send time to its subscriber (WebSocket) or long-polling consumer
 * (Kafka, the baseline), in alternating rounds on one partition of the same
 * broker (target: WebSocket p99 no worse than Kafka's, on the median of the
 * rounds' ratios; support/ws-end-to-end.ts).
 *
 * Flags: --seconds=N (default 4), --rate=N records/s for the latency run (default 2000),
 * --rounds=N (default 4) and --round-seconds=N (default 2) for the end-to-end rounds.
 */
const RECORD_BYTES = 1024;
const RECORDS_PER_FRAME = 64;
const FRAMES_IN_FLIGHT = 16;
/** Issue 18's end-to-end rate. */
const E2E_RATE_PER_S = 5000;
/** Unrecorded seconds of each end-to-end series before its first round (the broker is fresh). */
const E2E_WARMUP_S = 3;

/** A PRODUCE frame of RECORDS_PER_FRAME records, as the client builds it. */
function produceFrame(): Uint8Array {
  const value = new Uint8Array(RECORD_BYTES).fill(7);
  const frame = new FrameWriter(WsOpCode.PRODUCE, 1, RECORDS_PER_FRAME * (RECORD_BYTES + 32))
    .str('ingest')
    .i32(0)
    .i8(1)
    .u8(0)
    .u32(RECORDS_PER_FRAME);
  for (let i = 0; i < RECORDS_PER_FRAME; i++) frame.nullableBytes(null).nullableBytes(value).f64(-1).u16(0);
  return frame.finish();
}

/** Records per second through the echo, and its server's CPU per record (µs, its main thread, from /proc). */
async function echoBaseline(seconds: number): Promise<{ recordsPerSecond: number; cpuUsPerRecord: number }> {
  const script = fileURLToPath(new URL('../tools/uws-echo-server.mjs', import.meta.url));
  const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'ignore'] });
  const port = await new Promise<number>((resolve) =>
    child.stdout!.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim()))),
  );
  const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`);
  await new Promise((resolve) => socket.once('open', resolve));
  const frame = produceFrame();
  let echoed = 0;
  const cpuBeforeNs = threadCpuNs(child.pid!, child.pid!) ?? Number.NaN;
  const endMs = performance.now() + seconds * 1000;
  const startMs = performance.now();
  await new Promise<void>((resolve) => {
    let outstanding = 0;
    const fill = (): void => {
      while (outstanding < FRAMES_IN_FLIGHT && performance.now() < endMs) {
        socket.send(frame);
        outstanding++;
      }
      if (outstanding === 0) resolve();
    };
    socket.on('message', () => {
      outstanding--;
      echoed++;
      fill();
    });
    fill();
  });
  const recordsPerSecond = (echoed * RECORDS_PER_FRAME) / ((performance.now() - startMs) / 1000);
  const cpuNs = (threadCpuNs(child.pid!, child.pid!) ?? Number.NaN) - cpuBeforeNs;
  socket.close();
  child.kill('SIGTERM');
  return { recordsPerSecond, cpuUsPerRecord: cpuNs / 1000 / (echoed * RECORDS_PER_FRAME) };
}

interface IngestRound {
  records: number;
  recordsPerSecond: number;
}

async function clientIngest(
  url: string,
  seconds: number,
  produceFormat: ProduceFormat,
): Promise<IngestRound> {
  const client = await PyralogClient.connect({
    url,
    lingerMs: 2,
    batchMaxRecords: RECORDS_PER_FRAME,
    acks: 1,
    produceFormat,
  });
  const value = new Uint8Array(RECORD_BYTES).fill(7);
  let acknowledged = 0;
  const endMs = performance.now() + seconds * 1000;
  const startMs = performance.now();
  await Promise.all(
    Array.from({ length: FRAMES_IN_FLIGHT }, async () => {
      while (performance.now() < endMs) {
        await Promise.all(
          Array.from({ length: RECORDS_PER_FRAME }, () => client.produce('ingest', { value, partition: 0 })),
        );
        acknowledged += RECORDS_PER_FRAME;
      }
    }),
  );
  const recordsPerSecond = acknowledged / ((performance.now() - startMs) / 1000);
  await client.close();
  return { records: acknowledged, recordsPerSecond };
}

async function clientLatency(url: string, rate: number, seconds: number) {
  const client = await PyralogClient.connect({ url, lingerMs: 0, acks: 1 });
  const value = new Uint8Array(RECORD_BYTES).fill(9);
  try {
    return await openLoop(() => client.produce('latency', { value, partition: 0 }), rate, seconds);
  } finally {
    await client.close();
  }
}

export async function run(args: readonly string[]): Promise<void> {
  const seconds = numberFlag(args, 'seconds', 4);
  const rate = numberFlag(args, 'rate', 2000);
  const root = join(process.cwd(), 'bench', 'out');
  mkdirSync(root, { recursive: true });
  const dir = mkdtempSync(join(root, 'ws-'));
  try {
    const { recordsPerSecond: echo, cpuUsPerRecord: echoCpuUs } = await echoBaseline(seconds);
    const broker = await startBrokerProcess(['--data', dir, '--fsync', 'never', '--shards', '2']);
    try {
      for (const name of ['ingest', 'latency', 'e2e']) {
        await fetch(`http://127.0.0.1:${broker.httpPort}/topics`, {
          method: 'POST',
          body: JSON.stringify({ name, partitions: 1 }),
        });
      }
      const url = `ws://127.0.0.1:${broker.httpPort}/ws`;
      // The same records, each frame also as a RecordBatch v2 the client built (PRODUCE kind 1): the two
      // formats alternate in two halves each, so neither gets all of the warm-up or a quiet spell alone.
      // The broker's CPU per record on each format (from /proc, around each round) says what the
      // format saves the broker, which the load on a shared machine changes far less than throughput.
      // The client's thread too: kind 1 moves the batch building from the broker to the client.
      const probe = await brokerCpuProbe(broker.child.pid!, broker.httpPort);
      const clientThread = currentThreadId();
      const rounds: Record<ProduceFormat, number[]> = { records: [], batch: [] };
      const cpuNs: Record<
        ProduceFormat,
        { acceptor: number; shards: number; client: number; records: number }
      > = {
        records: { acceptor: 0, shards: 0, client: 0, records: 0 },
        batch: { acceptor: 0, shards: 0, client: 0, records: 0 },
      };
      for (const format of ['records', 'batch', 'batch', 'records'] as const) {
        const before = probe.read();
        const clientBeforeNs = threadCpuNs('self', clientThread) ?? Number.NaN;
        const round = await clientIngest(url, seconds / 2, format);
        cpuNs[format].client += (threadCpuNs('self', clientThread) ?? Number.NaN) - clientBeforeNs;
        const after = probe.read();
        rounds[format].push(round.recordsPerSecond);
        cpuNs[format].acceptor += after.acceptorNs - before.acceptorNs;
        cpuNs[format].shards += after.shardNs.reduce((sum, ns, i) => sum + ns - before.shardNs[i]!, 0);
        cpuNs[format].records += round.records;
      }
      const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
      const ingest = mean(rounds.records);
      const ingestBatch = mean(rounds.batch);
      const cpuUsPerRecord = (format: ProduceFormat) => ({
        acceptorUs: cpuNs[format].acceptor / 1000 / cpuNs[format].records,
        shardsUs: cpuNs[format].shards / 1000 / cpuNs[format].records,
        clientUs: cpuNs[format].client / 1000 / cpuNs[format].records,
      });
      const cpuRecords = cpuUsPerRecord('records');
      const cpuBatch = cpuUsPerRecord('batch');
      const latency = await clientLatency(url, rate, seconds);
      const mb = (recordsPerSecond: number) => ((recordsPerSecond * RECORD_BYTES) / 1e6).toFixed(1);
      printTable([
        ['measure', 'records/s', 'MB/s', 'ratio'],
        [
          `raw uWS echo of ${RECORDS_PER_FRAME}-record PRODUCE frames, ${FRAMES_IN_FLIGHT} in flight`,
          echo.toFixed(0),
          mb(echo),
          '1.00',
        ],
        [
          `client produce, batches of ${RECORDS_PER_FRAME} (linger 2 ms), acks=1, fsync never`,
          ingest.toFixed(0),
          mb(ingest),
          (ingest / echo).toFixed(2),
        ],
        [
          `client produce, same, each frame a client-built RecordBatch v2 (produceFormat 'batch')`,
          ingestBatch.toFixed(0),
          mb(ingestBatch),
          (ingestBatch / echo).toFixed(2),
        ],
      ]);
      console.log(
        `\nbroker CPU per record during ingest (µs, from /proc): 'records' acceptor ${cpuRecords.acceptorUs.toFixed(2)}, ` +
          `shards ${cpuRecords.shardsUs.toFixed(2)}; 'batch' acceptor ${cpuBatch.acceptorUs.toFixed(2)}, ` +
          `shards ${cpuBatch.shardsUs.toFixed(2)}; the raw uWS echo server ${echoCpuUs.toFixed(2)}; ` +
          `the client's thread 'records' ${cpuRecords.clientUs.toFixed(2)}, 'batch' ${cpuBatch.clientUs.toFixed(2)}`,
      );
      console.log(
        `\nproduce latency at ${rate} records/s (1 KiB, linger 0, acks=1, open loop): p50 ${latency.p50} µs, ` +
          `p99 ${latency.p99} µs, p99.9 ${latency.p999} µs, max ${latency.max} µs`,
      );
      // End to end, WebSocket against Kafka on the same partition, alternating.
      const e2eRounds = numberFlag(args, 'rounds', 4);
      const e2eRoundSeconds = numberFlag(args, 'round-seconds', 2);
      const e2e = await wsAgainstKafkaRounds(
        broker,
        'e2e',
        new Uint8Array(RECORD_BYTES).fill(3),
        E2E_RATE_PER_S,
        {
          warmupSeconds: E2E_WARMUP_S,
          rounds: e2eRounds,
          roundSeconds: e2eRoundSeconds,
        },
      );
      console.log(
        `\nend to end at ${E2E_RATE_PER_S} records/s (1 KiB, one record per request, acks=1, open loop from each ` +
          `record's scheduled send time to its reader; ${e2eRounds} alternating rounds of ${e2eRoundSeconds} s, pooled)`,
      );
      const e2eRow = (name: string, l: typeof e2e.ws) => [
        name,
        String(l.p50),
        String(l.p99),
        String(l.p999),
        String(l.max),
      ];
      printTable([
        ['measure', 'p50 µs', 'p99 µs', 'p99.9 µs', 'max µs', 'reader after ack p50/p99 µs'],
        [...e2eRow('Kafka: lean producer -> long-polling consumer (baseline)', e2e.kafka), ''],
        [...e2eRow('WebSocket: client producer (batch of 1) -> client subscription', e2e.ws), ''],
        ...e2e.rounds.map((round, index) => [
          `  round ${index + 1} (Kafka / WebSocket)`,
          '',
          `${round.kafka.p99} / ${round.ws.p99}`,
          `${round.kafka.p999} / ${round.ws.p999}`,
          `${round.kafka.max} / ${round.ws.max}`,
          `${round.kafkaAfterAck.p50}/${round.kafkaAfterAck.p99} / ${round.wsAfterAck.p50}/${round.wsAfterAck.p99}`,
        ]),
      ]);
      const e2eP99 = roundsRow(
        'WebSocket end-to-end p99 vs Kafka end-to-end p99',
        'µs',
        e2e.rounds.map((round) => ({ baseline: round.kafka.p99, value: round.ws.p99 })),
        '<= 1',
      );
      console.log(
        `WebSocket / Kafka end-to-end p99, median of ${e2eRounds} rounds: ${e2eP99.ratio.toFixed(2)} (target <= 1)`,
      );
      const file = writeSuiteResults(
        'ws',
        [
          e2eP99,
          roundsRow(
            'WebSocket end-to-end p99.9 vs Kafka end-to-end p99.9',
            'µs',
            e2e.rounds.map((round) => ({ baseline: round.kafka.p999, value: round.ws.p999 })),
          ),
          suiteRow('client produce ingest vs a raw uWS echo', 'records/s', echo, ingest, '>= 0.7'),
          suiteRow(
            "client produce ingest, produceFormat 'batch', vs a raw uWS echo",
            'records/s',
            echo,
            ingestBatch,
            '>= 0.7',
          ),
        ],
        // The latency has no baseline in this suite (issue 18 compares it with the Kafka e2e p99): a note.
        {
          seconds,
          latencyRatePerS: rate,
          latencyP99Us: latency.p99,
          latencyP999Us: latency.p999,
          acceptorCpuUsPerRecordRecordsFormat: cpuRecords.acceptorUs,
          acceptorCpuUsPerRecordBatchFormat: cpuBatch.acceptorUs,
          shardsCpuUsPerRecordRecordsFormat: cpuRecords.shardsUs,
          shardsCpuUsPerRecordBatchFormat: cpuBatch.shardsUs,
          echoServerCpuUsPerRecord: echoCpuUs,
          clientCpuUsPerRecordRecordsFormat: cpuRecords.clientUs,
          clientCpuUsPerRecordBatchFormat: cpuBatch.clientUs,
        },
      );
      console.log(`rows written to ${file}`);
    } finally {
      await broker.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
