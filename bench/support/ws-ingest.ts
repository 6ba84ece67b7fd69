import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { type ProduceFormat, PyralogClient } from '../../src/client/index.js';
import { currentThreadId, threadCpuNs } from '../../src/common/thread-cpu.js';
import { FrameWriter, WsOpCode } from '../../src/protocol/ws/binary-frame.js';
import { ProduceBatchFrameBuilder } from '../../src/protocol/ws/produce-batch-frame.js';
import type { BrokerCpuProbe } from '../../tools/broker-cpu.js';

/**
 * The ingest part of `npm run bench -- ws`: WebSocket produce into the broker
 * against a raw uWebSockets.js echo server, made fair:
 *
 * - the same frames: one PRODUCE frame of RECORDS_PER_FRAME 1 KiB records is
 *   built once per format and sent as it is, to the echo and to the broker,
 *   by the same driver (the `ws` library, compression off on both sockets);
 * - the same depth: FRAMES_IN_FLIGHT frames unanswered at any time on one
 *   connection, a new one sent as each answer comes back;
 * - warm-up: each target is driven for WARM_UP_MS before anything counts;
 * - alternation: the targets take turns in every round (echo, broker with each
 *   format, the TypeScript client with each format), so a neighbour's burst on
 *   this shared machine falls on one segment, not on one side; each figure is
 *   the median over rounds of its ratio to the echo of the same round.
 *
 * The client rows send the same records through PyralogClient (it builds
 * each frame), at the same depth: what a user of the client gets. The broker
 * answers a PRODUCE with a small PRODUCED frame; the echo sends the whole
 * frame back, as the baseline does.
 */
export const RECORD_BYTES = 1024;
export const RECORDS_PER_FRAME = 64;
export const FRAMES_IN_FLIGHT = 16;
const WARM_UP_MS = 500;

export type IngestTarget = 'echo' | 'frames records' | 'frames batch' | 'client records' | 'client batch';
export const INGEST_TARGETS: readonly IngestTarget[] = [
  'echo',
  'frames batch',
  'frames records',
  'client batch',
  'client records',
];

/** A kind-0 PRODUCE frame (records, the broker builds the batch) for partition 0, as the client builds it. */
function recordsFrame(topic: string): Uint8Array {
  const value = new Uint8Array(RECORD_BYTES).fill(7);
  const frame = new FrameWriter(WsOpCode.PRODUCE, 1, RECORDS_PER_FRAME * (RECORD_BYTES + 32))
    .str(topic)
    .i32(0)
    .i8(1)
    .u8(0)
    .u32(RECORDS_PER_FRAME);
  for (let i = 0; i < RECORDS_PER_FRAME; i++) frame.nullableBytes(null).nullableBytes(value).f64(-1).u16(0);
  return frame.finish().slice();
}

/** A kind-1 PRODUCE frame (a ready RecordBatch v2) of the same records, as the client builds it. */
function batchFrame(topic: string): Uint8Array {
  const value = new Uint8Array(RECORD_BYTES).fill(7);
  const builder = new ProduceBatchFrameBuilder(topic, 0, 1, RECORDS_PER_FRAME * (RECORD_BYTES + 16));
  for (let i = 0; i < RECORDS_PER_FRAME; i++) builder.add(null, value, -1, null);
  return builder.finish().slice();
}

export interface EchoServer {
  url: string;
  pid: number;
  stop(): void;
}

export async function startEchoServer(): Promise<EchoServer> {
  const script = fileURLToPath(new URL('../../tools/uws-echo-server.mjs', import.meta.url));
  const child: ChildProcess = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'ignore'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
    child.once('exit', (code) => reject(new Error(`the echo server exited (${code})`)));
  });
  return { url: `ws://127.0.0.1:${port}/ws`, pid: child.pid!, stop: () => child.kill('SIGTERM') };
}

/** One driver connection: sends `frame` with FRAMES_IN_FLIGHT unanswered, counts answers. */
class FrameDriver {
  private constructor(
    private readonly socket: WebSocket,
    private readonly echoes: boolean,
  ) {}

