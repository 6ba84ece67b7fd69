import { existsSync, mkdirSync, readdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Where partitions live in the data directory:
 *
 *   <dataDir>/meta/                      topic registry, sequencers
 *   <dataDir>/topics/<topicId>-<topic>/<p>/   one partition: segments, indexes, markers
 *
 * Directories are named by topic id (the name follows it for people reading
 * the directory), and the id is never reused (an Obelisk
 * sequencer hands it out), so a topic deleted and created again under the same
 * name never meets its predecessor's files, even when the deletion did not
 * finish before a crash. Deleting a topic forgets it in the registry first
 * (that is the durable mark); its `topics/<topicId>` directory is removed
 * after, and any such directory the registry does not know is an orphan,
 * removed at the next start.
 *
 * Brokers before this layout kept `<dataDir>/<topic>-<p>/`; such a directory
 * is moved into place (one rename) the first time the broker starts.
 */
export const TOPICS_DIR_NAME = 'topics';

export function topicDir(dataDir: string, topicId: number, topicName: string): string {
  return join(dataDir, TOPICS_DIR_NAME, `${topicId}-${topicName}`);
}

export function partitionDir(dataDir: string, topicId: number, topicName: string, partition: number): string {
  return join(topicDir(dataDir, topicId, topicName), String(partition));
}

/** The directory of the earlier layout, by topic name. */
export function legacyPartitionDir(dataDir: string, topicName: string, partition: number): string {
  return join(dataDir, `${topicName}-${partition}`);
}

/** Moves a partition's directory of the earlier layout into place; false when there is none to move. */
export function migrateLegacyPartition(
  dataDir: string,
  topicName: string,
  topicId: number,
  partition: number,
): boolean {
  const legacy = legacyPartitionDir(dataDir, topicName, partition);
  const current = partitionDir(dataDir, topicId, topicName, partition);
  if (!existsSync(legacy) || existsSync(current)) return false;
  mkdirSync(topicDir(dataDir, topicId, topicName), { recursive: true });
  renameSync(legacy, current);
  return true;
}

/** The topic directories under `topics/`, with the id each is named by. */
export function topicDirsOnDisk(dataDir: string): { topicId: number; dir: string }[] {
  let names: string[];
  try {
    names = readdirSync(join(dataDir, TOPICS_DIR_NAME));
  } catch {
    return [];
  }
  const found: { topicId: number; dir: string }[] = [];
  for (const name of names) {
    const match = /^(\d+)-/.exec(name);
    if (match !== null) found.push({ topicId: Number(match[1]), dir: join(dataDir, TOPICS_DIR_NAME, name) });
  }
  return found;
}

/**
 * Every partition directory in the data directory (for offline checks):
 * `topics/<topicId>-<topic>/<p>`, and directories of the earlier layout not yet moved.
 */
export function listPartitionDirs(dataDir: string): string[] {
  const dirs: string[] = [];
  for (const entry of readdirSync(dataDir, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name === 'meta' || entry.name === TOPICS_DIR_NAME) continue;
    dirs.push(join(dataDir, entry.name));
  }
  for (const topic of topicDirsOnDisk(dataDir)) {
    for (const partition of readdirSync(topic.dir, { withFileTypes: true })) {
      if (partition.isDirectory()) dirs.push(join(topic.dir, partition.name));
    }
  }
  return dirs.sort();
}
