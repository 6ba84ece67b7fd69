import { join } from 'node:path';
import { fsyncDirectory } from './segment-files.js';
import { storageIo } from './storage-io.js';
import { writeFileSynced } from './write-at.js';

/**
 * The log start offset a DeleteRecords request moved (Kafka's
 * log-start-offset checkpoint, kept per partition here): records below it
 * are gone for readers even while the segment holding them is still on disk
 * (a segment is removed only once it lies wholly below it).
 *
 * Layout: one file `log-start-offset` in the partition directory, UTF-8 JSON
 * `{"version":1,"logStartOffset":N}`. Written crash-safely: to
 * `log-start-offset.tmp`, synced, renamed over the old file, then the
 * directory synced; so after a crash the file holds the old or the new value,
 * never a torn one. A leftover `.tmp` is removed on open.
 */
export const LOG_START_OFFSET_NAME = 'log-start-offset';
const TEMPORARY_NAME = `${LOG_START_OFFSET_NAME}.tmp`;

/** The recorded log start offset, or 0 when none was recorded (or the file does not parse). */
export function readLogStartOffset(dir: string, fileNames: readonly string[]): number {
  if (fileNames.includes(TEMPORARY_NAME)) storageIo().removeFile(join(dir, TEMPORARY_NAME));
  if (!fileNames.includes(LOG_START_OFFSET_NAME)) return 0;
  try {
    const text = new TextDecoder().decode(storageIo().readFile(join(dir, LOG_START_OFFSET_NAME)));
    const parsed = JSON.parse(text) as { version?: unknown; logStartOffset?: unknown };
    if (parsed.version === 1 && Number.isSafeInteger(parsed.logStartOffset)) {
      return Math.max(0, parsed.logStartOffset as number);
    }
  } catch {
    // Never written torn (see above); a damaged file counts as none, so nothing is hidden by mistake.
  }
  return 0;
}

/** Records `offset` durably (the directory must exist). */
export function writeLogStartOffset(dir: string, offset: number): void {
  const temporary = join(dir, TEMPORARY_NAME);
  writeFileSynced(
    temporary,
    new TextEncoder().encode(JSON.stringify({ version: 1, logStartOffset: offset })),
  );
  storageIo().rename(temporary, join(dir, LOG_START_OFFSET_NAME));
  fsyncDirectory(dir);
}
