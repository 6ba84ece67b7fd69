import snappy from '@napi-rs/snappy';
import { assertWithinLimit, corruptSection } from './codec-error.js';

/**
 * Snappy as Kafka uses it. Two framings exist on the wire, and both are read:
 *
 *   raw:    one snappy block: varint32 uncompressedLength, then the block
 *           (librdkafka and kafkajs write this)
 *   xerial: the Java client's framing (snappy-java's SnappyOutputStream):
 *
 *     offset  size  field
 *          0     8  magic 0x82 'S' 'N' 'A' 'P' 'P' 'Y' 0x00
 *          8     4  version (int32 BE, 1)
 *         12     4  minimum compatible version (int32 BE, 1)
 *         16     …  chunks: [int32 BE compressedLength][raw snappy block], repeated
 *
 * Written in the xerial framing with 32 KiB chunks, as the Java client does:
 * every Kafka client reads it (snappy-java's reader, librdkafka and kafkajs's
 * codec all recognise the magic).
 *
 * Each raw block starts with its uncompressed length, so the decompressed
 * size is known exactly before anything is inflated; it is checked against
 * the limit first, which is what bounds a snappy zip bomb.
 */
// A CommonJS module: its functions come from the default export.
const { compressSync, uncompressSync } = snappy;

const XERIAL_MAGIC = [0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00] as const;
const XERIAL_HEADER_BYTES = 16;
const XERIAL_CHUNK_BYTES = 32 * 1024;

function isXerial(section: Uint8Array): boolean {
  if (section.length < XERIAL_HEADER_BYTES) return false;
  for (let i = 0; i < XERIAL_MAGIC.length; i++) if (section[i] !== XERIAL_MAGIC[i]) return false;
  return true;
}

/** The uncompressed length a raw snappy block declares (its leading varint32). */
function rawUncompressedBytes(block: Uint8Array): number {
  let value = 0;
  for (let i = 0; i < 5 && i < block.length; i++) {
    const byte = block[i]!;
    value += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) return value;
  }
  return corruptSection('snappy', 'has no valid length preamble');
}

function uncompressRaw(block: Uint8Array): Uint8Array {
  try {
    return uncompressSync(block as Buffer);
  } catch (error) {
    return corruptSection('snappy', `does not decompress: ${(error as Error).message}`);
  }
}

export function snappyDecompress(section: Uint8Array, maxBytes: number): Uint8Array {
  if (!isXerial(section)) {
    assertWithinLimit('snappy', rawUncompressedBytes(section), maxBytes);
    return uncompressRaw(section);
  }
  const view = new DataView(section.buffer, section.byteOffset, section.byteLength);
  // First pass: the chunks' bounds and declared sizes, so the limit is checked before inflating any.
  let totalBytes = 0;
  let position = XERIAL_HEADER_BYTES;
  while (position < section.length) {
    if (position + 4 > section.length) corruptSection('snappy', 'ends inside a xerial chunk length');
    const chunkBytes = view.getInt32(position);
    const start = position + 4;
    if (chunkBytes < 1 || start + chunkBytes > section.length) {
      corruptSection('snappy', `has a xerial chunk of ${chunkBytes} bytes past its end`);
    }
    totalBytes += rawUncompressedBytes(section.subarray(start, start + chunkBytes));
    assertWithinLimit('snappy', totalBytes, maxBytes);
    position = start + chunkBytes;
  }
  const out = new Uint8Array(totalBytes);
  let written = 0;
  position = XERIAL_HEADER_BYTES;
  while (position < section.length) {
    const chunkBytes = view.getInt32(position);
    const chunk = uncompressRaw(section.subarray(position + 4, position + 4 + chunkBytes));
    out.set(chunk, written);
    written += chunk.length;
    position += 4 + chunkBytes;
  }
  return out;
}

/** Compresses in the xerial framing (see above). */
export function snappyCompress(plain: Uint8Array): Uint8Array {
  const chunks: Uint8Array[] = [];
  let totalBytes = XERIAL_HEADER_BYTES;
  for (let start = 0; start < plain.length || start === 0; start += XERIAL_CHUNK_BYTES) {
    const chunk = compressSync(plain.subarray(start, Math.min(plain.length, start + XERIAL_CHUNK_BYTES)));
    chunks.push(chunk);
    totalBytes += 4 + chunk.length;
    if (plain.length === 0) break;
  }
  const out = new Uint8Array(totalBytes);
  const view = new DataView(out.buffer);
  out.set(XERIAL_MAGIC, 0);
  view.setInt32(8, 1);
  view.setInt32(12, 1);
  let position = XERIAL_HEADER_BYTES;
  for (const chunk of chunks) {
    view.setInt32(position, chunk.length);
    out.set(chunk, position + 4);
    position += 4 + chunk.length;
  }
  return out;
}

/** Compresses as one raw block (librdkafka's and kafkajs's form); for tests of the raw read path. */
export function snappyCompressRaw(plain: Uint8Array): Uint8Array {
  return compressSync(plain);
}
