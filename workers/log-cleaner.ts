/**
 * Entry point of a shard's log cleaner thread (src/engine/log-cleaner-thread.ts):
 * cleans closed segments of compacted partitions into `.cleaned` files, which
 * the shard swaps in. It never opens a file the shard writes.
 */
import { parentPort } from 'node:worker_threads';
import { errorMessage } from '../src/common/errors.js';
import type { CleanerMessage } from '../src/engine/log-cleaner-thread.js';
import { installFaultsFromEnv } from '../src/storage/faulty-storage-io.js';
import { cleanSegments } from '../src/storage/log-cleaner.js';

const port = parentPort;
if (port === null) throw new Error('workers/log-cleaner.ts must run as a worker thread');

// The storage faults a test chose for the shards apply to the cleaner's files too.
installFaultsFromEnv();

port.on('message', (message: CleanerMessage) => {
  if (message.kind !== 'clean') return;
  cleanSegments(message.job).then(
    (outcome) => port.postMessage({ kind: 'cleaned', id: message.id, outcome } satisfies CleanerMessage),
    (error: unknown) =>
      port.postMessage({
        kind: 'failed',
        id: message.id,
        message: errorMessage(error),
      } satisfies CleanerMessage),
  );
});