  static async open(url: string, echoes: boolean): Promise<FrameDriver> {
    const socket = new WebSocket(url, { perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return new FrameDriver(socket, echoes);
  }

  /**
   * Frames answered: sends for `durationMs`, then waits for the ones in flight (counted too, as the
   * client rows count their last frames; the caller's clock runs until the last answer).
   */
  drive(frame: Uint8Array, durationMs: number): Promise<number> {
    const socket = this.socket;
    const endMs = performance.now() + durationMs;
    // The echo answers with the frame itself, the broker with PRODUCED; anything else (an ERROR) ends the run.
    const expectedOp = this.echoes ? WsOpCode.PRODUCE : WsOpCode.PRODUCED;
    return new Promise<number>((resolve, reject) => {
      let outstanding = 0;
      let answered = 0;
      const onMessage = (data: Buffer): void => {
        if (data[1] !== expectedOp) {
          socket.off('message', onMessage);
          reject(new Error(`answer of op 0x${(data[1] ?? 0).toString(16)}: ${data.subarray(8).toString()}`));
          return;
        }
        outstanding--;
        answered++;
        if (performance.now() < endMs) {
          socket.send(frame);
          outstanding++;
        } else if (outstanding === 0) {
          socket.off('message', onMessage);
          socket.off('close', onClose);
          resolve(answered);
        }
      };
      const onClose = (): void => reject(new Error('the connection closed during the run'));
      socket.on('message', onMessage);
      socket.once('close', onClose);
      for (; outstanding < FRAMES_IN_FLIGHT; outstanding++) socket.send(frame);
    });
  }

  close(): void {
    this.socket.close();
  }
}

/** Records acknowledged through the TypeScript client in `durationMs`, FRAMES_IN_FLIGHT frames deep. */
async function driveClient(client: PyralogClient, topic: string, durationMs: number): Promise<number> {
  const value = new Uint8Array(RECORD_BYTES).fill(7);
  const endMs = performance.now() + durationMs;
  let acknowledged = 0;
  await Promise.all(
    Array.from({ length: FRAMES_IN_FLIGHT }, async () => {
      while (performance.now() < endMs) {
        await Promise.all(
          Array.from({ length: RECORDS_PER_FRAME }, () => client.produce(topic, { value, partition: 0 })),
        );
        acknowledged += RECORDS_PER_FRAME;
      }
    }),
  );
  return acknowledged;
}

export interface IngestSegment {
  recordsPerSecond: number;
  /** CPU µs per record: the server's main thread (the broker's acceptor), the broker's shards, the driver's thread. */
  serverUs: number;
  shardsUs: number;
  driverUs: number;
}

export interface IngestResult {
  /** Per target, one segment per round. */
  rounds: Record<IngestTarget, IngestSegment[]>;
  /** Per target (echo excluded), the median over rounds of records/s over the echo's of the same round. */
  medianRatio: Record<IngestTarget, number>;
  /** Per target, the median segment figures. */
  median: Record<IngestTarget, IngestSegment>;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export async function measureIngest(options: {
  brokerUrl: string;
  probe: BrokerCpuProbe;
  topic: string;
  rounds: number;
  segmentMs: number;
}): Promise<IngestResult> {
  const { brokerUrl, probe, topic, rounds: roundCount, segmentMs } = options;
  const echo = await startEchoServer();
  const frames: Record<ProduceFormat, Uint8Array> = {
    records: recordsFrame(topic),
    batch: batchFrame(topic),
  };
  const echoDriver = await FrameDriver.open(echo.url, true);
  const brokerDriver = await FrameDriver.open(brokerUrl, false);
  const clients: Record<ProduceFormat, PyralogClient> = {
    records: await PyralogClient.connect({
      url: brokerUrl,
      lingerMs: 2,
      batchMaxRecords: RECORDS_PER_FRAME,
      acks: 1,
      produceFormat: 'records',
    }),
    batch: await PyralogClient.connect({
      url: brokerUrl,
      lingerMs: 2,
      batchMaxRecords: RECORDS_PER_FRAME,
      acks: 1,
      produceFormat: 'batch',
    }),
  };
  const driverThread = currentThreadId();
  /** Records through `target` in `durationMs`. */
  const run = async (target: IngestTarget, durationMs: number): Promise<number> => {
    switch (target) {
      case 'echo':
        return RECORDS_PER_FRAME * (await echoDriver.drive(frames.batch, durationMs));
      case 'frames batch':
        return RECORDS_PER_FRAME * (await brokerDriver.drive(frames.batch, durationMs));
      case 'frames records':
        return RECORDS_PER_FRAME * (await brokerDriver.drive(frames.records, durationMs));
      case 'client batch':
        return driveClient(clients.batch, topic, durationMs);
      case 'client records':
        return driveClient(clients.records, topic, durationMs);
    }
  };
  const rounds = Object.fromEntries(INGEST_TARGETS.map((t) => [t, [] as IngestSegment[]])) as Record<
    IngestTarget,
    IngestSegment[]
  >;
  try {
    for (const target of INGEST_TARGETS) await run(target, WARM_UP_MS);
    for (let round = 0; round < roundCount; round++) {
      // Rotate the order too, so no target always follows the same one.
      for (let k = 0; k < INGEST_TARGETS.length; k++) {
        const target = INGEST_TARGETS[(k + round) % INGEST_TARGETS.length]!;
        const isEcho = target === 'echo';
        const before = probe.read();
        const echoBeforeNs = threadCpuNs(echo.pid, echo.pid) ?? Number.NaN;
        const driverBeforeNs = threadCpuNs('self', driverThread) ?? Number.NaN;
        const startMs = performance.now();
        const records = await run(target, segmentMs);
        const elapsedS = (performance.now() - startMs) / 1000;
        const driverNs = (threadCpuNs('self', driverThread) ?? Number.NaN) - driverBeforeNs;
        const after = probe.read();
        const serverNs = isEcho
          ? (threadCpuNs(echo.pid, echo.pid) ?? Number.NaN) - echoBeforeNs
          : after.acceptorNs - before.acceptorNs;
        const shardsNs = isEcho ? 0 : after.shardNs.reduce((sum, ns, i) => sum + ns - before.shardNs[i]!, 0);
        rounds[target].push({
          recordsPerSecond: records / elapsedS,
          serverUs: serverNs / 1000 / records,
          shardsUs: shardsNs / 1000 / records,
          driverUs: driverNs / 1000 / records,
        });
      }
    }
  } finally {
    echoDriver.close();
    brokerDriver.close();
    await clients.records.close();
    await clients.batch.close();
    echo.stop();
  }
  const medianRatio = {} as Record<IngestTarget, number>;
  const medianSegment = {} as Record<IngestTarget, IngestSegment>;
  for (const target of INGEST_TARGETS) {
    const segments = rounds[target];
    medianRatio[target] = median(
      segments.map((s, i) => s.recordsPerSecond / rounds.echo[i]!.recordsPerSecond),
    );
    medianSegment[target] = {
      recordsPerSecond: median(segments.map((s) => s.recordsPerSecond)),
      serverUs: median(segments.map((s) => s.serverUs)),
      shardsUs: median(segments.map((s) => s.shardsUs)),
      driverUs: median(segments.map((s) => s.driverUs)),
    };
  }
  return { rounds, medianRatio, median: medianSegment };
}
