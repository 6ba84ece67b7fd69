import { readlinkSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parentPort, Worker, workerData } from 'node:worker_threads';
import { threadCpuNs } from '../../src/common/thread-cpu.js';
import {
  createRingBuffer,
  nativeDoorbell,
  RingReader,
  type RingRecord,
  RingWriter,
} from '../../src/ring/index.js';
import { rawTcpLatencyAtRate } from '../../tools/raw-baselines.js';

/**
 * The thread-hop echo: the least the acceptor → shard design can cost on this
 * machine. A Node TCP server on one thread reads size-prefixed frames, as the
 * raw TCP echo (tools/raw-baselines.ts startAckServer) does, but copies each
 * frame into a request ring of ours; a second thread, asleep on that ring's
 * doorbell as a shard is (`waitSync` without spinning), reads it and hands back
 * an 8-byte ack through a reply ring; the TCP thread, asleep on the reply
 * ring's doorbell as the acceptor's reply pump is (the native doorbell where
 * the addon loads, as the broker does, else `waitAsync`), writes the ack to
 * the socket. No parsing, no log, no promise per request: what is left
 * is two thread wake-ups, two ring copies and the socket's read and write.
 *
 * This one file is both the module the bench imports (startThreadHopEcho) and
 * the entry of its two threads (started through workers/tsx-boot.mjs, chosen
 * by `workerData.threadHopRole`).
 */
interface ThreadHopData {
  pyralogEntry: string;
  threadHopRole: 'tcp' | 'ring';
  requestRing: SharedArrayBuffer;
  replyRing: SharedArrayBuffer;
  doorbell: ThreadHopDoorbell;
  /** The TCP thread's native doorbell id, for the ring thread. */
  replyDoorbell: number;
}

/** How the TCP thread sleeps on the reply ring: the doorbell addon, or Atomics.waitAsync. */
export type ThreadHopDoorbell = 'native' | 'atomics';

const RING_BYTES = 1 << 20;
/** Record type that stops the ring thread. */
const STOP_TYPE = 0xffff;
const FRAME_TYPE = 1;
const ACK_BYTES = 8;
const SIZE_BYTES = 4;

export interface ThreadHopEcho {
  port: number;
  /** Linux thread ids of its TCP thread and its ring thread (for their CPU time from /proc; -1 where unknown). */
  tcpThreadId: number;
  ringThreadId: number;
  stop(): Promise<void>;
}

function linuxThreadId(): number {
  try {
    const link = readlinkSync('/proc/thread-self');
    return Number(link.slice(link.lastIndexOf('/') + 1));
  } catch {
    return -1;
  }
}

export async function startThreadHopEcho(
  doorbell: ThreadHopDoorbell = nativeDoorbell === undefined ? 'atomics' : 'native',
): Promise<ThreadHopEcho> {
  const boot = fileURLToPath(new URL('../../workers/tsx-boot.mjs', import.meta.url));
  const shared = {
    pyralogEntry: import.meta.url,
    requestRing: createRingBuffer(RING_BYTES),
    replyRing: createRingBuffer(RING_BYTES),
    doorbell,
  };
  const tcpThread = new Worker(boot, { workerData: { ...shared, threadHopRole: 'tcp', replyDoorbell: -1 } });
  const tcp = await firstMessage(tcpThread);
  const ringThread = new Worker(boot, {
    workerData: { ...shared, threadHopRole: 'ring', replyDoorbell: tcp.replyDoorbell },
  });
  const ring = await firstMessage(ringThread);
  return {
    port: tcp.port,
    tcpThreadId: tcp.threadId,
    ringThreadId: ring.threadId,
    stop: async () => {
      await tcpThread.terminate();
      // The TCP thread, the request ring's producer, is gone: this thread takes its place to stop the other.
      const requests = new RingWriter(shared.requestRing);
      requests.tryClaim(0, STOP_TYPE, 0, 0);
      requests.publish();
      await new Promise((resolve) => ringThread.once('exit', resolve));
    },
  };
}

/**
 * CPU µs per request on each of the thread-hop echo's two threads over an
 * open-loop load of `frameBytes` frames at `ratePerSecond` (the raw TCP
 * echo's latency load), counted over `seconds` after `warmupSeconds`.
 */
export async function threadHopEchoCpu(
  frameBytes: number,
  ratePerSecond: number,
  seconds: number,
  warmupSeconds: number,
): Promise<{ tcpUs: number; ringUs: number }> {
  const echo = await startThreadHopEcho();
  try {
    let tcpStartNs = Number.NaN;
    let ringStartNs = Number.NaN;
    const latency = await rawTcpLatencyAtRate(
      echo.port,
      frameBytes,
      ratePerSecond,
      seconds,
      warmupSeconds,
      () => {
        tcpStartNs = threadCpuNs('self', echo.tcpThreadId) ?? Number.NaN;
        ringStartNs = threadCpuNs('self', echo.ringThreadId) ?? Number.NaN;
      },
    );
    const usPerRequest = (threadId: number, startNs: number) =>
      ((threadCpuNs('self', threadId) ?? Number.NaN) - startNs) / 1000 / latency.count;
    return {
      tcpUs: usPerRequest(echo.tcpThreadId, tcpStartNs),
      ringUs: usPerRequest(echo.ringThreadId, ringStartNs),
    };
  } finally {
    await echo.stop();
  }
}

