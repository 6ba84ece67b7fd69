import { join } from 'node:path';
import { CLEAN_MARKER_NAME, fsyncDirectory } from './segment-files.js';
import { storageIo } from './storage-io.js';
import { writeFileSynced } from './write-at.js';

/**
 * The clean-shutdown marker: written by `PartitionLog.close()` after the
 * final sync, removed when the log is opened again. Its presence, with the
 * active segment at exactly the size it records, means the last run stopped
 * cleanly and everything on disk is as it left it, so recovery can trust the
 * index files instead of scanning the active segment.
 *
 * Layout: UTF-8 JSON `{"version":1,"activeBaseOffset":N,"activeSizeBytes":N,"logEndOffset":N}`.
 */
export interface CleanMarker {
  version: 1;
  activeBaseOffset: number;
  activeSizeBytes: number;
  logEndOffset: number;
}

export function writeCleanMarker(dir: string, marker: Omit<CleanMarker, 'version'>): void {
  writeFileSynced(
    join(dir, CLEAN_MARKER_NAME),
    new TextEncoder().encode(JSON.stringify({ version: 1, ...marker })),
  );
  fsyncDirectory(dir);
}

/** Reads and removes the marker; null when there was none or it does not parse. */
export function takeCleanMarker(dir: string): CleanMarker | null {
  const path = join(dir, CLEAN_MARKER_NAME);
  let text: string;
  try {
    text = new TextDecoder().decode(storageIo().readFile(path));
  } catch {
    return null;
  }
  storageIo().removeFile(path);
  fsyncDirectory(dir);
  try {
    const parsed = JSON.parse(text) as Partial<CleanMarker>;
    if (
      parsed.version === 1 &&
      Number.isSafeInteger(parsed.activeBaseOffset) &&
      Number.isSafeInteger(parsed.activeSizeBytes) &&
      Number.isSafeInteger(parsed.logEndOffset)
    ) {
      return parsed as CleanMarker;
    }
  } catch {
    // A damaged marker counts as none: recovery scans.
  }
  return null;
}
