import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';

/**
 * Which etcd topic (by its cluster-wide id) each local topic of a cluster
 * broker replicates, kept in `<data>/meta/cluster-topics.json`:
 * `{"version":1,"topics":{"<name>":<topicId>,…}}`. A broker that was down
 * while a topic was deleted, or deleted and created again under the same
 * name, finds out when it returns: the name is gone from etcd, or has another
 * id, so its local copy is the old topic's and is removed rather than served
 * or replicated as the new one. Written crash-safely (temporary file, fsync,
 * rename, directory fsync); a rare admin event, on the acceptor thread. A
 * missing or unreadable file counts as empty: local topics are then adopted
 * with the id etcd has for their name.
 */
export class ClusterTopicLedger {
  private readonly topics = new Map<string, number>();

  constructor(private readonly path: string) {
    if (!existsSync(path)) return;
    try {
      const parsed = JSON.parse(readFileSync(path, 'utf8')) as { version?: unknown; topics?: unknown };
      if (parsed.version !== 1 || typeof parsed.topics !== 'object' || parsed.topics === null) return;
      for (const [name, id] of Object.entries(parsed.topics as Record<string, unknown>)) {
        if (typeof id === 'number' && Number.isSafeInteger(id)) this.topics.set(name, id);
      }
    } catch {
      // Never written torn (see above); unreadable counts as empty.
    }
  }

  idOf(name: string): number | undefined {
    return this.topics.get(name);
  }

  names(): string[] {
    return [...this.topics.keys()];
  }

  set(name: string, topicId: number): void {
    if (this.topics.get(name) === topicId) return;
    this.topics.set(name, topicId);
    this.write();
  }

  remove(name: string): void {
    if (!this.topics.delete(name)) return;
    this.write();
  }

  private write(): void {
    mkdirSync(dirname(this.path), { recursive: true });
    const temporary = `${this.path}.tmp`;
    const text = JSON.stringify({ version: 1, topics: Object.fromEntries(this.topics) });
    const fd = openSync(temporary, 'w');
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, this.path);
    const directory = openSync(dirname(this.path), 'r');
    try {
      fsyncSync(directory);
    } finally {
      closeSync(directory);
    }
  }
}
