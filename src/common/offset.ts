/**
 * A position in a partition's log. Kafka carries offsets as int64; Pyralog
 * keeps them as JavaScript numbers (exact up to 2^53 - 1, which at a million
 * records a second lasts 285 years) branded so that a byte count or a count
 * of records can never be passed where an offset is meant.
 */
export type Offset = number & { readonly __unit: 'offset' };

/** The largest offset a log may reach: the largest exactly representable integer. */
export const OFFSET_MAX = Number.MAX_SAFE_INTEGER as Offset;

/** Kafka's "no offset" sentinel (-1), used for instance for an unknown log start. */
export const OFFSET_NONE = -1 as Offset;

export function asOffset(value: number): Offset {
  if (!Number.isSafeInteger(value) || value < -1) {
    throw new RangeError(`not an offset: ${value}`);
  }
  return value as Offset;
}

/** Reads a big-endian int64 that must hold an offset (or -1) as a number, without allocating a bigint. */
export function readOffset(view: DataView, byteOffset: number): Offset {
  const high = view.getInt32(byteOffset);
  const low = view.getUint32(byteOffset + 4);
  return (high * 0x1_0000_0000 + low) as Offset;
}

/** Writes an offset (or -1) as a big-endian int64, without allocating a bigint. */
export function writeOffset(view: DataView, byteOffset: number, offset: number): void {
  writeInt64(view, byteOffset, offset);
}

/** Writes a safe integer (offsets, timestamps in ms) as a big-endian int64 without a bigint. */
export function writeInt64(view: DataView, byteOffset: number, value: number): void {
  const high = Math.floor(value / 0x1_0000_0000);
  view.setInt32(byteOffset, high);
  view.setUint32(byteOffset + 4, value - high * 0x1_0000_0000);
}

/** Reads a big-endian int64 holding a safe integer (timestamps in ms, offsets). */
export function readInt64(view: DataView, byteOffset: number): number {
  return view.getInt32(byteOffset) * 0x1_0000_0000 + view.getUint32(byteOffset + 4);
}
