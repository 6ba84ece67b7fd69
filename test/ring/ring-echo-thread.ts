import { parentPort, workerData } from 'node:worker_threads';
import { nativeDoorbell, RingReader, type RingRecord, RingWriter } from '../../src/ring/index.js';
import { doorbellWait, STOP_TYPE } from './doorbell-wait.js';

/**
 * A worker that answers every record of its request ring with a record of the
 * same correlation id in its reply ring, sleeping on the doorbell (no spin)
 * between records, until a STOP_TYPE record or `deadlineMs` (started through
 * workers/tsx-boot.mjs). Reports how many of its waits lost their wake-up.
 * With `replyDoorbell` (not -1), its publishes ring that native doorbell.
 */
const { requests, replies, replyDoorbell, timeoutMs, deadlineMs } = workerData as {
  requests: SharedArrayBuffer;
  replies: SharedArrayBuffer;
  replyDoorbell: number;
  timeoutMs: number;
  deadlineMs: number;
};
const reader = new RingReader(requests);
const writer = new RingWriter(replies);
if (replyDoorbell >= 0) writer.useDoorbell(nativeDoorbell!, replyDoorbell);
const record: RingRecord = { type: 0, flags: 0, correlationId: 0, payloadPosition: 0, payloadBytes: 0 };
let lostWakeUps = 0;
let echoed = 0;
const endMs = performance.now() + deadlineMs;
serve: while (performance.now() < endMs) {
  while (reader.tryRead(record)) {
    if (record.type === STOP_TYPE) break serve;
    while (writer.tryClaim(0, record.type, 0, record.correlationId) < 0)
      writer.waitForSpaceSync(0, timeoutMs);
    echoed++;
  }
  reader.release();
  writer.publish();
  if (doorbellWait(() => reader.waitSync(timeoutMs, 0), timeoutMs) && reader.hasData()) lostWakeUps++;
}
reader.release();
parentPort!.postMessage({ lostWakeUps, echoed });
