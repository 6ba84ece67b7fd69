import type { Acks } from '../../engine/engine-api.js';
import { sealBatchHeader } from '../../record/batch-builder.js';
import { BatchHeader } from '../../record/batch-header.js';
import { varintSizeBytes, writeVarint } from '../../record/varint.js';
import { type FrameReader, FrameWriter, WsOpCode } from './binary-frame.js';
import type { FrameRecords, ProducedOffset, ProduceRequest } from './ws-request.js';

/**
 * PRODUCE (0x01) and its reply PRODUCED (0x81), after the 8-byte frame header.
 *
 * PRODUCE:
 *   str  topic
 *   i32  partition   -1: the broker picks per record, as Kafka's default partitioner does:
 *                    murmur2 of the key; records without a key all go to one partition,
 *                    chosen round robin frame by frame
 *   i8   acks        0 (no reply), 1 (appended) or -1 (durable per the fsync policy)
 *   u8   kind        0: records follow, 1: a ready RecordBatch v2 follows
 *   kind 0:  u32 count (>= 1), then per record:
 *              i32 keyBytes (-1: null key), key
 *              i32 valueBytes (-1: null value), value
 *              f64 timestampMs (-1: the broker's clock)
 *              u16 headerCount, per header: str key, i32 valueBytes (-1: null), value
 *   kind 1:  the batch's bytes to the end of the frame (partition must be >= 0)
 *
 * PRODUCED:
 *   u16  groupCount  partitions the records went to
 *   per group: i32 partition, f64 baseOffset (-1 with acks 0), u32 recordCount
 *   u32  slotCount   0 when there is one group (record i has baseOffset + i);
 *                    else the record count, then per record a u16: its group's index.
 *                    The records of one group have consecutive offsets in request order.
 *
 * Even acks 0 gets a PRODUCED (offsets -1) so the request leaves the in-flight count.
 *
 * The broker turns kind-0 records straight into RecordBatch v2 bytes
 * (`splitIntoBatches`) without making an object per record.
 */
export const PRODUCE_RECORDS_MAX = 1_000_000;

/** One partition's share of a PRODUCE: a RecordBatch v2 ready for the engine. */
export interface PartitionBatch {
  partition: number;
  batch: Uint8Array;
  recordCount: number;
}

export interface ProducedGroup {
  partition: number;
  baseOffset: number;
  recordCount: number;
}

function readAcks(reader: FrameReader): Acks {
  const acks = reader.i8();
  if (acks !== 0 && acks !== 1 && acks !== -1) reader.fail(`acks must be 0, 1 or -1, got ${acks}`);
  return acks;
}

/** Walks kind-0 records once, checking every length against the frame and that nothing follows them. */
function checkRecords(reader: FrameReader, count: number): void {
  for (let i = 0; i < count; i++) {
    reader.nullableBytes();
    reader.nullableBytes();
    const timestampMs = reader.f64();
    if (timestampMs !== -1 && !(Number.isSafeInteger(timestampMs) && timestampMs >= 0))
      reader.fail(`record ${i}: timestampMs ${timestampMs} is neither -1 nor a time in ms`);
    const headerCount = reader.u16();
    // Header keys are copied into the batch as sent, not decoded: no string per header.
    for (let h = 0; h < headerCount; h++) {
      reader.skip(reader.u16());
      reader.nullableBytes();
    }
  }
  reader.end();
}

