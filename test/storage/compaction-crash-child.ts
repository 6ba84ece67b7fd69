/**
 * Child process for the compaction crash test, run with `node --import tsx`.
 * It appends keyed batches to a compacted log (the record at offset o has key
 * `k<o % 7>` and value `v<o>`, in a codec chosen by o) and cleans it over and
 * over, in this process, in the steps the broker takes on two threads: the
 * cleaner's `.cleaned` writes and preparation, the shard's commit, then (on a
 * later turn of the event loop, reads in between) the finalize; the parent
 * may SIGKILL it at any of them. It writes `cleaned <n>` after each swap, so
 * the parent knows cleaning is under way.
 */
import { DEFAULT_TOPIC_CONFIG } from '../../src/common/broker-config.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { CompressionCodec } from '../../src/record/batch-header.js';
import { buildCompressedBatch } from '../../src/record/compression.js';
import { finalizeClean } from '../../src/storage/clean-finalize.js';
import { cleanAndPrepare } from '../../src/storage/clean-prepare.js';
import { PartitionLog } from '../../src/storage/partition-log.js';

const [dir] = process.argv.slice(2) as [string];
export const KEY_COUNT = 7;
const encoder = new TextEncoder();

const log = PartitionLog.open({
  dir,
  config: {
    ...DEFAULT_TOPIC_CONFIG,
    cleanupPolicy: 'compact',
    segmentBytes: 2048,
    minCleanableDirtyRatio: 0,
    minCompactionLagMs: 0,
  },
  fsync: 'never',
});

let swaps = 0;
for (;;) {
  for (let i = 0; i < 20; i++) {
    const first = log.logEndOffset;
    const count = 1 + (first % 4);
    const records = Array.from({ length: count }, (_, r) => ({
      key: encoder.encode(`k${(first + r) % KEY_COUNT}`),
      value: encoder.encode(`v${first + r}`),
    }));
    const codec = [CompressionCodec.NONE, CompressionCodec.GZIP, CompressionCodec.ZSTD][first % 3]!;
    log.append(
      codec === CompressionCodec.NONE ? buildRecordBatch(records) : buildCompressedBatch(records, codec),
      Date.now(),
    );
  }
  await log.flush();
  // The roll syncs run on libuv's pool: let them finish so the closed segments become cleanable.
  await new Promise((resolve) => setTimeout(resolve, 1));
  const job = log.planClean(Date.now(), 0);
  if (job === null) continue;
  let outcome = null;
  try {
    outcome = await cleanAndPrepare(job);
  } finally {
    const swap = log.commitClean(outcome);
    swaps += swap.segmentsReplaced;
    if (swap.finalize !== null) {
      // As the broker's cleaner thread would: later, with reads of the swapped log in between.
      await new Promise((resolve) => setTimeout(resolve, 1));
      log.read(log.logStartOffset, 1 << 16);
      finalizeClean(swap.finalize);
    }
    log.endClean();
    process.stdout.write(`cleaned ${swaps}\n`);
  }
}
