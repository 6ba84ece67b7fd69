/**
 * The binary WebSocket protocol, version 1: the frame header, the op codes,
 * and the bounds-checked reader and writer every frame family uses
 * (docs/websocket.md has worked examples).
 *
 * Every frame is one binary WebSocket message. Integers are big-endian.
 * `str` is a u16 byte length then UTF-8. Offsets are f64 holding a whole
 * number (exact up to 2^53 - 1, which a browser reads with one getFloat64);
 * a decoder refuses any other value. `bytes` is an i32 length (-1: null)
 * then the bytes.
 *
 * Frame header (8 bytes), both directions:
 *   0 u8  version    1
 *   1 u8  op         requests 0x01-0x7F, replies and pushes 0x80-0xFF
 *   2 u16 flags      0 (reserved)
 *   4 u32 id         the request id, echoed in its reply; the subscription id on pushes
 *
 * Ops, with the file that holds each family's body layout:
 *   0x01 PRODUCE      → 0x81 PRODUCED         produce-frame.ts
 *   0x02 FETCH        → 0x82 FETCHED          fetch-frame.ts
 *                       0x90 RECORDS (push)   fetch-frame.ts
 *   0x03 SUBSCRIBE    → 0x83 SUBSCRIBED       subscribe-frame.ts
 *   0x04 UNSUBSCRIBE  → 0x84 OK               subscribe-frame.ts, status-frame.ts
 *   0x05 COMMIT       → 0x84 OK               consumer-offset-frame.ts
 *   0x06 OFFSET       → 0x86 OFFSET           consumer-offset-frame.ts
 *   0x07 ARROW        → 0x87 ARROW            arrow-frame.ts
 *   any request       → 0xFF ERROR            status-frame.ts
 */
import { WsRequestError } from './ws-request.js';

export const WS_PROTOCOL_VERSION = 1;
export const FRAME_HEADER_BYTES = 8;

export const WsOpCode = {
  PRODUCE: 0x01,
  FETCH: 0x02,
  SUBSCRIBE: 0x03,
  UNSUBSCRIBE: 0x04,
  COMMIT: 0x05,
  OFFSET: 0x06,
  ARROW: 0x07,
  PRODUCED: 0x81,
  FETCHED: 0x82,
  SUBSCRIBED: 0x83,
  OK: 0x84,
  OFFSET_REPLY: 0x86,
  ARROW_REPLY: 0x87,
  RECORDS: 0x90,
  ERROR: 0xff,
} as const;

/**
 * A frame that breaks the layout; the server answers it with a BAD_REQUEST
 * error frame. It carries no stack trace: it is an answer to a client, not a
 * bug, and capturing a stack costs ten times the rest of a refusal, which
 * matters when a client floods the acceptor with garbage.
 */
export class FrameError extends WsRequestError {
  override name = 'FrameError';
}

export interface FrameHeader {
  op: number;
  id: number;
}

const decoder = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

/** Reads the header of a frame; throws FrameError when it is short or of another version. */
export function readFrameHeader(bytes: Uint8Array): FrameHeader {
  if (bytes.length < FRAME_HEADER_BYTES)
    throw new FrameError(`frame of ${bytes.length} bytes is shorter than its 8-byte header`, 0);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const id = view.getUint32(4);
  const version = view.getUint8(0);
  if (version !== WS_PROTOCOL_VERSION)
    throw new FrameError(`protocol version ${version} is not ${WS_PROTOCOL_VERSION}`, id);
  return { op: view.getUint8(1), id };
}

/** Writes a request id into a frame built earlier (the client numbers frames as it sends them). */
export function stampFrameId(frame: Uint8Array, id: number): void {
  new DataView(frame.buffer, frame.byteOffset, FRAME_HEADER_BYTES).setUint32(4, id);
}

/** Reads a frame's body in place. Every read checks bounds; a frame that lies gets a FrameError. */
export class FrameReader {
  private readonly view: DataView;
  private at = FRAME_HEADER_BYTES;