/** Decodes a PRODUCE body; kind-0 records stay in the frame as `frameRecords`. */
export function readProduceRequest(reader: FrameReader): ProduceRequest {
  const topic = reader.name('topic');
  const partition = reader.i32();
  if (partition < -1) reader.fail(`partition ${partition} is neither -1 nor a partition`);
  const acks = readAcks(reader);
  const kind = reader.u8();
  const base = { op: 'produce' as const, id: reader.id, topic, acks, records: null };
  if (kind === 1) {
    if (partition < 0) reader.fail('a ready RecordBatch needs a partition');
    const bytes = reader.rest();
    if (bytes.length < BatchHeader.SIZE_BYTES)
      reader.fail(`a RecordBatch of ${bytes.length} bytes is shorter than its header`);
    return { ...base, frameRecords: null, batch: { bytes, partition } };
  }
  if (kind !== 0) reader.fail(`produce kind must be 0 (records) or 1 (batch), got ${kind}`);
  const count = reader.u32();
  if (count === 0 || count > PRODUCE_RECORDS_MAX)
    reader.fail(`record count ${count} is not from 1 to ${PRODUCE_RECORDS_MAX}`);
  const recordsAt = reader.position;
  checkRecords(reader, count);
  return {
    ...base,
    frameRecords: {
      bytes: reader.bytes,
      start: recordsAt,
      count,
      partition: partition < 0 ? null : partition,
    },
    batch: null,
  };
}

// ---- frame records → RecordBatch v2 ------------------------------------------------------------

/** Per-record scratch, reused across frames (the acceptor is one thread and splitting never waits). */
let recordStarts = new Uint32Array(1024);
let recordGroups = new Int32Array(1024);

function ensureScratch(count: number): void {
  if (recordStarts.length >= count) return;
  let size = recordStarts.length;
  while (size < count) size *= 2;
  recordStarts = new Uint32Array(size);
  recordGroups = new Int32Array(size);
}

interface Group {
  partition: number;
  count: number;
  baseTimestampMs: number;
  maxTimestampMs: number;
  sectionBytes: number;
  batch: Uint8Array | null;
  position: number;
}

/** The fields of the record readFields last read: one object, reused for every record. */
const fields = {
  keyAt: 0,
  keyBytes: -1,
  valueAt: 0,
  valueBytes: -1,
  timestampMs: -1,
  headersAt: 0,
  headerCount: 0,
};

/** Reads the record at `at` (already checked) into `fields`; returns the position after it. */
function readFields(view: DataView, at: number): number {
  fields.keyBytes = view.getInt32(at);
  fields.keyAt = at + 4;
  at = fields.keyAt + Math.max(0, fields.keyBytes);
  fields.valueBytes = view.getInt32(at);
  fields.valueAt = at + 4;
  at = fields.valueAt + Math.max(0, fields.valueBytes);
  fields.timestampMs = view.getFloat64(at);
  fields.headerCount = view.getUint16(at + 8);
  at += 10;
  fields.headersAt = at;
  for (let h = 0; h < fields.headerCount; h++) {
    at += 2 + view.getUint16(at);
    at += 4 + Math.max(0, view.getInt32(at));
  }
  return at;
}

function bytesFieldSize(length: number): number {
  return length < 0 ? 1 : varintSizeBytes(length) + length;
}

/** The body size of the record whose fields are in `fields`, and the bytes of its headers section. */
function bodyBytes(view: DataView, timestampDelta: number, offsetDelta: number): number {
  let size = 1 + varintSizeBytes(timestampDelta) + varintSizeBytes(offsetDelta);
  size += bytesFieldSize(fields.keyBytes) + bytesFieldSize(fields.valueBytes);
  size += varintSizeBytes(fields.headerCount);
  let at = fields.headersAt;
  for (let h = 0; h < fields.headerCount; h++) {
    const keyBytes = view.getUint16(at);
    at += 2 + keyBytes;
    const valueBytes = view.getInt32(at);
    at += 4 + Math.max(0, valueBytes);
    size += bytesFieldSize(keyBytes) + bytesFieldSize(valueBytes);
  }
  return size;
}

function copyField(frame: Uint8Array, at: number, length: number, out: Uint8Array, position: number): number {
  position = writeVarint(out, position, length);
  if (length > 0) out.set(frame.subarray(at, at + length), position);
  return position + Math.max(0, length);
}

