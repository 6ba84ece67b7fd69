import { isPowerOfTwo } from '../common/power-of-two.js';
/**
 * The byte layout of a single-producer single-consumer ring in one
 * SharedArrayBuffer. Every shared slot is named here and nowhere else.
 *
 *   byte    0  i32  writeIndex        producer publishes; consumer reads
 *   byte   64  i32  readIndex         consumer releases; producer reads
 *   byte  128  i32  consumerSleeping  1 while the consumer waits for data
 *   byte  192  i32  producerWaiting   1 while the producer waits for space
 *   byte  256  i32  dataBytes         capacity of the data region (power of two)
 *   byte  260  i32  notifyCount       doorbell rings so far (statistics, tests)
 *   byte  512  …    data region, `dataBytes` long
 *
 * Each control word sits on its own 64-byte cache line so the producer's and
 * the consumer's stores never contend for one line (no false sharing).
 *
 * Indices count bytes since the ring was created and wrap modulo 2^32 (kept
 * as int32; differences are taken with `>>> 0`), so a ring survives any
 * amount of traffic. A position in the data region is `index & (dataBytes - 1)`.
 *
 * A record in the data region, padded to a multiple of 8 bytes:
 *
 *   0  u32  payloadBytes   WRAP_MARKER: the rest of the region up to its end is
 *                          padding, and the next record starts at position 0
 *   4  u16  type
 *   6  u16  flags
 *   8  u32  correlationId
 *  12  u32  reserved (0)
 *  16  …    payload
 *
 * The header is 16 bytes rather than 12 so that every payload starts 8-byte
 * aligned: V8 copies into a SharedArrayBuffer with relaxed atomic word moves
 * only when source and target are aligned, and byte by byte otherwise, which
 * measured 7x slower for 64 KiB payloads.
 *
 * Integers in record headers are big-endian like every other wire format here.
 */
export const RingSlot = {
  WRITE_INDEX: 0,
  READ_INDEX: 16,
  CONSUMER_SLEEPING: 32,
  PRODUCER_WAITING: 48,
  DATA_BYTES: 64,
  NOTIFY_COUNT: 65,
} as const;

export const RING_CONTROL_BYTES = 512;
/**
 * Polls of a control word before a blocking wait sleeps. An Atomics.load in a
 * loop costs about 15 ns on the 2-core bench machine, so this is some 60-70 µs:
 * longer than the gap between two publishes of a streaming producer (a 64 KiB
 * copy takes about 6 µs), so a consumer that keeps up does not sleep and the
 * producer rings no doorbell. Only the blocking waits poll, and only where a
 * thread has a core to itself (benchmarks, tests): the engine's waits do not
 * (async ones, and an idle shard's blocking wait with spinPolls 0).
 */
export const SPIN_POLLS = 4000;
export const RECORD_HEADER_BYTES = 16;
export const RECORD_ALIGN_BYTES = 8;
export const WRAP_MARKER = 0xffff_ffff;
export const RING_DATA_BYTES_MIN = 4096;
export const RING_DATA_BYTES_MAX = 1 << 30;

export const RecordField = {
  PAYLOAD_BYTES: 0,
  TYPE: 4,
  FLAGS: 6,
  CORRELATION_ID: 8,
  RESERVED: 12,
} as const;

/** Bytes a record with `payloadBytes` of payload occupies in the data region. */
export function recordBytes(payloadBytes: number): number {
  return (RECORD_HEADER_BYTES + payloadBytes + RECORD_ALIGN_BYTES - 1) & ~(RECORD_ALIGN_BYTES - 1);
}

/**
 * Largest payload a ring of `dataBytes` takes. Half the region: a record that
 * does not fit before the end wraps to position 0 and wastes the rest, so only
 * a record of at most half the region is sure to fit once the ring drains.
 */
export function maxPayloadBytesFor(dataBytes: number): number {
  return dataBytes / 2 - RECORD_HEADER_BYTES;
}

/** One record as the consumer sees it; filled in place by `RingReader.tryRead`. */
export interface RingRecord {
  type: number;
  flags: number;
  correlationId: number;
  /** Where the payload starts in the reader's `bytes` / `view`. */
  payloadPosition: number;
  payloadBytes: number;
}

/** Allocates a ring: control words and a data region of `dataBytes` (a power of two) in one SharedArrayBuffer. */
export function createRingBuffer(dataBytes: number): SharedArrayBuffer {
  if (!isPowerOfTwo(dataBytes) || dataBytes < RING_DATA_BYTES_MIN || dataBytes > RING_DATA_BYTES_MAX) {
    throw new RangeError(
      `ring data bytes must be a power of two from ${RING_DATA_BYTES_MIN} to ${RING_DATA_BYTES_MAX}, got ${dataBytes}`,
    );
  }
  const buffer = new SharedArrayBuffer(RING_CONTROL_BYTES + dataBytes);
  new Int32Array(buffer)[RingSlot.DATA_BYTES] = dataBytes;
  return buffer;
}

/** Test hook: a ring whose indices start just below the 2^32 wrap, to prove wrapping indices work. */
export function createRingBufferNearIndexWrap(dataBytes: number): SharedArrayBuffer {
  const buffer = createRingBuffer(dataBytes);
  const control = new Int32Array(buffer);
  const start = (2 ** 32 - dataBytes * 3) | 0;
  control[RingSlot.WRITE_INDEX] = start;
  control[RingSlot.READ_INDEX] = start;
  return buffer;
}

/** The parts of a ring both sides need, checked once. */
export interface RingViews {
  control: Int32Array;
  bytes: Uint8Array;
  view: DataView;
  dataBytes: number;
  mask: number;
}

export function ringViews(buffer: SharedArrayBuffer): RingViews {
  const control = new Int32Array(buffer, 0, RING_CONTROL_BYTES / 4);
  const dataBytes = control[RingSlot.DATA_BYTES]!;
  if (!isPowerOfTwo(dataBytes) || buffer.byteLength !== RING_CONTROL_BYTES + dataBytes) {
    throw new RangeError('not a ring buffer: its data size slot disagrees with its length');
  }
  return {
    control,
    bytes: new Uint8Array(buffer, RING_CONTROL_BYTES, dataBytes),
    view: new DataView(buffer, RING_CONTROL_BYTES, dataBytes),
    dataBytes,
    mask: dataBytes - 1,
  };
}
