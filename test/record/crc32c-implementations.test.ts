import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32c, crc32cImplementation, crc32cNodeRs } from '../../src/record/crc32c.js';

/** Bit-at-a-time CRC32C, the definition itself: slow and obviously right. */
function referenceCrc32c(bytes: Uint8Array, start: number, end: number): number {
  let crc = 0xffffffff;
  for (let index = start; index < end; index++) {
    crc ^= bytes[index]!;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function cpuCanFold(): boolean {
  if (process.platform !== 'linux' || process.arch !== 'x64') return false;
  const flags = readFileSync('/proc/cpuinfo', 'utf8');
  return /\bpclmulqdq\b/.test(flags) && /\bsse4_2\b/.test(flags);
}

describe('crc32c implementations', () => {
  it('uses the folding addon where the CPU can fold (npm install builds it)', () => {
    expect(crc32cImplementation).toBe(cpuCanFold() ? 'native-pclmul' : '@node-rs/crc32');
  });

  it('falls back to @node-rs/crc32 when told to (as where the addon did not build), with the same checksums', () => {
    const script = [
      "const m = await import('./src/record/crc32c.ts');",
      "console.log(m.crc32cImplementation, m.crc32c(new TextEncoder().encode('123456789')).toString(16));",
    ].join(' ');
    const output = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      env: { ...process.env, PYRALOG_CRC32C: '@node-rs/crc32' },
      encoding: 'utf8',
    });
    expect(output.trim()).toBe('@node-rs/crc32 e3069283');
  });

  it('agrees with the bit-at-a-time definition on any bytes and range', () => {
    const rangeOfBytes = fc
      .uint8Array({ minLength: 0, maxLength: 700 })
      .chain((bytes) =>
        fc
          .tuple(fc.nat(bytes.length), fc.nat(bytes.length))
          .map(([a, b]) => ({ bytes, start: Math.min(a, b), end: Math.max(a, b) })),
      );
    fc.assert(
      fc.property(rangeOfBytes, ({ bytes, start, end }) => {
        const expected = referenceCrc32c(bytes, start, end);
        expect(crc32c(bytes, start, end)).toBe(expected);
        expect(crc32cNodeRs(bytes, start, end)).toBe(expected);
      }),
      { numRuns: 2000 },
    );
  });

  it('agrees on every length around the 64-byte fold boundaries and on views into a larger buffer', () => {
    const backing = Uint8Array.from({ length: 5000 }, (_, i) => (i * 2654435761) >>> 24);
    for (let length = 0; length <= 4100; length += length < 300 ? 1 : 61) {
      const view = backing.subarray(7, 7 + length + 9);
      expect(crc32c(view, 3, 3 + length)).toBe(referenceCrc32c(view, 3, 3 + length));
    }
  });

  it('rejects a range outside the view or a view that is not bytes', () => {
    const bytes = new Uint8Array(16);
    for (const checksum of [crc32c, crc32cNodeRs]) {
      expect(() => checksum(bytes, 4, 17)).toThrow(RangeError);
      expect(() => checksum(bytes, 5, 4)).toThrow(RangeError);
      expect(() => checksum(bytes, -1, 4)).toThrow(RangeError);
      expect(() => checksum(bytes, 0.5, 4)).toThrow(RangeError);
      expect(() => checksum(new Uint16Array(4) as unknown as Uint8Array, 0, 4)).toThrow(TypeError);
    }
  });
});
