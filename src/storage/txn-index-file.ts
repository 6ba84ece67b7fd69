import { crc32c } from '../record/crc32c.js';
import { segmentPath, TXN_INDEX_SUFFIX } from './segment-files.js';
import { storageIo } from './storage-io.js';
import { writeFileSynced } from './write-at.js';

/**
 * A segment's transaction index (`<base>.txnindex`, Kafka's `.txnindex` idea
 * in our own format): the transactions aborted by markers inside the segment,
 * and the transactions open where the segment starts and where it ends, so
 * recovery can resume from any segment without reading the log before it.
 *
 * Layout, big-endian; offsets and producer ids as f64 (exact safe integers,
 * like the rings):
 *
 *    0  u32  magic 0x50595458 ("PYTX")
 *    4  u16  version (1)
 *    6  u16  reserved (0)
 *    8  f64  baseOffset    the segment's
 *   16  f64  endOffset     the segment's next offset when this was written
 *   24  u32  openAtStartCount
 *   28  u32  openAtEndCount
 *   32  u32  abortedCount
 *   36  u32  reserved (0)
 *   40  …    openAtStart: (f64 producerId, f64 firstOffset) × openAtStartCount
 *        …    openAtEnd:   (f64 producerId, f64 firstOffset) × openAtEndCount
 *        …    aborted:     (f64 producerId, f64 firstOffset, f64 lastOffset) × abortedCount,
 *                          in marker (lastOffset) order
 *   end-4 u32 CRC32C of every byte before it
 *
 * Written whole and synced (writeFileSynced) when its segment rolls and, for
 * the active segment, at a clean close. A torn or damaged file fails its CRC
 * and counts as missing; a file whose endOffset is not the segment's next
 * offset (appends after it was written, or a log cut by recovery) is trusted
 * only for its openAtStart. Either way recovery rescans the log from there.
 * Removed with its segment (segment.ts).
 */
export interface OpenTransaction {
  producerId: number;
  firstOffset: number;
}

export interface AbortedEntry {
  producerId: number;
  firstOffset: number;
  lastOffset: number;
}

export interface TxnIndexContent {
  baseOffset: number;
  endOffset: number;
  openAtStart: OpenTransaction[];
  openAtEnd: OpenTransaction[];
  aborted: AbortedEntry[];
}

const MAGIC = 0x50595458;
const VERSION = 1;
const HEADER_BYTES = 40;
const OPEN_ENTRY_BYTES = 16;
const ABORTED_ENTRY_BYTES = 24;
const CRC_BYTES = 4;

export function txnIndexPath(dir: string, baseOffset: number): string {
  return segmentPath(dir, baseOffset, TXN_INDEX_SUFFIX);
}

export function encodeTxnIndex(content: TxnIndexContent): Uint8Array {
  const sizeBytes =
    HEADER_BYTES +
    (content.openAtStart.length + content.openAtEnd.length) * OPEN_ENTRY_BYTES +
    content.aborted.length * ABORTED_ENTRY_BYTES +
    CRC_BYTES;
  const bytes = new Uint8Array(sizeBytes);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, MAGIC);
  view.setUint16(4, VERSION);
  view.setFloat64(8, content.baseOffset);
  view.setFloat64(16, content.endOffset);
  view.setUint32(24, content.openAtStart.length);
  view.setUint32(28, content.openAtEnd.length);
  view.setUint32(32, content.aborted.length);
  let p = HEADER_BYTES;
  for (const list of [content.openAtStart, content.openAtEnd]) {
    for (const open of list) {
      view.setFloat64(p, open.producerId);
      view.setFloat64(p + 8, open.firstOffset);
      p += OPEN_ENTRY_BYTES;
    }
  }
  for (const entry of content.aborted) {
    view.setFloat64(p, entry.producerId);
    view.setFloat64(p + 8, entry.firstOffset);
    view.setFloat64(p + 16, entry.lastOffset);
    p += ABORTED_ENTRY_BYTES;
  }
  view.setUint32(p, crc32c(bytes, 0, p));
  return bytes;
}

/** The file's content, or null when it is missing, torn, damaged or of another segment. */
export function decodeTxnIndex(bytes: Uint8Array, baseOffset: number): TxnIndexContent | null {
  if (bytes.length < HEADER_BYTES + CRC_BYTES) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0) !== MAGIC || view.getUint16(4) !== VERSION) return null;
  const startCount = view.getUint32(24);
  const endCount = view.getUint32(28);
  const abortedCount = view.getUint32(32);
  const expectedBytes =
    HEADER_BYTES +
    (startCount + endCount) * OPEN_ENTRY_BYTES +
    abortedCount * ABORTED_ENTRY_BYTES +
    CRC_BYTES;
  if (bytes.length !== expectedBytes) return null;
  const crcAt = bytes.length - CRC_BYTES;
  if (view.getUint32(crcAt) !== crc32c(bytes, 0, crcAt)) return null;
  if (view.getFloat64(8) !== baseOffset) return null;
  let p = HEADER_BYTES;
  const readOpen = (count: number): OpenTransaction[] => {
    const out: OpenTransaction[] = [];
    for (let i = 0; i < count; i++) {
      out.push({ producerId: view.getFloat64(p), firstOffset: view.getFloat64(p + 8) });
      p += OPEN_ENTRY_BYTES;
    }
    return out;
  };
  const openAtStart = readOpen(startCount);
  const openAtEnd = readOpen(endCount);
  const aborted: AbortedEntry[] = [];
  for (let i = 0; i < abortedCount; i++) {
    aborted.push({
      producerId: view.getFloat64(p),
      firstOffset: view.getFloat64(p + 8),
      lastOffset: view.getFloat64(p + 16),
    });
    p += ABORTED_ENTRY_BYTES;
  }
  return { baseOffset, endOffset: view.getFloat64(16), openAtStart, openAtEnd, aborted };
}

/** Writes (replaces) a segment's transaction index, synced. */
export function writeTxnIndex(dir: string, content: TxnIndexContent): void {
  writeFileSynced(txnIndexPath(dir, content.baseOffset), encodeTxnIndex(content));
}

/** A segment's transaction index as found on disk: none written, unreadable, or its content. */
export type TxnIndexRead = 'missing' | 'damaged' | TxnIndexContent;

export function readTxnIndex(dir: string, baseOffset: number): TxnIndexRead {
  let bytes: Uint8Array;
  try {
    bytes = storageIo().readFile(txnIndexPath(dir, baseOffset));
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'damaged';
  }
  return decodeTxnIndex(bytes, baseOffset) ?? 'damaged';
}