  constructor(
    readonly bytes: Uint8Array,
    /** The frame's id, for the errors this reader raises. */
    readonly id: number,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Where the next read starts, from the start of the frame. */
  get position(): number {
    return this.at;
  }

  /** Bytes left after the fields read so far (optional trailing fields are present when > 0). */
  get remaining(): number {
    return this.bytes.length - this.at;
  }

  /** An optional trailing u8 isolation level: absent 0 (read_uncommitted), or 0 / 1 (read_committed). */
  isolation(): 0 | 1 {
    if (this.remaining === 0) return 0;
    const level = this.u8();
    if (level !== 0 && level !== 1)
      this.fail(`isolation must be 0 (read_uncommitted) or 1 (read_committed), got ${level}`);
    return level;
  }

  private need(count: number): number {
    const at = this.at;
    if (at + count > this.bytes.length)
      throw new FrameError(
        `frame ends at byte ${this.bytes.length}, ${count} more bytes needed at ${at}`,
        this.id,
      );
    this.at += count;
    return at;
  }

  fail(message: string): never {
    throw new FrameError(message, this.id);
  }

  u8(): number {
    return this.view.getUint8(this.need(1));
  }
  i8(): number {
    return this.view.getInt8(this.need(1));
  }
  u16(): number {
    return this.view.getUint16(this.need(2));
  }
  i16(): number {
    return this.view.getInt16(this.need(2));
  }
  u32(): number {
    return this.view.getUint32(this.need(4));
  }
  i32(): number {
    return this.view.getInt32(this.need(4));
  }
  f64(): number {
    return this.view.getFloat64(this.need(8));
  }

  /** An i32 partition number that must be >= 0. */
  partition(): number {
    const partition = this.i32();
    if (partition < 0) this.fail(`partition ${partition} is negative`);
    return partition;
  }

  /** An f64 offset that must be a whole number >= `min` (0, or -1 where -1 means "none"). */
  offset(what: string, min = 0): number {
    const offset = this.f64();
    if (!Number.isSafeInteger(offset) || offset < min)
      this.fail(`${what} ${offset} is not a whole number >= ${min}`);
    return offset;
  }

  str(): string {
    const length = this.u16();
    const at = this.need(length);
    try {
      return decoder.decode(this.bytes.subarray(at, at + length));
    } catch {
      return this.fail(`string at byte ${at} is not UTF-8`);
    }
  }

  skip(count: number): void {
    this.need(count);
  }

  /** A str that must not be empty (topic and consumer names). */
  name(what: string): string {
    const name = this.str();
    if (name.length === 0) this.fail(`${what} is empty`);
    return name;
  }

  /** i32 length (-1: null) then bytes, as a view into the frame. Copy it to keep it past the frame's life. */
  nullableBytes(): Uint8Array | null {
    const length = this.i32();
    if (length < -1) this.fail(`byte length ${length} is negative`);
    if (length === -1) return null;
    const at = this.need(length);
    return this.bytes.subarray(at, at + length);
  }

  /** The bytes from here to the end of the frame, as a view. */
  rest(): Uint8Array {
    const at = this.at;
    this.at = this.bytes.length;
    return this.bytes.subarray(at);
  }

  /** Refuses bytes after the last field, so that a frame of another layout is not half understood. */
  end(): void {
    if (this.at !== this.bytes.length) this.fail(`${this.bytes.length - this.at} bytes after the last field`);
  }
}

/** Builds a frame: the header, then what the caller writes. The buffer grows as needed. */
export class FrameWriter {
  private buffer: Uint8Array;
  private view: DataView;
  private position = 0;

  constructor(op: number, id: number, capacityBytes = 64) {
    this.buffer = new Uint8Array(Math.max(capacityBytes, FRAME_HEADER_BYTES));
    this.view = new DataView(this.buffer.buffer);
    this.u8(WS_PROTOCOL_VERSION).u8(op).u16(0).u32(id);
  }

  /** Claims `count` bytes; may replace the buffer and view, so callers take the position first. */
  private claim(count: number): number {
    if (this.position + count > this.buffer.length) {
      const grown = new Uint8Array(Math.max(this.buffer.length * 2, this.position + count));
      grown.set(this.buffer.subarray(0, this.position));
      this.buffer = grown;
      this.view = new DataView(grown.buffer);
    }
    const at = this.position;
    this.position += count;
    return at;
  }

  get lengthBytes(): number {
    return this.position;
  }

  u8(value: number): this {
    const at = this.claim(1);
    this.view.setUint8(at, value);
    return this;
  }
  i8(value: number): this {
    const at = this.claim(1);
    this.view.setInt8(at, value);
    return this;
  }
  u16(value: number): this {
    const at = this.claim(2);
    this.view.setUint16(at, value);
    return this;
  }
  i16(value: number): this {
    const at = this.claim(2);
    this.view.setInt16(at, value);
    return this;
  }
  u32(value: number): this {
    const at = this.claim(4);
    this.view.setUint32(at, value);
    return this;
  }
  i32(value: number): this {
    const at = this.claim(4);
    this.view.setInt32(at, value);
    return this;
  }
  f64(value: number): this {
    const at = this.claim(8);
    this.view.setFloat64(at, value);
    return this;
  }
  str(value: string): this {
    const bytes = encoder.encode(value);
    if (bytes.length > 0xffff) throw new RangeError(`string of ${bytes.length} bytes is over 65535`);
    this.u16(bytes.length);
    return this.raw(bytes);
  }
  nullableBytes(value: Uint8Array | null): this {
    if (value === null) return this.i32(-1);
    this.i32(value.length);
    return this.raw(value);
  }
  raw(value: Uint8Array): this {
    const at = this.claim(value.length);
    this.buffer.set(value, at);
    return this;
  }

  /** The frame so far, as a view of the writer's buffer. */
  finish(): Uint8Array {
    return this.buffer.subarray(0, this.position);
  }
}
