import { compressFrameSync, decompressFrameSync } from 'lz4-napi';
import { assertWithinLimit, corruptSection } from './codec-error.js';

/**
 * lz4 as Kafka uses it: one LZ4 frame (the LZ4 frame format; KIP-57 fixed the
 * header checksum the first Kafka versions computed wrongly, and magic-2
 * batches always carry the correct one). Little-endian throughout:
 *
 *   offset  size  field
 *        0     4  magic 0x184D2204
 *        4     1  FLG: version (bits 7-6, must be 01), block independence (5),
 *                 block checksum (4), content size (3), content checksum (2), dictId (0)
 *        5     1  BD: block max size code (bits 6-4: 4 = 64 KiB … 7 = 4 MiB)
 *        6    0|8 content size, when FLG says so
 *         …   0|4 dictionary id, when FLG says so
 *         …     1 header checksum
 *         …     …  blocks: [u32 size, top bit = stored uncompressed][data][u32 checksum if FLG says so]
 *         …     4  end mark 0, then a u32 content checksum if FLG says so
 *
 * Before anything is inflated the frame is walked block by block: a stored
 * block inflates to its own size and a compressed one to at most the block
 * max size, so the sum bounds the output and is checked against the limit.
 * Written by lz4_flex with its defaults: independent 64 KiB blocks, no
 * checksums beyond the header's, which Kafka's Java reader and librdkafka accept.
 */
const FRAME_MAGIC = 0x184d2204;

function blockMaxBytes(code: number): number {
  switch (code) {
    case 4:
      return 64 * 1024;
    case 5:
      return 256 * 1024;
    case 6:
      return 1024 * 1024;
    case 7:
      return 4 * 1024 * 1024;
    default:
      return corruptSection('lz4', `has an invalid block size code ${code}`);
  }
}

/** Walks one LZ4 frame covering all of `section`; returns an upper bound on its decompressed bytes. */
export function lz4DecompressedBound(section: Uint8Array): number {
  const view = new DataView(section.buffer, section.byteOffset, section.byteLength);
  if (section.length < 7 || view.getUint32(0, true) !== FRAME_MAGIC) {
    corruptSection('lz4', 'does not start with an LZ4 frame');
  }
  const flg = section[4]!;
  if (flg >> 6 !== 1) corruptSection('lz4', `has frame version ${flg >> 6}, only 1 exists`);
  const blockChecksums = (flg & 0x10) !== 0;
  const contentChecksum = (flg & 0x04) !== 0;
  const maxBlockBytes = blockMaxBytes((section[5]! >> 4) & 0x07);
  let position = 6;
  if ((flg & 0x08) !== 0) position += 8;
  if ((flg & 0x01) !== 0) position += 4;
  position += 1; // header checksum
  let boundBytes = 0;
  for (;;) {
    if (position + 4 > section.length) corruptSection('lz4', 'ends before its end mark');
    const word = view.getUint32(position, true);
    position += 4;
    if (word === 0) break;
    const stored = word >>> 31 === 1;
    const blockBytes = word & 0x7fffffff;
    if (blockBytes > maxBlockBytes) corruptSection('lz4', `has a block of ${blockBytes} bytes`);
    position += blockBytes + (blockChecksums ? 4 : 0);
    boundBytes += stored ? blockBytes : maxBlockBytes;
  }
  if (contentChecksum) position += 4;
  if (position !== section.length) {
    corruptSection('lz4', `frame ends at byte ${position} of ${section.length}`);
  }
  return boundBytes;
}

export function lz4Decompress(section: Uint8Array, maxBytes: number): Uint8Array {
  assertWithinLimit('lz4', lz4DecompressedBound(section), maxBytes);
  try {
    return decompressFrameSync(section as Buffer);
  } catch (error) {
    return corruptSection('lz4', `does not decompress: ${(error as Error).message}`);
  }
}

export function lz4Compress(plain: Uint8Array): Uint8Array {
  return compressFrameSync(plain as Buffer);
}
