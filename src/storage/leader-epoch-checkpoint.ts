import { join } from 'node:path';
import { fsyncDirectory } from './segment-files.js';
import { storageIo } from './storage-io.js';
import { writeFileSynced } from './write-at.js';

/**
 * The leader-epoch checkpoint of one partition: which leader epoch began at
 * which offset (Kafka's `leader-epoch-checkpoint`, same text layout):
 *
 *   0                 layout version
 *   N                 number of entries
 *   <epoch> <offset>  N lines, epochs and start offsets both strictly increasing
 *
 * One file `leader-epoch-checkpoint` in the partition directory. Written
 * crash-safely: to `leader-epoch-checkpoint.tmp`, synced, renamed over the
 * old file, then the directory synced, so after a crash the file holds the
 * old list or the new one, never a torn one. It is written before the first
 * batch of a new epoch (leader-epoch-cache.ts), so it never lags the log it
 * describes; recovery drops entries past the recovered log end.
 */
export const LEADER_EPOCH_CHECKPOINT_NAME = 'leader-epoch-checkpoint';
const TEMPORARY_NAME = `${LEADER_EPOCH_CHECKPOINT_NAME}.tmp`;
const LAYOUT_VERSION = 0;

export interface EpochEntry {
  readonly epoch: number;
  readonly startOffset: number;
}

/** What the directory holds: the entries, none (no file), or a file that does not parse. */
export type CheckpointContents =
  | { kind: 'entries'; entries: EpochEntry[] }
  | { kind: 'absent' }
  | { kind: 'damaged'; problem: string };

/** Reads the checkpoint; removes a leftover temporary file (a write a crash cut short). */
export function readLeaderEpochCheckpoint(dir: string, fileNames: readonly string[]): CheckpointContents {
  if (fileNames.includes(TEMPORARY_NAME)) storageIo().removeFile(join(dir, TEMPORARY_NAME));
  if (!fileNames.includes(LEADER_EPOCH_CHECKPOINT_NAME)) return { kind: 'absent' };
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(
      storageIo().readFile(join(dir, LEADER_EPOCH_CHECKPOINT_NAME)),
    );
  } catch (error) {
    return { kind: 'damaged', problem: `unreadable: ${(error as Error).message}` };
  }
  return parseLeaderEpochCheckpoint(text);
}

/** Parses the text layout above, checking every rule it states. */
export function parseLeaderEpochCheckpoint(text: string): CheckpointContents {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  if (lines.length < 2 || lines[0] !== String(LAYOUT_VERSION)) {
    return { kind: 'damaged', problem: 'missing or unknown layout version' };
  }
  const count = Number(lines[1]);
  if (!Number.isSafeInteger(count) || count < 0 || lines.length !== count + 2) {
    return { kind: 'damaged', problem: 'entry count does not match the lines' };
  }
  const entries: EpochEntry[] = [];
  for (let i = 0; i < count; i++) {
    const match = /^(\d+) (\d+)$/.exec(lines[i + 2]!);
    const epoch = Number(match?.[1]);
    const startOffset = Number(match?.[2]);
    if (match === null || epoch > 0x7fff_ffff || !Number.isSafeInteger(startOffset)) {
      return { kind: 'damaged', problem: `line ${i + 3} is not "<epoch> <offset>"` };
    }
    const previous = entries.at(-1);
    if (previous !== undefined && (epoch <= previous.epoch || startOffset <= previous.startOffset)) {
      return { kind: 'damaged', problem: `line ${i + 3} does not follow the one before` };
    }
    entries.push({ epoch, startOffset });
  }
  return { kind: 'entries', entries };
}

export function formatLeaderEpochCheckpoint(entries: readonly EpochEntry[]): string {
  let text = `${LAYOUT_VERSION}\n${entries.length}\n`;
  for (const entry of entries) text += `${entry.epoch} ${entry.startOffset}\n`;
  return text;
}

/** Replaces the checkpoint durably (the directory must exist). */
export function writeLeaderEpochCheckpoint(dir: string, entries: readonly EpochEntry[]): void {
  const temporary = join(dir, TEMPORARY_NAME);
  writeFileSynced(temporary, new TextEncoder().encode(formatLeaderEpochCheckpoint(entries)));
  storageIo().rename(temporary, join(dir, LEADER_EPOCH_CHECKPOINT_NAME));
  fsyncDirectory(dir);
}
