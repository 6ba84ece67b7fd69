import {
  closeSync,
  existsSync,
  fdatasyncSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import type { TopicConfig } from '../common/broker-config.js';
import { crc32c } from '../record/crc32c.js';

/**
 * The topic registry on disk: an append-only log, `<dataDir>/meta/topics.log`,
 * so that persisting a change costs the change, not the size of the registry
 * (a 200,000-partition topic is one small record: placement is recomputed,
 * never stored). Each change is appended and fdatasynced before it counts.
 *
 * Record layout (big-endian):
 *   0  u32  payloadBytes
 *   4  u32  crc32c(payload)
 *   8  payload: UTF-8 JSON, one of
 *        {"op":"put","name":..,"topicId":..,"partitionCount":..,"config":{..}}   add or update
 *        {"op":"remove","name":..}
 *
 * Reading replays the records in order and stops at the first one that is
 * partial or fails its CRC (a crash in the middle of an append): the file is
 * cut there, so the next append follows the last whole record. When the log
 * holds many more records than topics it is rewritten as one record per
 * topic (to a temporary file, synced, renamed over the log, directory synced).
 */
export interface StoredTopic {
  name: string;
  topicId: number;
  partitionCount: number;
  config: TopicConfig;
}

type RegistryRecord = ({ op: 'put' } & StoredTopic) | { op: 'remove'; name: string };

const HEADER_BYTES = 8;
/** Records past which, beyond two per live topic, the log is compacted. */
const SLACK_RECORDS = 1024;

export class TopicRegistryLog {
  private fd: number;
  private sizeBytes: number;
  private recordCount: number;

  private constructor(
    private readonly path: string,
    private readonly metaDir: string,
    fd: number,
    sizeBytes: number,
    recordCount: number,
  ) {
    this.fd = fd;
    this.sizeBytes = sizeBytes;
    this.recordCount = recordCount;
  }

  /** Opens (or creates) the log and returns it with the topics its records leave. */
  static open(
    metaDir: string,
    legacyTopics: () => StoredTopic[] | null,
  ): {
    log: TopicRegistryLog;
    topics: Map<string, StoredTopic>;
  } {
    const path = `${metaDir}/topics.log`;
    const topics = new Map<string, StoredTopic>();
    if (!existsSync(path)) {
      // First start with this format: the earlier whole-file registry, if any, becomes the first snapshot.
      for (const topic of legacyTopics() ?? []) topics.set(topic.name, topic);
      writeSnapshot(path, metaDir, topics);
    }
    const bytes = readFileSync(path);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const decoder = new TextDecoder();
    let position = 0;
    let recordCount = 0;
    while (bytes.length - position >= HEADER_BYTES) {
      const payloadBytes = view.getUint32(position);
      const end = position + HEADER_BYTES + payloadBytes;
      if (end > bytes.length) break;
      if (crc32c(bytes, position + HEADER_BYTES, end) !== view.getUint32(position + 4)) break;
      let record: RegistryRecord;
      try {
        record = JSON.parse(decoder.decode(bytes.subarray(position + HEADER_BYTES, end))) as RegistryRecord;
      } catch {
        break;
      }
      if (record.op === 'put') {
        topics.set(record.name, {
          name: record.name,
          topicId: record.topicId,
          partitionCount: record.partitionCount,
          config: record.config,
        });
      } else {
        topics.delete(record.name);
      }
      recordCount++;
      position = end;
    }
    const fd = openSync(path, 'r+');
    if (position < bytes.length) {
      // A torn last append: cut it so the next record follows the last whole one.
      ftruncateSync(fd, position);
      fsyncSync(fd);
    }
    const log = new TopicRegistryLog(path, metaDir, fd, position, recordCount);
    log.compactIfLarge(topics);
    return { log, topics };
  }

  put(topic: StoredTopic): void {
    this.append({ op: 'put', ...topic });
  }

  remove(name: string): void {
    this.append({ op: 'remove', name });
  }

  /** Rewrites the log as one record per live topic when it holds many more records than that. */
  compactIfLarge(topics: ReadonlyMap<string, StoredTopic>): void {
    if (this.recordCount <= 2 * topics.size + SLACK_RECORDS) return;
    closeSync(this.fd);
    writeSnapshot(this.path, this.metaDir, topics);
    this.fd = openSync(this.path, 'r+');
    this.sizeBytes = readFileSync(this.path).length;
    this.recordCount = topics.size;
  }

  close(): void {
    closeSync(this.fd);
  }

  private append(record: RegistryRecord): void {
    const bytes = encodeRecord(record);
    const written = writeSync(this.fd, bytes, 0, bytes.length, this.sizeBytes);
    if (written !== bytes.length) throw new Error(`short write to ${this.path}`);
    fdatasyncSync(this.fd);
    this.sizeBytes += bytes.length;
    this.recordCount++;
  }
}

function encodeRecord(record: RegistryRecord): Uint8Array {
  const payload = new TextEncoder().encode(JSON.stringify(record));
  const bytes = new Uint8Array(HEADER_BYTES + payload.length);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, payload.length);
  view.setUint32(4, crc32c(payload));
  bytes.set(payload, HEADER_BYTES);
  return bytes;
}

/** Writes one put record per topic to a new file and renames it over the log, durably. */
function writeSnapshot(path: string, metaDir: string, topics: ReadonlyMap<string, StoredTopic>): void {
  const temporary = `${path}.tmp`;
  rmSync(temporary, { force: true });
  const fd = openSync(temporary, 'w');
  try {
    let position = 0;
    for (const topic of topics.values()) {
      const bytes = encodeRecord({ op: 'put', ...topic });
      writeSync(fd, bytes, 0, bytes.length, position);
      position += bytes.length;
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);
  const dirFd = openSync(metaDir, 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}
