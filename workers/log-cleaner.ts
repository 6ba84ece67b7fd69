/**
 * Entry point of a shard's log cleaner thread (src/engine/log-cleaner-thread.ts):
 * cleans closed segments of compacted partitions into `.cleaned` files and
 * prepares their swap; after the shard has renamed them in, finalizes it
 * (directory syncs, index files). It never writes a file the shard writes.
 * It runs at the lowest CPU priority (Linux: this thread only).
 */
import { parentPort } from 'node:worker_threads';
import { errorMessage } from '../src/common/errors.js';
import { currentThreadId, threadCpuNs } from '../src/common/thread-cpu.js';
import { lowerThisThreadPriority } from '../src/common/thread-priority.js';
import { type CleanerMessage, LOG_CLEANER_NICE } from '../src/engine/log-cleaner-thread.js';
import { finalizeClean } from '../src/storage/clean-finalize.js';
import { cleanAndPrepare, indexBuffers } from '../src/storage/clean-prepare.js';
import { installFaultsFromEnv } from '../src/storage/faulty-storage-io.js';

const port = parentPort;
if (port === null) throw new Error('workers/log-cleaner.ts must run as a worker thread');

// The storage faults a test chose for the shards apply to the cleaner's files too.
installFaultsFromEnv();

const lowered = lowerThisThreadPriority(LOG_CLEANER_NICE);
const threadId = lowered > 0 ? lowered : currentThreadId();
port.postMessage({ kind: 'started', threadId, lowered: lowered > 0 } satisfies CleanerMessage);

/** CPU nanoseconds of this thread so far; -1 where /proc does not say. */
function cpuNs(): number {
  return threadId > 0 ? (threadCpuNs('self', threadId) ?? -1) : -1;
}

const fail = (id: number, error: unknown) =>
  port.postMessage({ kind: 'failed', id, message: errorMessage(error) } satisfies CleanerMessage);

port.on('message', (message: CleanerMessage) => {
  if (message.kind === 'clean') {
    const startNs = cpuNs();
    cleanAndPrepare(message.job).then(
      (outcome) => {
        const endNs = cpuNs();
        const spentNs = startNs < 0 || endNs < 0 ? -1 : endNs - startNs;
        port.postMessage(
          { kind: 'cleaned', id: message.id, outcome, cpuNs: spentNs } satisfies CleanerMessage,
          indexBuffers(outcome),
        );
      },
      (error: unknown) => fail(message.id, error),
    );
  } else if (message.kind === 'finalize') {
    try {
      const outcome = finalizeClean(message.request);
      port.postMessage({ kind: 'finalized', id: message.id, outcome } satisfies CleanerMessage);
    } catch (error) {
      fail(message.id, error);
    }
  }
});
