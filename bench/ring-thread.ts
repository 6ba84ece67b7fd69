import { parentPort, workerData } from 'node:worker_threads';
import { RingReader, type RingRecord, RingWriter } from '../src/ring/index.js';

/**
 * The far side of the ring benchmark, in its own thread (started through
 * workers/tsx-boot.mjs). Roles:
 *   consume  read `records` records of any size, touching the first byte
 *   echo     read each record from `ring` and write it back on `replyRing`
 *   postecho answer every postMessage with the same message (the baseline)
 */
interface RingThreadData {
  role: 'consume' | 'echo' | 'postecho';
  ring?: SharedArrayBuffer;
  replyRing?: SharedArrayBuffer;
  records?: number;
}

const data = workerData as RingThreadData;
// Starting a thread from TypeScript sources takes a while: say when this one is ready, so clocks start then.
parentPort!.postMessage({ ready: true });
const record: RingRecord = { type: 0, flags: 0, correlationId: 0, payloadPosition: 0, payloadBytes: 0 };

if (data.role === 'consume') {
  const reader = new RingReader(data.ring!);
  let sum = 0;
  let unreleasedBytes = 0;
  for (let seen = 0; seen < data.records!; ) {
    if (!reader.tryRead(record)) {
      reader.release();
      unreleasedBytes = 0;
      reader.waitSync(1000);
      continue;
    }
    sum += reader.bytes[record.payloadPosition] ?? 0;
    seen++;
    unreleasedBytes += record.payloadBytes;
    // Free space every 64 records or 64 KiB, so a producer of large records never waits on us.
    if ((seen & 63) === 0 || unreleasedBytes >= 65_536) {
      reader.release();
      unreleasedBytes = 0;
    }
  }
  reader.release();
  parentPort!.postMessage({ sum });
} else if (data.role === 'echo') {
  const reader = new RingReader(data.ring!);
  const writer = new RingWriter(data.replyRing!);
  for (let seen = 0; seen < data.records!; ) {
    if (!reader.tryRead(record)) {
      reader.waitSync(1000);
      continue;
    }
    const position = writer.tryClaim(record.payloadBytes, record.type, 0, record.correlationId);
    writer.bytes.set(
      reader.bytes.subarray(record.payloadPosition, record.payloadPosition + record.payloadBytes),
      position,
    );
    reader.release();
    writer.publish();
    seen++;
  }
  parentPort!.postMessage({ done: true });
} else {
  parentPort!.on('message', (message: unknown) => {
    if (message === 'stop') parentPort!.close();
    else parentPort!.postMessage(message);
  });
}