export interface SplitResult {
  batches: PartitionBatch[];
  /** Each record's index in `batches`; null when there is one batch. Valid until the next split. */
  slots: Int32Array | null;
}

/**
 * Turns checked frame records into one uncompressed RecordBatch v2 per
 * partition. `partitionOf` is asked once per record with a view of its key
 * (null for none). Runs without waiting, so the frame may be a uWS message.
 */
export function splitIntoBatches(
  records: FrameRecords,
  partitionOf: (key: Uint8Array | null) => number,
  nowMs: number,
): SplitResult {
  const { bytes, count } = records;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  ensureScratch(count);
  const groups: Group[] = [];
  const groupOfPartition = new Map<number, number>();
  // Pass 1: each record's start and partition, and each group's timestamps.
  let at = records.start;
  for (let i = 0; i < count; i++) {
    recordStarts[i] = at;
    const next = readFields(view, at);
    const key = fields.keyBytes < 0 ? null : bytes.subarray(fields.keyAt, fields.keyAt + fields.keyBytes);
    const partition = partitionOf(key);
    let index = groupOfPartition.get(partition);
    const timestampMs = fields.timestampMs < 0 ? nowMs : fields.timestampMs;
    if (index === undefined) {
      index = groups.length;
      groupOfPartition.set(partition, index);
      groups.push({
        partition,
        count: 0,
        baseTimestampMs: timestampMs,
        maxTimestampMs: timestampMs,
        sectionBytes: 0,
        batch: null,
        position: BatchHeader.SIZE_BYTES,
      });
    }
    const group = groups[index]!;
    if (timestampMs > group.maxTimestampMs) group.maxTimestampMs = timestampMs;
    recordGroups[i] = index;
    at = next;
  }
  // Pass 2: the size of each group's records section.
  for (let i = 0; i < count; i++) {
    readFields(view, recordStarts[i]!);
    const group = groups[recordGroups[i]!]!;
    const timestampMs = fields.timestampMs < 0 ? nowMs : fields.timestampMs;
    const body = bodyBytes(view, timestampMs - group.baseTimestampMs, group.count++);
    group.sectionBytes += varintSizeBytes(body) + body;
  }
  for (const group of groups) {
    group.batch = new Uint8Array(BatchHeader.SIZE_BYTES + group.sectionBytes);
    group.count = 0;
  }
  // Pass 3: write each record into its group's batch.
  for (let i = 0; i < count; i++) {
    readFields(view, recordStarts[i]!);
    const group = groups[recordGroups[i]!]!;
    const out = group.batch!;
    const timestampDelta = (fields.timestampMs < 0 ? nowMs : fields.timestampMs) - group.baseTimestampMs;
    const offsetDelta = group.count++;
    let position = writeVarint(out, group.position, bodyBytes(view, timestampDelta, offsetDelta));
    out[position++] = 0;
    position = writeVarint(out, position, timestampDelta);
    position = writeVarint(out, position, offsetDelta);
    position = copyField(bytes, fields.keyAt, fields.keyBytes, out, position);
    position = copyField(bytes, fields.valueAt, fields.valueBytes, out, position);
    position = writeVarint(out, position, fields.headerCount);
    let h = fields.headersAt;
    for (let n = 0; n < fields.headerCount; n++) {
      const keyBytes = view.getUint16(h);
      position = copyField(bytes, h + 2, keyBytes, out, position);
      h += 2 + keyBytes;
      const valueBytes = view.getInt32(h);
      position = copyField(bytes, h + 4, valueBytes, out, position);
      h += 4 + Math.max(0, valueBytes);
    }
    group.position = position;
  }
  const batches = groups.map((group) => {
    sealBatchHeader(group.batch!, group.count, group.baseTimestampMs, group.maxTimestampMs);
    return { partition: group.partition, batch: group.batch!, recordCount: group.count };
  });
  return { batches, slots: groups.length > 1 ? recordGroups.subarray(0, count) : null };
}

