import { readInt64 } from '../common/offset.js';
import { BatchAttributes, BatchHeader, CompressionCodec } from '../record/batch-header.js';
import { nextBatchBytes } from '../record/batch-walk.js';
import { compressRecords, decompressRecords } from '../record/compression.js';
import { ControlRecordType, controlRecordType } from '../record/control-batch.js';
import { crc32c } from '../record/crc32c.js';
import { type Cursor, readVarint } from '../record/varint.js';
import { OffsetIndex, type OffsetIndexEntries } from './offset-index.js';
import {
  CLEANED_SUFFIX,
  INDEX_SUFFIX,
  LOG_SUFFIX,
  removeCleanedFiles,
  segmentPath,
  TIME_INDEX_SUFFIX,
} from './segment-files.js';
import { storageIo } from './storage-io.js';
import { TimeIndex, type TimeIndexEntries } from './time-index.js';

/**
 * The log cleaner's work on closed segments (cleanup.policy=compact): keep
 * the latest record of each key, drop tombstones (null values) older than
 * delete.retention.ms. It runs on a thread of its own (workers/log-cleaner.ts),
 * never on a shard, and touches no file the shard writes:
 *
 * - it reads closed segments, which never change once rolled (only the shard
 *   deletes or replaces them, and never while a job on them runs: see
 *   log-compaction.ts), by path, up to the size the shard handed over;
 * - it writes each replacement as new files `<base>.log.cleaned`,
 *   `<base>.index.cleaned`, `<base>.timeindex.cleaned`, fsynced, which the
 *   shard swaps in (log-compaction.ts) or recovery removes;
 * - then it prepares the swap (clean-prepare.ts): the partition's `compacted`
 *   marker, and the removal of the index files of the segments to be
 *   replaced, made durable by one directory sync; the index files of closed
 *   segments are read only when the log is opened, so the shard does not
 *   notice. The shard's part of the swap is then a rename per segment and a
 *   pointer swap (log-compaction.ts), and the rest (the directory syncs, the
 *   cleaned index files' renames, removing what the shard did not take)
 *   comes back here (clean-finalize.ts).
 *
 * Two passes: the first maps each key of the dirty segments (those not
 * cleaned since the broker started) to its last offset, and each idempotent
 * producer to its last batch; the second rewrites every segment, clean or
 * dirty, up to the last one mapped, that loses a record. A kept batch keeps its base offset,
 * lastOffsetDelta, timestamps and producer fields; only its records, record
 * count, length and CRC change, and a compressed one is recompressed in its
 * codec. So offsets never move: readers see gaps, as in Kafka. A batch that
 * loses every record is dropped, except the last batch of a segment that
 * would keep no batch at all (so the log keeps its start offset) and the
 * last batch of each producer id (so idempotent-producer state can be rebuilt
 * from the log): those stay as empty batches, uncompressed, with no records,
 * which reads step over (partition-log.ts).
 * Records without a key are never removed (Kafka refuses them on compacted
 * topics; here they stay as they came).
 *
 * Reads and writes together are held to `ioBytesPerSecond` by sleeping
 * between chunks.
 */
export interface CleanableSegment {
  readonly baseOffset: number;
  /** Bytes of whole batches the shard vouches for; the cleaner reads no further. */
  readonly sizeBytes: number;
}

export interface CleanJob {
  readonly dir: string;
  /** Closed segments, oldest first, all cleanable now. */
  readonly segments: readonly CleanableSegment[];
  readonly nowMs: number;
  readonly deleteRetentionMs: number;
  /** Read plus write budget; 0 or less: no limit. */
  readonly ioBytesPerSecond: number;
  /**
   * Segments from here on are dirty (not cleaned since the broker started); the ones before were cleaned
   * together and hold each key at most once. The key map is built from the dirty ones only.
   */
  readonly firstDirtyOffset: number;
  /** Most keys the key map may hold (KEY_MAP_ENTRIES_MAX by default); see cleanSegments. */
  readonly keyMapEntriesMax?: number;
  /** The partition's `compacted` marker exists already (prepareSwap creates it otherwise). */
  readonly offsetGapsAllowed: boolean;
}

