import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { SegmentVerification } from '../engine/offload-task.js';
import { listPartitionDirs } from '../storage/partition-dirs.js';

/**
 * Full verification of every segment in the data directory (`--verify-segments`):
 * each `.log` file is read front to back and every batch's length, magic and
 * CRC32C checked, in the offload pool, so the shards keep serving meanwhile.
 * Recovery already checks the active segments and reads check the rest lazily;
 * this finds damage in data nobody is reading yet.
 */
export interface SegmentVerifier {
  verifySegment(path: string): Promise<SegmentVerification>;
}

/** Every `.log` path in every partition directory (storage/partition-dirs.ts). */
export function segmentPaths(dataDir: string): string[] {
  const paths: string[] = [];
  for (const dir of listPartitionDirs(dataDir)) {
    for (const name of readdirSync(dir)) {
      if (name.endsWith('.log')) paths.push(join(dir, name));
    }
  }
  return paths.sort();
}

/** Verifies every segment, a few at a time; returns the ones with a problem. */
export async function auditSegments(
  dataDir: string,
  verifier: SegmentVerifier,
  concurrency = 2,
): Promise<SegmentVerification[]> {
  const paths = segmentPaths(dataDir);
  const problems: SegmentVerification[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.max(1, concurrency) }, async () => {
      while (next < paths.length) {
        const result = await verifier.verifySegment(paths[next++]!);
        if (result.problem !== '') problems.push(result);
      }
    }),
  );
  return problems;
}
