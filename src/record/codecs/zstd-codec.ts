import { compress, decompress } from 'zstd-napi';
import { assertWithinLimit, corruptSection } from './codec-error.js';

/**
 * zstd as Kafka uses it: one or more Zstandard frames (RFC 8878),
 * little-endian:
 *
 *   frame:  magic 0xFD2FB528, frame header (descriptor byte, optional window
 *           descriptor, dictionary id, content size), blocks, optional u32 checksum
 *   block:  3-byte header: last-block (bit 0), type (bits 1-2: 0 raw, 1 RLE,
 *           2 compressed, 3 reserved), size (bits 3-23)
 *   skippable frame: magic 0x184D2A5?, u32 size, that many bytes
 *
 * Java producers stream their frames and do not always write the content
 * size, so the bound on the output comes from the blocks: a raw or RLE block
 * regenerates exactly its size field, a compressed one at most 128 KiB (the
 * format's block maximum). The bound is checked against the limit before
 * anything is inflated. Written at level 3 (zstd's and Kafka's default).
 */
const FRAME_MAGIC = 0xfd2fb528;
const BLOCK_MAX_BYTES = 128 * 1024;

/** Walks every frame of `section`; returns an upper bound on its decompressed bytes. */
export function zstdDecompressedBound(section: Uint8Array): number {
  const view = new DataView(section.buffer, section.byteOffset, section.byteLength);
  let position = 0;
  let boundBytes = 0;
  if (section.length === 0) corruptSection('zstd', 'is empty');
  while (position < section.length) {
    if (position + 4 > section.length) corruptSection('zstd', 'ends inside a frame magic');
    const magic = view.getUint32(position, true);
    if (magic >>> 4 === 0x184d2a5) {
      if (position + 8 > section.length) corruptSection('zstd', 'ends inside a skippable frame');
      position += 8 + view.getUint32(position + 4, true);
      continue;
    }
    if (magic !== FRAME_MAGIC) corruptSection('zstd', `has no frame magic at byte ${position}`);
    position += 4;
    if (position >= section.length) corruptSection('zstd', 'ends inside a frame header');
    const descriptor = section[position]!;
    position += 1;
    const contentSizeFlag = descriptor >> 6;
    const singleSegment = (descriptor & 0x20) !== 0;
    const contentChecksum = (descriptor & 0x04) !== 0;
    const dictionaryIdBytes = [0, 1, 2, 4][descriptor & 0x03]!;
    if (!singleSegment) position += 1; // window descriptor
    position += dictionaryIdBytes;
    position += contentSizeFlag === 0 ? (singleSegment ? 1 : 0) : [0, 2, 4, 8][contentSizeFlag]!;
    for (;;) {
      if (position + 3 > section.length) corruptSection('zstd', 'ends inside a block header');
      const header = section[position]! | (section[position + 1]! << 8) | (section[position + 2]! << 16);
      position += 3;
      const last = (header & 1) !== 0;
      const type = (header >> 1) & 0x03;
      const sizeBytes = header >>> 3;
      if (type === 3) corruptSection('zstd', 'has a reserved block type');
      if (type === 1) {
        // RLE: one byte repeated sizeBytes times.
        position += 1;
        boundBytes += sizeBytes;
      } else {
        position += sizeBytes;
        boundBytes += type === 0 ? sizeBytes : BLOCK_MAX_BYTES;
      }
      if (position > section.length) corruptSection('zstd', 'has a block past its end');
      if (last) break;
    }
    if (contentChecksum) position += 4;
  }
  if (position !== section.length) corruptSection('zstd', 'has a frame past its end');
  return boundBytes;
}

export function zstdDecompress(section: Uint8Array, maxBytes: number): Uint8Array {
  assertWithinLimit('zstd', zstdDecompressedBound(section), maxBytes);
  try {
    return decompress(section);
  } catch (error) {
    return corruptSection('zstd', `does not decompress: ${(error as Error).message}`);
  }
}

export function zstdCompress(plain: Uint8Array): Uint8Array {
  return compress(plain, { compressionLevel: 3 });
}