/** What the shard needs to take a cleaned segment in without reading it: the indexes built while writing it. */
export interface CleanedIndexes {
  readonly offsetIndex: OffsetIndexEntries;
  readonly timeIndex: TimeIndexEntries;
  /** partitionLeaderEpoch of the cleaned file's last batch. */
  readonly lastLeaderEpoch: number;
}

export interface CleanedSegment {
  readonly baseOffset: number;
  readonly sourceSizeBytes: number;
  /** Size of `<base>.log.cleaned`; equals the source size when not replaced. */
  readonly cleanedSizeBytes: number;
  readonly recordsRemoved: number;
  /** Whether `.cleaned` files were written for it (false: nothing to remove). */
  readonly replaced: boolean;
  /** The cleaned file's indexes, when replaced. */
  readonly indexes: CleanedIndexes | null;
}

export interface CleanOutcome {
  readonly dir: string;
  readonly segments: CleanedSegment[];
  readonly readBytes: number;
  readonly writtenBytes: number;
  readonly elapsedMs: number;
  /** prepareSwap has run for it: the marker exists and the replaced segments' index files are gone. */
  readonly swapPrepared: boolean;
}

const CHUNK_BYTES = 1024 * 1024;
/**
 * Bound on the key map of one job (a JS Map entry with a short string key
 * costs on the order of 100 bytes, so about 100 MB here), as Kafka bounds its
 * dedupe buffer: a job whose segments hold more distinct keys cleans only the
 * oldest segments whose keys fit (at least one), and the next job goes on.
 */
export const KEY_MAP_ENTRIES_MAX = 1_000_000;

/** Paces reads and writes to a byte rate. */
class IoBudget {
  private readonly startMs = performance.now();
  private bytes = 0;

  constructor(private readonly bytesPerSecond: number) {}

  async spend(bytes: number): Promise<void> {
    this.bytes += bytes;
    if (this.bytesPerSecond <= 0) return;
    const dueMs = (this.bytes / this.bytesPerSecond) * 1000;
    const aheadMs = dueMs - (performance.now() - this.startMs);
    if (aheadMs > 1) await new Promise((resolve) => setTimeout(resolve, aheadMs));
  }
}

/** Calls `visit` with each whole batch of the first `sizeBytes` of a segment file, in order. */
async function forEachBatch(
  path: string,
  sizeBytes: number,
  budget: IoBudget,
  visit: (batch: Uint8Array, view: DataView, at: number) => void,
): Promise<number> {
  const io = storageIo();
  const fd = io.open(path, 'r');
  let readBytes = 0;
  try {
    let buffer = new Uint8Array(Math.min(CHUNK_BYTES, Math.max(sizeBytes, BatchHeader.SIZE_BYTES)));
    let view = new DataView(buffer.buffer);
    let position = 0;
    while (position < sizeBytes) {
      const want = Math.min(buffer.length, sizeBytes - position);
      const got = io.read(fd, buffer, 0, want, position);
      readBytes += got;
      await budget.spend(got);
      if (got <= 0) throw new Error(`${path} ends at ${position}, before the ${sizeBytes} bytes expected`);
      let at = 0;
      for (;;) {
        const batchBytes = nextBatchBytes(view, at, got);
        if (batchBytes < 0) break;
        // A batch whose bytes no longer match its CRC is never rewritten under a fresh one: the job fails
        // and the segment stays as it is, for the shard's reads to refuse that batch.
        const crc = crc32c(buffer, at + BatchHeader.CRC_START, at + batchBytes);
        if (crc !== view.getUint32(at + BatchHeader.CRC)) {
          throw new Error(`${path}: batch at byte ${position + at} fails its CRC32C; not cleaned`);
        }
        visit(buffer, view, at);
        at += batchBytes;
      }
      if (at === 0) {
        // A batch larger than the buffer: grow it to hold the batch and read again from there.
        if (got - at < BatchHeader.LOG_OVERHEAD_BYTES) throw new Error(`${path}: torn batch at ${position}`);
        const declared = view.getInt32(BatchHeader.BATCH_LENGTH) + BatchHeader.LOG_OVERHEAD_BYTES;
        if (declared <= got || declared > sizeBytes - position) {
          throw new Error(`${path}: unreadable batch at byte ${position}`);
        }
        buffer = new Uint8Array(declared);
        view = new DataView(buffer.buffer);
        continue;
      }
      position += at;
    }
  } finally {
    io.close(fd);
  }
  return readBytes;
}

