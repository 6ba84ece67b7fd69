import { workerData } from 'node:worker_threads';
import { RingWriter } from '../../src/ring/index.js';

/** A worker that publishes one record into the ring it is given after `delayMs` (started through workers/tsx-boot.mjs). */
const { ring, delayMs } = workerData as { ring: SharedArrayBuffer; delayMs: number };
setTimeout(() => {
  const writer = new RingWriter(ring);
  writer.tryClaim(8, 1, 0, 42);
  writer.publish();
}, delayMs);