function firstMessage(worker: Worker): Promise<{ port: number; threadId: number; replyDoorbell: number }> {
  return new Promise((resolve, reject) => {
    worker.once('error', reject);
    worker.once('message', resolve);
  });
}

/** The ring thread: each frame read from the request ring is answered with an ack on the reply ring. */
function serveRing(data: ThreadHopData): void {
  const reader = new RingReader(data.requestRing);
  const writer = new RingWriter(data.replyRing);
  if (data.replyDoorbell >= 0) writer.useDoorbell(nativeDoorbell!, data.replyDoorbell);
  const record: RingRecord = { type: 0, flags: 0, correlationId: 0, payloadPosition: 0, payloadBytes: 0 };
  parentPort!.postMessage({ port: 0, threadId: linuxThreadId(), replyDoorbell: -1 });
  for (;;) {
    let handled = 0;
    while (reader.tryRead(record)) {
      if (record.type === STOP_TYPE) {
        parentPort!.close();
        return;
      }
      // The reply ring is drained continuously and holds 100,000 acks: it is never full here.
      const p = writer.tryClaim(ACK_BYTES, FRAME_TYPE, 0, record.correlationId);
      writer.view.setUint32(p, record.payloadBytes);
      writer.view.setUint32(p + 4, 0);
      handled++;
    }
    if (handled > 0) {
      reader.release();
      writer.publish();
    } else {
      reader.waitSync(1000, 0);
    }
  }
}

/** The TCP thread: frames into the request ring, acks from the reply ring to their sockets. */
function serveTcp(data: ThreadHopData): void {
  const requests = new RingWriter(data.requestRing);
  const replies = new RingReader(data.replyRing);
  const sockets = new Map<number, Socket>();
  let nextConnection = 1;
  let publishScheduled = false;
  const publishNow = (): void => {
    publishScheduled = false;
    requests.publish();
  };
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    const connection = nextConnection++;
    sockets.set(connection, socket);
    // Framing state: the size bytes seen, then where the frame's bytes go in the request ring.
    let sizeBytesSeen = 0;
    let frameSize = 0;
    let remaining = 0;
    let position = -1;
    socket.on('data', (chunk: Buffer) => {
      for (let i = 0; i < chunk.length; ) {
        if (sizeBytesSeen < SIZE_BYTES) {
          frameSize = frameSize * 256 + chunk[i++]!;
          if (++sizeBytesSeen === SIZE_BYTES) {
            remaining = frameSize;
            position = requests.tryClaim(frameSize, FRAME_TYPE, 0, connection);
            if (position < 0) {
              socket.destroy(new Error('thread-hop echo: request ring full'));
              return;
            }
          }
        } else {
          const taken = Math.min(remaining, chunk.length - i);
          requests.bytes.set(chunk.subarray(i, i + taken), position);
          position += taken;
          i += taken;
          remaining -= taken;
        }
        if (sizeBytesSeen === SIZE_BYTES && remaining === 0) {
          sizeBytesSeen = 0;
          frameSize = 0;
          if (!publishScheduled) {
            publishScheduled = true;
            queueMicrotask(publishNow);
          }
        }
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(connection));
  });
  const record: RingRecord = { type: 0, flags: 0, correlationId: 0, payloadPosition: 0, payloadBytes: 0 };
  const writeAcks = (): void => {
    while (replies.tryRead(record)) {
      const socket = sockets.get(record.correlationId);
      const p = record.payloadPosition;
      socket?.write(Buffer.from(replies.bytes.subarray(p, p + record.payloadBytes)));
    }
    replies.release();
  };
  let replyDoorbell = -1;
  if (data.doorbell === 'native') {
    // As the broker's reply pump on the doorbell (ShardHost.pumpOnDoorbell).
    const onRing = (): void => {
      writeAcks();
      if (!replies.armDoorbell()) setImmediate(onRing);
    };
    replyDoorbell = nativeDoorbell!.open(onRing);
    replies.armDoorbell();
  } else {
    // As the broker's reply pump on Atomics.waitAsync (ShardHost.pumpReplies).
    const pump = async (): Promise<void> => {
      let turnOwed = false;
      for (;;) {
        writeAcks();
        if (turnOwed) {
          turnOwed = false;
          await new Promise((resolve) => setImmediate(resolve));
        } else {
          turnOwed = !(await replies.waitAsync(Number.POSITIVE_INFINITY));
        }
      }
    };
    pump().catch((error: unknown) => {
      throw error;
    });
  }
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    parentPort!.postMessage({
      port: typeof address === 'object' ? address?.port : 0,
      threadId: linuxThreadId(),
      replyDoorbell,
    });
  });
}

const data = workerData as ThreadHopData | null;
if (data?.threadHopRole === 'ring') serveRing(data);
else if (data?.threadHopRole === 'tcp') serveTcp(data);