/** One record's place in a plain records section and what the cleaner needs to judge it. */
interface RecordSlot {
  start: number;
  end: number;
  offsetDelta: number;
  timestampDelta: number;
  /** latin1 string of the key bytes; null for a record without a key. */
  key: string | null;
  tombstone: boolean;
}

function readRecordSlots(section: Uint8Array, recordCount: number): RecordSlot[] {
  const slots: RecordSlot[] = [];
  const cursor: Cursor = { position: 0 };
  const buffer = Buffer.from(section.buffer, section.byteOffset, section.byteLength);
  for (let i = 0; i < recordCount; i++) {
    const start = cursor.position;
    const bodyBytes = readVarint(section, cursor, section.length, 5);
    const end = cursor.position + bodyBytes;
    if (bodyBytes < 0 || end > section.length) throw new RangeError('record runs past its batch');
    cursor.position++; // attributes
    const timestampDelta = readVarint(section, cursor, end);
    const offsetDelta = readVarint(section, cursor, end, 5);
    const keyBytes = readVarint(section, cursor, end, 5);
    let key: string | null = null;
    if (keyBytes >= 0) {
      key = buffer.toString('latin1', cursor.position, cursor.position + keyBytes);
      cursor.position += keyBytes;
    }
    const valueBytes = readVarint(section, cursor, end, 5);
    slots.push({ start, end, offsetDelta, timestampDelta, key, tombstone: valueBytes < 0 });
    cursor.position = end;
  }
  return slots;
}

function plainSection(batch: Uint8Array, view: DataView, at: number, sizeBytes: number): Uint8Array {
  const codec = view.getInt16(at + BatchHeader.ATTRIBUTES) & BatchAttributes.COMPRESSION_MASK;
  const section = batch.subarray(at + BatchHeader.SIZE_BYTES, at + sizeBytes);
  return codec === CompressionCodec.NONE ? section : decompressRecords(codec, section);
}

function isControl(view: DataView, at: number): boolean {
  return (view.getInt16(at + BatchHeader.ATTRIBUTES) & BatchAttributes.CONTROL) !== 0;
}

/**
 * Cleans the segments of `job` into `.cleaned` files and says what it did
 * (the swap is not prepared: see cleanAndPrepare). On a failure the `.cleaned`
 * files it wrote are removed before the error is passed on.
 */
export async function cleanSegments(job: CleanJob): Promise<CleanOutcome> {
  const written: number[] = [];
  try {
    return await cleanInto(job, written);
  } catch (error) {
    for (const baseOffset of written) removeCleanedFiles(job.dir, baseOffset);
    throw error;
  }
}

