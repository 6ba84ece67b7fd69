import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { checkBatch } from '../../src/record/batch-check.js';
import { BatchAttributes, BatchHeader } from '../../src/record/batch-header.js';
import { decodeBatchRecords } from '../../src/record/batch-reader.js';
// Registers the decompressors, so that batches a producer compressed can be read too.
import '../../src/record/compression.js';
import { topicDirsOnDisk } from '../../src/storage/partition-dirs.js';
import { LOG_SUFFIX, parseSegmentName, segmentFileName } from '../../src/storage/segment-files.js';
import type { ReplicaRead } from './checker.js';

/**
 * Reads one replica of a partition straight from a broker's data directory,
 * for the checker's final read: every record of every segment, in offset
 * order, values as UTF-8. Reading the files rather than fetching over the
 * network sees exactly what that broker holds, follower or not, whatever its
 * state after the run. Control batches (transaction markers) are skipped;
 * the walk stops at the first partial, malformed or CRC-failing batch, where
 * recovery would cut a torn tail. Returns null when the broker has no such partition.
 */
export function readReplicaFromDataDir(
  dataDir: string,
  broker: number,
  topic: string,
  partition: number,
): ReplicaRead | null {
  // A topic deleted and created again has a newer id; the newest directory is the live one.
  const topicDirs = topicDirsOnDisk(dataDir)
    .filter(({ topicId, dir }) => basename(dir) === `${topicId}-${topic}`)
    .sort((a, b) => b.topicId - a.topicId);
  if (topicDirs.length === 0) return null;
  const dir = join(topicDirs[0]!.dir, String(partition));
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return null;
  }
  const baseOffsets = names
    .filter((name) => name.endsWith(LOG_SUFFIX))
    .map(parseSegmentName)
    .filter((base) => base >= 0)
    .sort((a, b) => a - b);
  const records: { offset: number; value: string }[] = [];
  const text = new TextDecoder();
  for (const baseOffset of baseOffsets) {
    const bytes = readFileSync(join(dir, segmentFileName(baseOffset, LOG_SUFFIX)));
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let position = 0;
    for (;;) {
      const sizeBytes = checkBatch(bytes, view, position, bytes.length);
      if (sizeBytes < 0) break;
      const batch = bytes.subarray(position, position + sizeBytes);
      position += sizeBytes;
      if ((view.getInt16(position - sizeBytes + BatchHeader.ATTRIBUTES) & BatchAttributes.CONTROL) !== 0)
        continue;
      for (const record of decodeBatchRecords(batch)) {
        records.push({
          offset: record.offset,
          value: record.value === null ? '' : text.decode(record.value),
        });
      }
    }
  }
  return { broker, topic, partition, records };
}