// ---- the client side: building PRODUCE frames and reading PRODUCED ------------------------------

/** Builds a kind-0 PRODUCE frame record by record, straight into one buffer. */
export class ProduceFrameBuilder {
  private readonly writer: FrameWriter;
  private readonly countAt: number;
  private count = 0;

  constructor(topic: string, partition: number, acks: Acks, capacityBytes = 1024) {
    this.writer = new FrameWriter(WsOpCode.PRODUCE, 0, capacityBytes)
      .str(topic)
      .i32(partition)
      .i8(acks)
      .u8(0);
    this.countAt = this.writer.lengthBytes;
    this.writer.u32(0);
  }

  get recordCount(): number {
    return this.count;
  }

  get sizeBytes(): number {
    return this.writer.lengthBytes;
  }

  add(
    key: Uint8Array | null,
    value: Uint8Array | null,
    timestampMs: number,
    headers: readonly { key: string; value: Uint8Array | null }[] | null,
  ): void {
    this.writer.nullableBytes(key).nullableBytes(value).f64(timestampMs);
    this.writer.u16(headers === null ? 0 : headers.length);
    if (headers !== null)
      for (const header of headers) this.writer.str(header.key).nullableBytes(header.value);
    this.count++;
  }

  /** The frame, with its record count filled in (id 0: the sender stamps its own). */
  finish(): Uint8Array {
    const frame = this.writer.finish();
    new DataView(frame.buffer, frame.byteOffset).setUint32(this.countAt, this.count);
    return frame;
  }
}

/** A kind-1 PRODUCE frame carrying a ready RecordBatch v2. */
export function encodeProduceBatch(
  id: number,
  topic: string,
  partition: number,
  acks: Acks,
  batch: Uint8Array,
): Uint8Array {
  return new FrameWriter(WsOpCode.PRODUCE, id, 32 + topic.length * 3 + batch.length)
    .str(topic)
    .i32(partition)
    .i8(acks)
    .u8(1)
    .raw(batch)
    .finish();
}

export function encodeProduced(
  id: number,
  groups: readonly ProducedGroup[],
  slots: Int32Array | null,
): Uint8Array {
  const writer = new FrameWriter(WsOpCode.PRODUCED, id, 16 + groups.length * 16 + (slots?.length ?? 0) * 2);
  writer.u16(groups.length);
  for (const group of groups) writer.i32(group.partition).f64(group.baseOffset).u32(group.recordCount);
  if (slots === null) return writer.u32(0).finish();
  writer.u32(slots.length);
  for (let i = 0; i < slots.length; i++) writer.u16(slots[i]!);
  return writer.finish();
}

/** Reads a PRODUCED body into each record's partition and offset, in request order. */
export function readProduced(reader: FrameReader): ProducedOffset[] {
  const groupCount = reader.u16();
  if (groupCount === 0) reader.fail('PRODUCED names no partition');
  const groups: ProducedGroup[] = [];
  for (let g = 0; g < groupCount; g++)
    groups.push({ partition: reader.i32(), baseOffset: reader.f64(), recordCount: reader.u32() });
  const slotCount = reader.u32();
  const out: ProducedOffset[] = [];
  const next = groups.map(() => 0);
  if (slotCount === 0) {
    if (groupCount !== 1) reader.fail('PRODUCED with several partitions needs a slot per record');
    const group = groups[0]!;
    for (let i = 0; i < group.recordCount; i++)
      out.push({ partition: group.partition, offset: group.baseOffset < 0 ? -1 : group.baseOffset + i });
    return out;
  }
  for (let i = 0; i < slotCount; i++) {
    const slot = reader.u16();
    const group = groups[slot];
    if (group === undefined) reader.fail(`record ${i} names group ${slot} of ${groupCount}`);
    const offset = group.baseOffset < 0 ? -1 : group.baseOffset + next[slot]!;
    next[slot]!++;
    out.push({ partition: group.partition, offset });
  }
  return out;
}
