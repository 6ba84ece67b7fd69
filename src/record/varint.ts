/**
 * Zig-zag varints as RecordBatch v2 records use them (Protocol Buffers'
 * encoding): 7 bits a byte, low group first, high bit set on all but the last
 * byte. Varints carry int32 values (up to 5 bytes); varlongs carry int64
 * values, here limited to the safe-integer range (up to 8 bytes used).
 *
 * Reads return the value and leave the new position in `cursor.position`, so a
 * hot loop reuses one cursor object instead of allocating a result per field.
 */
export interface Cursor {
  position: number;
}

export class VarintError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = 'VarintError';
  }
}

/** Bytes a zig-zag varint of `value` takes (int32 or safe-integer varlong). */
export function varintSizeBytes(value: number): number {
  let zigzag = value >= 0 ? value * 2 : -value * 2 - 1;
  let size = 1;
  while (zigzag >= 0x80) {
    zigzag = Math.floor(zigzag / 128);
    size++;
  }
  return size;
}

/** Writes a zig-zag varint (int32 or safe-integer varlong) at `position`; returns the position after it. */
export function writeVarint(bytes: Uint8Array, position: number, value: number): number {
  let zigzag = value >= 0 ? value * 2 : -value * 2 - 1;
  while (zigzag >= 0x80) {
    bytes[position++] = (zigzag & 0x7f) | 0x80;
    zigzag = Math.floor(zigzag / 128);
  }
  bytes[position++] = zigzag;
  return position;
}

/**
 * Reads a zig-zag varint of at most `maxBytes` bytes (5 for varint, 10 for
 * varlong) that must end before `limit`. Throws `VarintError` on truncation or
 * a value outside the safe-integer range.
 */
export function readVarint(bytes: Uint8Array, cursor: Cursor, limit: number, maxBytes = 10): number {
  let position = cursor.position;
  let zigzag = 0;
  let multiplier = 1;
  for (let i = 0; i < maxBytes; i++) {
    if (position >= limit) throw new VarintError('varint runs past the end of its buffer');
    const byte = bytes[position++]!;
    zigzag += (byte & 0x7f) * multiplier;
    if ((byte & 0x80) === 0) {
      if (zigzag > Number.MAX_SAFE_INTEGER) throw new VarintError('varint is outside the safe integer range');
      cursor.position = position;
      // Zig-zag decode without 32-bit operators, which would truncate varlongs.
      return zigzag % 2 === 0 ? zigzag / 2 : -(zigzag + 1) / 2;
    }
    multiplier *= 128;
  }
  throw new VarintError(`varint is longer than ${maxBytes} bytes`);
}
