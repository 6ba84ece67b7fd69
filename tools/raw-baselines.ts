import { closeSync, fdatasync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Histogram } from 'hdr-histogram-js';
import {
  createLatencyHistogram,
  type OpenLoopLatency,
  openLoop,
  summarizeAndDestroy,
} from '../src/cli/bench/open-loop.js';

/**
 * Baselines measured in the same run as a benchmark, on the same machine:
 * raw loopback TCP request/response and raw sequential disk writes.
 */

/**
 * A TCP server on another thread that reads size-prefixed frames and answers
 * each with an 8-byte ack, the least a request/response protocol can do. It
 * counts frames as bytes arrive and keeps no copy of them.
 *
 * With `appendToDir`, it is also the least a non-durable log can do: each
 * connection appends every byte it receives to a file of its own in that
 * directory, one `writev` at a time on libuv's pool (a second thread, as the
 * broker's shard is), and acks a frame only once the write covering its last
 * byte has returned. No checksum, no parsing beyond the frame sizes, no copy
 * but the kernel's.
 *
 * Returns its port, its thread's Linux id (for its CPU time from /proc;
 * -1 where unknown) and a stop function.
 */
export async function startAckServer(
  options: { appendToDir?: string } = {},
): Promise<{ port: number; threadId: number; stop(): Promise<void> }> {
  const source = `
    const { createServer } = require('node:net');
    const { closeSync, openSync, writev } = require('node:fs');
    const { join } = require('node:path');
    const { parentPort, workerData } = require('node:worker_threads');
    const appendToDir = workerData.appendToDir;
    let connections = 0;
    const server = createServer((socket) => {
      socket.setNoDelay(true);
      // Frame counting: the 4 size bytes, then the bytes still owed to the frame.
      let sizeBytesSeen = 0;
      let frameSize = 0;
      let remaining = 0;
      let received = 0;
      const frameEnds = []; // with appendToDir: where each frame not yet acked ends, in bytes received
      const fd = appendToDir === undefined ? -1 : openSync(join(appendToDir, 'c' + connections++ + '.bin'), 'w');
      let queued = [];
      let writing = false;
      let written = 0;
      let closed = false;
      const ack = (count) => { if (count > 0) socket.write(Buffer.alloc(8 * count)); };
      const writeQueued = () => {
        if (writing || queued.length === 0) return;
        writing = true;
        const chunks = queued;
        queued = [];
        writev(fd, chunks, written, (error, bytes) => {
          writing = false;
          if (closed) return closeSync(fd);
          if (error) return socket.destroy();
          written += bytes;
          let frames = 0;
          while (frameEnds.length > 0 && frameEnds[0] <= written) { frameEnds.shift(); frames++; }
          ack(frames);
          writeQueued();
        });
      };
      socket.on('data', (chunk) => {
        let frames = 0;
        for (let i = 0; i < chunk.length; ) {
          if (sizeBytesSeen < 4) {
            frameSize = frameSize * 256 + chunk[i++];
            if (++sizeBytesSeen === 4) remaining = frameSize;
          } else {
            const taken = Math.min(remaining, chunk.length - i);
            i += taken;
            remaining -= taken;
          }
          if (sizeBytesSeen === 4 && remaining === 0) {
            frames++;
            if (fd >= 0) frameEnds.push(received + i);
            sizeBytesSeen = 0;
            frameSize = 0;
          }
        }
        received += chunk.length;
        if (fd < 0) return ack(frames);
        queued.push(chunk);
        writeQueued();
      });
      socket.on('error', () => {});
      socket.on('close', () => {
        closed = true;
        if (fd >= 0 && !writing) closeSync(fd);
      });
    });
    const threadId = (() => {
      try {
        const link = require('node:fs').readlinkSync('/proc/thread-self');
        return Number(link.slice(link.lastIndexOf('/') + 1));
      } catch {
        return -1;
      }
    })();
    server.listen(0, '127.0.0.1', () => parentPort.postMessage({ port: server.address().port, threadId }));
    parentPort.on('message', () => server.close(() => process.exit(0)));
  `;
  const worker = new Worker(source, { eval: true, workerData: { appendToDir: options.appendToDir } });
  const { port, threadId } = await new Promise<{ port: number; threadId: number }>((resolve) =>
    worker.once('message', resolve),
  );
  return {
    port,
    threadId,
    stop: async () => {
      worker.postMessage('stop');
      await worker.terminate();
    },
  };
}