async function cleanInto(job: CleanJob, written: number[]): Promise<CleanOutcome> {
  const startMs = performance.now();
  const budget = new IoBudget(job.ioBytesPerSecond);
  const latestOffsetByKey = new Map<string, number>();
  const lastBatchByProducer = new Map<number, number>();
  // A transaction's records count for their keys only once its COMMIT marker is seen: until then (and for
  // good after an ABORT) they supersede nothing, so an aborted or undecided write never removes the value
  // it would have replaced. Per producer id: key -> last offset in the open transaction.
  const undecidedByProducer = new Map<number, Map<string, number>>();
  let readBytes = 0;
  // Pass 1, over the dirty segments only (as Kafka's cleaner): the last offset of every key, and the last
  // batch of every producer id. It stops at the first segment that finds the key map full, so only the
  // segments up to the one before are cleaned; the next job starts its map there.
  const keyMapEntriesMax = job.keyMapEntriesMax ?? KEY_MAP_ENTRIES_MAX;
  const dirty = job.segments.filter((segment) => segment.baseOffset >= job.firstDirtyOffset);
  const mappedDirty: CleanableSegment[] = [];
  for (const segment of dirty) {
    if (mappedDirty.length > 0 && latestOffsetByKey.size >= keyMapEntriesMax) break;
    mappedDirty.push(segment);
    readBytes += await forEachBatch(
      segmentPath(job.dir, segment.baseOffset, LOG_SUFFIX),
      segment.sizeBytes,
      budget,
      (batch, view, at) => {
        const baseOffset = readInt64(view, at + BatchHeader.BASE_OFFSET);
        const producerId = readInt64(view, at + BatchHeader.PRODUCER_ID);
        if (producerId >= 0) lastBatchByProducer.set(producerId, baseOffset);
        const sizeBytes = view.getInt32(at + BatchHeader.BATCH_LENGTH) + BatchHeader.LOG_OVERHEAD_BYTES;
        if (isControl(view, at)) {
          const undecided = undecidedByProducer.get(producerId);
          if (undecided === undefined) return;
          undecidedByProducer.delete(producerId);
          if (controlRecordType(batch, view, at, sizeBytes) !== ControlRecordType.COMMIT) return;
          for (const [key, offset] of undecided) {
            if ((latestOffsetByKey.get(key) ?? -1) < offset) latestOffsetByKey.set(key, offset);
          }
          return;
        }
        let keys = latestOffsetByKey;
        if ((view.getInt16(at + BatchHeader.ATTRIBUTES) & BatchAttributes.TRANSACTIONAL) !== 0) {
          keys = undecidedByProducer.get(producerId) ?? new Map<string, number>();
          undecidedByProducer.set(producerId, keys);
        }
        const section = plainSection(batch, view, at, sizeBytes);
        for (const slot of readRecordSlots(section, view.getInt32(at + BatchHeader.RECORD_COUNT))) {
          if (slot.key !== null) keys.set(slot.key, baseOffset + slot.offsetDelta);
        }
      },
    );
  }
  // Pass 2: rewrite each segment up to the last mapped one that loses something: a record goes when a later
  // record of its key is in the map; the clean segments need no map of their own (each key is there once).
  const mappedEnd = mappedDirty[mappedDirty.length - 1]?.baseOffset ?? -1;
  const results: CleanedSegment[] = [];
  let writtenBytes = 0;
  for (const segment of job.segments) {
    if (segment.baseOffset > mappedEnd) break;
    const kept: Uint8Array[] = [];
    let recordsRemoved = 0;
    let changed = false;
    /** When the segment's last batch so far was dropped: it as an empty batch, else null. */
    let droppedLastShell: Uint8Array | null = null;
    readBytes += await forEachBatch(
      segmentPath(job.dir, segment.baseOffset, LOG_SUFFIX),
      segment.sizeBytes,
      budget,
      (batch, view, at) => {
        const sizeBytes = view.getInt32(at + BatchHeader.BATCH_LENGTH) + BatchHeader.LOG_OVERHEAD_BYTES;
        const original = batch.subarray(at, at + sizeBytes);
        const filtered = filterBatch(original, job, latestOffsetByKey, lastBatchByProducer);
        recordsRemoved += filtered.recordsRemoved;
        if (filtered.bytes === null) {
          changed = true;
          droppedLastShell = emptyShell(original);
          return;
        }
        droppedLastShell = null;
        if (filtered.bytes !== original) changed = true;
        kept.push(filtered.bytes === original ? original.slice() : filtered.bytes);
      },
    );
    // A segment that lost every batch keeps its last one, empty: a closed segment is never left without
    // batches (recovery would drop it, and the log start offset with it). Reads step over empty batches.
    if (kept.length === 0 && droppedLastShell !== null) kept.push(droppedLastShell);
    if (!changed) {
      results.push({
        baseOffset: segment.baseOffset,
        sourceSizeBytes: segment.sizeBytes,
        cleanedSizeBytes: segment.sizeBytes,
        recordsRemoved: 0,
        replaced: false,
        indexes: null,
      });
      continue;
    }
    written.push(segment.baseOffset);
    const cleaned = await writeCleaned(job.dir, segment.baseOffset, kept, budget);
    writtenBytes += cleaned.sizeBytes;
    results.push({
      baseOffset: segment.baseOffset,
      sourceSizeBytes: segment.sizeBytes,
      cleanedSizeBytes: cleaned.sizeBytes,
      recordsRemoved,
      replaced: true,
      indexes: cleaned.indexes,
    });
  }
  return {
    dir: job.dir,
    segments: results,
    readBytes,
    writtenBytes,
    elapsedMs: performance.now() - startMs,
    swapPrepared: false,
  };
}

