import { describe, expect, it } from 'vitest';
import { crc32c } from '../../src/record/crc32c.js';

/**
 * RecordBatch v2 checksums use CRC32C (Castagnoli). The check values are the
 * ones RFC 3720 (iSCSI), appendix B.4, lists for CRC32C, and the standard
 * "123456789" check value of the Castagnoli polynomial.
 */
describe('crc32c', () => {
  it('matches the catalogue check value for "123456789"', () => {
    expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe3069283);
  });

  it('matches RFC 3720 B.4 for 32 bytes of zeros', () => {
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
  });

  it('matches RFC 3720 B.4 for 32 bytes of 0xff', () => {
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
  });

  it('matches RFC 3720 B.4 for 32 incrementing bytes', () => {
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
  });

  it('covers only the range it is given', () => {
    const bytes = new Uint8Array(40).fill(0xee);
    bytes.fill(0, 4, 36);
    expect(crc32c(bytes, 4, 36)).toBe(0x8a9136aa);
  });
});