/**
 * Round trips between this thread and a worker that wake each other
 * (Atomics.notify, Atomics.wait), one every 1/`ratePerSecond` s, measured
 * from each scheduled time: the wake-up latency of this machine's threads,
 * which every thread hop of a request pays (a Kafka produce to the broker
 * crosses four: client, acceptor, shard, acceptor, client). Blocks this
 * thread while it runs.
 */
export async function threadWakeLatencyAtRate(
  ratePerSecond: number,
  seconds: number,
  warmupSeconds: number,
): Promise<OpenLoopLatency> {
  const words = new Int32Array(new SharedArrayBuffer(12));
  const [REQUEST, ANSWER, IDLE] = [0, 1, 2];
  const echo = new Worker(
    `const { workerData: words } = require('node:worker_threads');
     for (let seen = 0; ; ) {
       Atomics.wait(words, ${REQUEST}, seen);
       seen = Atomics.load(words, ${REQUEST});
       if (seen < 0) break;
       Atomics.store(words, ${ANSWER}, seen);
       Atomics.notify(words, ${ANSWER});
     }`,
    { eval: true, workerData: words },
  );
  await new Promise((resolve) => echo.once('online', resolve));
  const histogram = createLatencyHistogram();
  const intervalMs = 1000 / ratePerSecond;
  const warmupRounds = Math.round(ratePerSecond * warmupSeconds);
  const startMs = performance.now() + 10;
  for (let round = 1; round <= warmupRounds + ratePerSecond * seconds; round++) {
    const scheduledMs = startMs + round * intervalMs;
    // Sleep until just before the scheduled time, then spin the rest, so the send is on time.
    const sleepMs = scheduledMs - performance.now() - 0.1;
    if (sleepMs > 0) Atomics.wait(words, IDLE, 0, sleepMs);
    while (performance.now() < scheduledMs);
    Atomics.store(words, REQUEST, round);
    Atomics.notify(words, REQUEST);
    while (Atomics.load(words, ANSWER) !== round) Atomics.wait(words, ANSWER, round - 1, 100);
    if (round > warmupRounds)
      histogram.recordValue(Math.max(1, Math.round((performance.now() - scheduledMs) * 1000)));
  }
  Atomics.store(words, REQUEST, -1);
  Atomics.notify(words, REQUEST);
  await echo.terminate();
  return summarizeAndDestroy(histogram);
}

/** A size-prefixed frame of `frameBytes` for the ack server. */
function ackServerFrame(frameBytes: number): Buffer {
  const frame = Buffer.alloc(4 + frameBytes, 7);
  frame.writeInt32BE(frameBytes, 0);
  return frame;
}

/**
 * Bytes per second of `connections` × `inFlight` pipelined frames of
 * `frameBytes` through the ack server for `seconds`, after `warmupSeconds` of
 * the same load that are not counted.
 */
export async function rawTcpBytesPerSecond(
  port: number,
  frameBytes: number,
  connections: number,
  inFlight: number,
  seconds: number,
  warmupSeconds = 0,
): Promise<number> {
  const frame = ackServerFrame(frameBytes);
  let acked = 0;
  const startMs = performance.now() + warmupSeconds * 1000;
  const endMs = startMs + seconds * 1000;
  await Promise.all(
    Array.from(
      { length: connections },
      () =>
        new Promise<void>((resolve) => {
          const socket = connect(port, '127.0.0.1');
          socket.setNoDelay(true);
          let outstanding = 0;
          let pendingAckBytes = 0;
          const fill = (): void => {
            while (outstanding < inFlight && performance.now() < endMs) {
              socket.write(frame);
              outstanding++;
            }
            if (outstanding === 0) {
              socket.destroy();
              resolve();
            }
          };
          socket.on('data', (chunk: Buffer) => {
            pendingAckBytes += chunk.length;
            const acks = Math.floor(pendingAckBytes / 8);
            pendingAckBytes -= acks * 8;
            outstanding -= acks;
            if (performance.now() >= startMs) acked += acks;
            fill();
          });
          socket.once('connect', fill);
        }),
    ),
  );
  return (acked * frameBytes) / ((performance.now() - startMs) / 1000);
}