interface FilteredBatch {
  /** The batch to keep (the original when nothing went), or null to drop it. */
  bytes: Uint8Array | null;
  recordsRemoved: number;
}

function filterBatch(
  original: Uint8Array,
  job: CleanJob,
  latestOffsetByKey: ReadonlyMap<string, number>,
  lastBatchByProducer: ReadonlyMap<number, number>,
): FilteredBatch {
  const view = new DataView(original.buffer, original.byteOffset, original.byteLength);
  if (isControl(view, 0)) return { bytes: original, recordsRemoved: 0 };
  const baseOffset = readInt64(view, BatchHeader.BASE_OFFSET);
  const baseTimestampMs = readInt64(view, BatchHeader.BASE_TIMESTAMP);
  const attributes = view.getInt16(BatchHeader.ATTRIBUTES);
  const logAppendTime = (attributes & BatchAttributes.TIMESTAMP_TYPE_LOG_APPEND) !== 0;
  const maxTimestampMs = readInt64(view, BatchHeader.MAX_TIMESTAMP);
  const recordCount = view.getInt32(BatchHeader.RECORD_COUNT);
  const producerId = readInt64(view, BatchHeader.PRODUCER_ID);
  // A later batch of this batch's producer is in the key map's range: this one is not its last.
  const producerMovedOn =
    producerId >= 0 && (lastBatchByProducer.get(producerId) ?? baseOffset) !== baseOffset;
  if (recordCount === 0) {
    // An empty batch an earlier clean kept: for its producer until that producer appends again, or so
    // that its segment keeps a batch.
    return { bytes: producerMovedOn ? null : original, recordsRemoved: 0 };
  }
  const section = plainSection(original, view, 0, original.length);
  const slots = readRecordSlots(section, recordCount);
  const keep: RecordSlot[] = [];
  for (const slot of slots) {
    if (slot.key === null) {
      keep.push(slot);
      continue;
    }
    const offset = baseOffset + slot.offsetDelta;
    if (offset < (latestOffsetByKey.get(slot.key) ?? offset)) continue;
    const timestampMs = logAppendTime ? maxTimestampMs : baseTimestampMs + slot.timestampDelta;
    if (slot.tombstone && timestampMs + job.deleteRetentionMs <= job.nowMs) continue;
    keep.push(slot);
  }
  const recordsRemoved = slots.length - keep.length;
  if (recordsRemoved === 0) return { bytes: original, recordsRemoved: 0 };
  if (keep.length === 0) {
    // A producer's last batch stays, empty, so its sequence state can be rebuilt from the log. One whose
    // producer the map does not know (all its batches lie in the clean part) may be its last: it stays too.
    if (producerId >= 0 && !producerMovedOn) {
      return { bytes: emptyShell(original), recordsRemoved };
    }
    return { bytes: null, recordsRemoved };
  }
  let plainBytes = 0;
  for (const slot of keep) plainBytes += slot.end - slot.start;
  const plain = new Uint8Array(plainBytes);
  let position = 0;
  for (const slot of keep) {
    plain.set(section.subarray(slot.start, slot.end), position);
    position += slot.end - slot.start;
  }
  const codec = attributes & BatchAttributes.COMPRESSION_MASK;
  const records = codec === CompressionCodec.NONE ? plain : compressRecords(codec, plain);
  return { bytes: withRecords(original, records, keep.length, attributes), recordsRemoved };
}

