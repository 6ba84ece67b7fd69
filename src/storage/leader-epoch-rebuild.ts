import { readInt64 } from '../common/offset.js';
import { BatchHeader } from '../record/batch-header.js';
import { nextBatchBytes } from '../record/batch-walk.js';
import { LeaderEpochCache } from './leader-epoch-cache.js';
import type { CheckpointContents, EpochEntry } from './leader-epoch-checkpoint.js';
import type { Segment } from './segment.js';
import { storageIo } from './storage-io.js';

/**
 * Rebuilds a partition's epoch → start-offset list from the batches
 * themselves (their partitionLeaderEpoch), for a log whose checkpoint is
 * missing, damaged or behind its batches. Reads every segment's batch headers
 * in chunks: a full pass over the log, so only recovery calls it, and only
 * when the checkpoint cannot be trusted. Segments must already be recovered
 * (whole batches up to `sizeBytes`).
 */
const CHUNK_BYTES = 1024 * 1024;

export function rebuildLeaderEpochs(segments: readonly Segment[]): EpochEntry[] {
  const entries: EpochEntry[] = [];
  const buffer = new Uint8Array(CHUNK_BYTES);
  const view = new DataView(buffer.buffer);
  for (const segment of segments) {
    if (segment.sizeBytes === 0) continue;
    let position = 0;
    while (position < segment.sizeBytes) {
      const want = Math.min(buffer.length, segment.sizeBytes - position);
      const got = storageIo().read(segment.fd, buffer, 0, want, position);
      let at = 0;
      for (;;) {
        if (got - at < BatchHeader.SIZE_BYTES) break;
        const epoch = view.getInt32(at + BatchHeader.PARTITION_LEADER_EPOCH);
        const last = entries.at(-1);
        if (epoch >= 0 && (last === undefined || epoch > last.epoch)) {
          entries.push({ epoch, startOffset: readInt64(view, at + BatchHeader.BASE_OFFSET) });
        }
        const sizeBytes = nextBatchBytes(view, at, got);
        // Only the header is needed: a batch running past the chunk is stepped over by its length.
        const declared = view.getInt32(at + BatchHeader.BATCH_LENGTH) + BatchHeader.LOG_OVERHEAD_BYTES;
        if (sizeBytes < 0 && (declared < BatchHeader.SIZE_BYTES || got - at >= declared)) {
          return entries; // recovery left whole batches only: a bad length here means stop, keep what we have
        }
        at += sizeBytes > 0 ? sizeBytes : declared;
      }
      // Less than a header left: recovery leaves whole batches, so this is the segment's end.
      if (at === 0) break;
      position += at;
    }
  }
  return entries;
}

/**
 * The epoch cache of a log just recovered: the checkpoint's entries, cut at
 * the recovered log end; epoch 0 from the start for a log without one (a
 * single node's); rebuilt from the batches when the checkpoint is damaged or
 * knows less than the batches say (its last batch carries a later epoch).
 * What was rebuilt is reported in `problems`.
 */
export function settleLeaderEpochs(
  dir: string,
  checkpoint: CheckpointContents,
  segments: readonly Segment[],
  problems: string[],
): LeaderEpochCache {
  const logEndOffset = segments[segments.length - 1]?.nextOffset ?? 0;
  const first = segments.find((segment) => segment.sizeBytes > 0);
  let cache: LeaderEpochCache;
  if (checkpoint.kind === 'entries') {
    cache = new LeaderEpochCache(dir, checkpoint.entries, true);
    cache.truncateFromEnd(logEndOffset);
  } else if (checkpoint.kind === 'absent') {
    cache = new LeaderEpochCache(
      dir,
      first === undefined ? [] : [{ epoch: 0, startOffset: first.baseOffset }],
      false,
    );
  } else {
    problems.push(`leader-epoch checkpoint ${checkpoint.problem}: rebuilt from the batches`);
    cache = new LeaderEpochCache(dir, [], true);
    cache.replaceAll(rebuildLeaderEpochs(segments));
    return cache;
  }
  let lastEpoch = -1;
  for (const segment of segments) if (segment.sizeBytes > 0) lastEpoch = segment.lastLeaderEpoch;
  if (lastEpoch > cache.latestEpoch) {
    problems.push(
      `leader-epoch checkpoint ends at epoch ${cache.latestEpoch}, the log at ${lastEpoch}: rebuilt from the batches`,
    );
    cache.replaceAll(rebuildLeaderEpochs(segments));
  }
  return cache;
}