/**
 * Round-trip latency of frames of `frameBytes` through the ack server, one
 * connection, sent open loop at `ratePerSecond` by the same generator the
 * broker's latency is measured with: what the machine, the loopback and the
 * generator cost before any broker work (the floor for a latency target).
 */
export async function rawTcpLatencyAtRate(
  port: number,
  frameBytes: number,
  ratePerSecond: number,
  seconds: number,
  warmupSeconds: number,
  /** Called once, when the first request after the warm-up is sent (to start counting CPU). */
  onWarm?: () => void,
  /** Also records every latency here: several runs pooled into one histogram. */
  pooled?: Histogram,
): Promise<OpenLoopLatency> {
  const frame = ackServerFrame(frameBytes);
  const socket = connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  // The server acks in order with 8 bytes per frame.
  const waiting: (() => void)[] = [];
  let ackBytes = 0;
  socket.on('data', (chunk: Buffer) => {
    ackBytes += chunk.length;
    for (; ackBytes >= 8; ackBytes -= 8) waiting.shift()?.();
  });
  try {
    return await openLoop(
      () =>
        new Promise<void>((resolve) => {
          waiting.push(resolve);
          socket.write(frame);
        }),
      ratePerSecond,
      seconds,
      warmupSeconds,
      onWarm,
      pooled,
    );
  } finally {
    socket.destroy();
  }
}

/** Bytes per second of writing `batchBytes` `groupSize` times, then one fdatasync, repeated for `seconds`. */
export function rawWriteSyncBytesPerSecond(
  dir: string,
  batchBytes: number,
  groupSize: number,
  seconds: number,
): Promise<number> {
  return appendBytesPerSecond(dir, batchBytes, groupSize, seconds, true);
}

/**
 * Bytes per second of `files` files at once, each writing `batchBytes`
 * `groupSize` times and then fdatasyncing it, over and over for `seconds`
 * (the syncs run concurrently on the libuv pool). The shape of a broker's
 * fsync-always work when its batches in flight are spread over `files`
 * partitions: what the disk allows when every partition file must be synced
 * on its own, against one file synced once per `files * groupSize` writes.
 */
export async function rawWriteSyncFilesBytesPerSecond(
  dir: string,
  batchBytes: number,
  files: number,
  groupSize: number,
  seconds: number,
): Promise<number> {
  const perFile = await Promise.all(
    Array.from({ length: files }, () => appendBytesPerSecond(dir, batchBytes, groupSize, seconds, true)),
  );
  return perFile.reduce((sum, bytesPerSecond) => sum + bytesPerSecond, 0);
}

/**
 * Bytes per second of appending writes of `batchBytes` to a new file for
 * `seconds`, never syncing: how fast this machine takes new data into its
 * page cache, which a broker pays for every byte it accepts even with
 * --fsync never (loopback TCP never touches new memory).
 */
export function rawAppendBytesPerSecond(dir: string, batchBytes: number, seconds: number): Promise<number> {
  return appendBytesPerSecond(dir, batchBytes, 32, seconds, false);
}

async function appendBytesPerSecond(
  dir: string,
  batchBytes: number,
  groupSize: number,
  seconds: number,
  syncEachGroup: boolean,
): Promise<number> {
  const work = mkdtempSync(join(dir, 'raw-'));
  const fd = openSync(join(work, 'raw.bin'), 'w');
  const batch = new Uint8Array(batchBytes).fill(3);
  let position = 0;
  const endMs = performance.now() + seconds * 1000;
  const startMs = performance.now();
  try {
    while (performance.now() < endMs) {
      for (let i = 0; i < groupSize; i++) {
        writeSync(fd, batch, 0, batch.length, position);
        position += batch.length;
      }
      if (syncEachGroup) {
        await new Promise<void>((resolve, reject) =>
          fdatasync(fd, (error) => (error ? reject(error) : resolve())),
        );
      }
    }
    return position / ((performance.now() - startMs) / 1000);
  } finally {
    closeSync(fd);
    rmSync(work, { recursive: true, force: true });
  }
}