/** A copy of `original`'s header over a new records section, with count, length and CRC to match. */
function withRecords(
  original: Uint8Array,
  records: Uint8Array,
  recordCount: number,
  attributes: number,
): Uint8Array {
  const bytes = new Uint8Array(BatchHeader.SIZE_BYTES + records.length);
  bytes.set(original.subarray(0, BatchHeader.SIZE_BYTES));
  bytes.set(records, BatchHeader.SIZE_BYTES);
  const view = new DataView(bytes.buffer);
  view.setInt32(BatchHeader.BATCH_LENGTH, bytes.length - BatchHeader.LOG_OVERHEAD_BYTES);
  view.setInt16(BatchHeader.ATTRIBUTES, attributes);
  view.setInt32(BatchHeader.RECORD_COUNT, recordCount);
  view.setUint32(BatchHeader.CRC, crc32c(bytes, BatchHeader.CRC_START));
  return bytes;
}

/** The batch with no records: same offsets, timestamps and producer fields, uncompressed. */
function emptyShell(original: Uint8Array): Uint8Array {
  const view = new DataView(original.buffer, original.byteOffset, original.byteLength);
  const attributes = view.getInt16(BatchHeader.ATTRIBUTES) & ~BatchAttributes.COMPRESSION_MASK;
  return withRecords(original, new Uint8Array(0), 0, attributes);
}

/** Writes the kept batches and their indexes as `.cleaned` files, each fsynced; returns the log's size and indexes. */
async function writeCleaned(
  dir: string,
  baseOffset: number,
  batches: readonly Uint8Array[],
  budget: IoBudget,
): Promise<{ sizeBytes: number; indexes: CleanedIndexes }> {
  const io = storageIo();
  const offsetIndex = new OffsetIndex();
  const timeIndex = new TimeIndex();
  const path = segmentPath(dir, baseOffset, LOG_SUFFIX + CLEANED_SUFFIX);
  const fd = io.open(path, 'w');
  let position = 0;
  let lastLeaderEpoch = -1;
  try {
    for (const batch of batches) {
      const view = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
      lastLeaderEpoch = view.getInt32(BatchHeader.PARTITION_LEADER_EPOCH);
      const relativeOffset = readInt64(view, BatchHeader.BASE_OFFSET) - baseOffset;
      offsetIndex.onAppend(relativeOffset, position, batch.length);
      timeIndex.onAppend(relativeOffset, readInt64(view, BatchHeader.MAX_TIMESTAMP), batch.length);
      let written = 0;
      while (written < batch.length) {
        const wrote = io.write(fd, batch, written, batch.length - written, position + written);
        if (wrote <= 0) throw new Error(`short write to ${path}`);
        written += wrote;
      }
      position += batch.length;
      await budget.spend(batch.length);
    }
    io.fsync(fd);
  } finally {
    io.close(fd);
  }
  offsetIndex.writeFile(segmentPath(dir, baseOffset, INDEX_SUFFIX + CLEANED_SUFFIX));
  timeIndex.writeFile(segmentPath(dir, baseOffset, TIME_INDEX_SUFFIX + CLEANED_SUFFIX));
  return {
    sizeBytes: position,
    indexes: { offsetIndex: offsetIndex.entryArrays(), timeIndex: timeIndex.entryArrays(), lastLeaderEpoch },
  };
}
