import { crc32c as nativeCrc32c } from '@node-rs/crc32';

/**
 * CRC32C (Castagnoli), the checksum RecordBatch v2 uses, computed natively
 * (SSE4.2 where the CPU has it). `@node-rs/crc32` takes a Buffer; a Buffer
 * view over the same memory is made without copying.
 */
export function crc32c(bytes: Uint8Array, start = 0, end = bytes.length): number {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start);
  return nativeCrc32c(buffer) >>> 0;
}
