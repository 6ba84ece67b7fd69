import { PyralogError } from '../../common/errors.js';
import { KafkaErrorCode } from '../../common/kafka-error-code.js';
import { readInt64, writeInt64 } from '../../common/offset.js';

/**
 * The Kafka protocol's primitive types (non-flexible encodings only), all
 * big-endian:
 *
 *   INT8/16/32/64 · BOOLEAN (1 byte) · STRING (i16 length, UTF-8) ·
 *   NULLABLE_STRING (length -1 = null) · BYTES / NULLABLE_BYTES (i32 length) ·
 *   ARRAY (i32 count, -1 = null, then the elements)
 *
 * `KafkaReader` reads a request body in place, from one buffer or from the
 * pieces it arrived in; byte fields come back as views into the request, so a
 * produced batch is not copied here unless it straddles two socket reads.
 * Reading past the end, or a length that lies, throws a MalformedRequestError,
 * which the listener answers by closing the connection.
 */
export class MalformedRequestError extends PyralogError {
  constructor(message: string) {
    // No stack trace: the message says where the request broke, and capturing one costs several
    // microseconds, which a client streaming garbage frames would otherwise spend on the acceptor thread.
    super(KafkaErrorCode.INVALID_REQUEST, message, { stackless: true });
    this.name = 'MalformedRequestError';
  }
}

const textDecoder = new TextDecoder('utf-8', { fatal: false });
const textEncoder = new TextEncoder();

/** Strings up to this many characters are written by char code when they are ASCII. */
const ASCII_FAST_PATH_MAX = 255;

/** Most elements an array in a request may claim; far above what a valid request holds. */
const ARRAY_COUNT_MAX = 1_000_000;

/**
 * A plain Uint8Array view over the same memory, even for a Buffer: byte fields
 * handed out must behave as Uint8Arrays (Buffer#slice makes views, not copies).
 */
function plainBytes(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export class KafkaReader {
  private bytes: Uint8Array;
  private view: DataView;
  private position: number;
  private end: number;
  /** Pieces after the current one, when the request arrived in several (see `overPieces`). */
  private readonly laterPieces: Uint8Array[];
  private laterBytes: number;

  constructor(bytes: Uint8Array, start = 0, end = bytes.length) {
    this.bytes = plainBytes(bytes);
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.position = start;
    this.end = end;
    this.laterPieces = [];
    this.laterBytes = 0;
  }

  /**
   * A reader over a request that arrived in several socket reads, without
   * joining them first. Fields inside one piece are read in place, byte
   * fields as views, as with one buffer; only a field that straddles two
   * pieces is copied (into a buffer of its own size).
   */
  static overPieces(pieces: readonly Uint8Array[]): KafkaReader {
    const reader = new KafkaReader(pieces[0] ?? new Uint8Array(0));
    for (let i = pieces.length - 1; i >= 1; i--) {
      const piece = pieces[i]!;
      reader.laterPieces.push(piece); // kept in reverse: the next piece is popped from the end
      reader.laterBytes += piece.length;
    }
    return reader;
  }

  remaining(): number {
    return this.end - this.position + this.laterBytes;
  }

  /** Where the next `byteCount` bytes start in `bytes` / `view`, which may be replaced to hold them together. */
  private need(byteCount: number): number {
    const at = this.position;
    if (byteCount >= 0 && at + byteCount <= this.end) {
      this.position = at + byteCount;
      return at;
    }
    return this.needAcrossPieces(byteCount);
  }

  private needAcrossPieces(byteCount: number): number {
    if (byteCount < 0 || byteCount > this.remaining()) {
      throw new MalformedRequestError(
        `request ends early: ${byteCount} bytes needed, ${this.remaining()} left`,
      );
    }
    // The field starts in a later piece: step to it and read in place.
    while (this.position === this.end && this.laterPieces.length > 0) this.enter(this.laterPieces.pop()!);
    if (this.position + byteCount <= this.end) return this.need(byteCount);
    // The field straddles pieces: join just its bytes. The reader continues after them, in the piece
    // where they end, once the caller has read them from the joined buffer.
    const joined = new Uint8Array(byteCount);
    let filled = 0;
    for (;;) {
      const taken = Math.min(byteCount - filled, this.end - this.position);
      joined.set(this.bytes.subarray(this.position, this.position + taken), filled);
      filled += taken;
      this.position += taken;
      if (filled === byteCount) break;
      this.enter(this.laterPieces.pop()!);
    }
    if (this.position < this.end) {
      const rest = this.bytes.subarray(this.position, this.end);
      this.laterPieces.push(rest);
      this.laterBytes += rest.length;
    }
    this.bytes = joined;
    this.view = new DataView(joined.buffer);
    this.position = byteCount;
    this.end = byteCount;
    return 0;
  }

  private enter(piece: Uint8Array): void {
    this.laterBytes -= piece.length;
    this.bytes = plainBytes(piece);
    this.view = new DataView(piece.buffer, piece.byteOffset, piece.byteLength);
    this.position = 0;
    this.end = piece.length;
  }

  int8(): number {
    const at = this.need(1); // first: it may replace this.view
    return this.view.getInt8(at);
  }

  int16(): number {
    const at = this.need(2); // first: it may replace this.view
    return this.view.getInt16(at);
  }

  int32(): number {
    const at = this.need(4); // first: it may replace this.view
    return this.view.getInt32(at);
  }

  int64(): number {
    const at = this.need(8);
    const high = this.view.getInt32(at);
    // Values outside the safe-integer range (never valid offsets or ids here) are clamped, not wrapped.
    if (high > 0x1f_ffff) return Number.MAX_SAFE_INTEGER;
    if (high < -0x20_0000) return Number.MIN_SAFE_INTEGER;
    return readInt64(this.view, at);
  }

  boolean(): boolean {
    return this.int8() !== 0;
  }

  string(): string {
    const value = this.nullableString();
    if (value === null) throw new MalformedRequestError('null where a string is required');
    return value;
  }

  nullableString(): string | null {
    const length = this.int16();
    if (length < 0) return null;
    const at = this.need(length);
    return textDecoder.decode(this.bytes.subarray(at, at + length));
  }

  /** A view into the request, not a copy. */
  bytesField(): Uint8Array {
    const value = this.nullableBytes();
    if (value === null) throw new MalformedRequestError('null where bytes are required');
    return value;
  }

  nullableBytes(): Uint8Array | null {
    const length = this.int32();
    if (length < 0) return null;
    const at = this.need(length);
    return this.bytes.subarray(at, at + length);
  }

  array<T>(element: (reader: KafkaReader) => T): T[] {
    const items = this.nullableArray(element);
    if (items === null) throw new MalformedRequestError('null where an array is required');
    return items;
  }

  nullableArray<T>(element: (reader: KafkaReader) => T): T[] | null {
    const count = this.int32();
    if (count < 0) return null;
    // Every element takes at least one byte: a count beyond what is left is a lie.
    if (count > ARRAY_COUNT_MAX || count > this.remaining()) {
      throw new MalformedRequestError(`array of ${count} elements cannot fit in ${this.remaining()} bytes`);
    }
    const items = new Array<T>(count);
    for (let i = 0; i < count; i++) items[i] = element(this);
    return items;
  }

  uint16(): number {
    const at = this.need(2); // first: it may replace this.view
    return this.view.getUint16(at);
  }

  float64(): number {
    const at = this.need(8); // first: it may replace this.view
    return this.view.getFloat64(at);
  }

  /** 16 bytes, copied (a UUID outlives the request). */
  uuid(): Uint8Array {
    const at = this.need(16); // first: it may replace this.bytes
    return this.bytes.slice(at, at + 16);
  }

  /** Unsigned LEB128 of at most 5 bytes (a 32-bit value), as Kafka's UNSIGNED_VARINT. */
  uvarint(): number {
    const at = this.need(1); // first: it may replace this.bytes
    const first = this.bytes[at]!;
    if (first < 0x80) return first; // lengths, counts and tag sections below 128: one byte
    return this.uvarintRest(first);
  }

  private uvarintRest(first: number): number {
    let value = first & 0x7f;
    let scale = 0x80;
    for (let i = 1; i < 5; i++) {
      const at = this.need(1);
      const byte = this.bytes[at]!;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) {
        if (value > 0xffff_ffff) break;
        return value;
      }
      scale *= 0x80;
    }
    throw new MalformedRequestError('unsigned varint longer than 32 bits');
  }

  /** Zig-zag LEB128 of a 32-bit value, as Kafka's VARINT. */
  varint(): number {
    const raw = this.uvarint();
    return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
  }

  /** COMPACT_NULLABLE_STRING: uvarint length + 1 (0 = null), then UTF-8. */
  compactNullableString(): string | null {
    const length = this.uvarint() - 1;
    if (length < 0) return null;
    const at = this.need(length);
    return textDecoder.decode(this.bytes.subarray(at, at + length));
  }

  compactString(): string {
    const value = this.compactNullableString();
    if (value === null) throw new MalformedRequestError('null where a compact string is required');
    return value;
  }

  /** COMPACT_NULLABLE_BYTES as a view into the request: uvarint length + 1 (0 = null). */
  compactNullableBytes(): Uint8Array | null {
    const length = this.uvarint() - 1;
    if (length < 0) return null;
    const at = this.need(length);
    return this.bytes.subarray(at, at + length);
  }

  compactBytes(): Uint8Array {
    const value = this.compactNullableBytes();
    if (value === null) throw new MalformedRequestError('null where compact bytes are required');
    return value;
  }

  compactArray<T>(element: (reader: KafkaReader) => T): T[] {
    const items = this.compactNullableArray(element);
    if (items === null) throw new MalformedRequestError('null where a compact array is required');
    return items;
  }

  /** COMPACT_ARRAY: uvarint count + 1 (0 = null), then the elements. */
  compactNullableArray<T>(element: (reader: KafkaReader) => T): T[] | null {
    const count = this.uvarint() - 1;
    if (count < 0) return null;
    if (count > ARRAY_COUNT_MAX || count > this.remaining()) {
      throw new MalformedRequestError(`array of ${count} elements cannot fit in ${this.remaining()} bytes`);
    }
    const items = new Array<T>(count);
    for (let i = 0; i < count; i++) items[i] = element(this);
    return items;
  }

  /** Steps over `byteCount` bytes without reading them (an unknown tagged field). */
  skip(byteCount: number): void {
    if (byteCount < 0 || byteCount > this.remaining()) {
      throw new MalformedRequestError(
        `request ends early: ${byteCount} bytes to skip, ${this.remaining()} left`,
      );
    }
    let left = byteCount;
    for (;;) {
      const taken = Math.min(left, this.end - this.position);
      this.position += taken;
      left -= taken;
      if (left === 0) return;
      this.enter(this.laterPieces.pop()!);
    }
  }

  /**
   * A tagged-field section: uvarint count, then per field uvarint tag, uvarint size and the
   * bytes. `known(tag)` reads a field it knows and returns true; any other is skipped. A known
   * field must use exactly the bytes its size announces.
   */
  taggedFields(known: ((tag: number) => boolean) | null): void {
    const count = this.uvarint();
    if (count === 0) return; // the usual case: no tagged field
    if (count > this.remaining()) {
      throw new MalformedRequestError(`${count} tagged fields cannot fit in ${this.remaining()} bytes`);
    }
    let previousTag = -1;
    for (let i = 0; i < count; i++) {
      const tag = this.uvarint();
      if (tag <= previousTag) throw new MalformedRequestError(`tagged field ${tag} out of order`);
      previousTag = tag;
      const sizeBytes = this.uvarint();
      if (sizeBytes > this.remaining()) {
        throw new MalformedRequestError(`tagged field of ${sizeBytes} bytes, ${this.remaining()} left`);
      }
      const before = this.remaining();
      if (known === null || !known(tag)) {
        this.skip(sizeBytes);
      } else if (before - this.remaining() !== sizeBytes) {
        throw new MalformedRequestError(`tagged field ${tag} is not ${sizeBytes} bytes long`);
      }
    }
  }
}

/** A fresh buffer for a writer never exceeds this unless one field needs more. */
const SLAB_BYTES_MAX = 64 * 1024;

/**
 * Builds a response. Bytes are written into a buffer that grows by slabs
 * (each full slab is sealed as a chunk and a new one started); large byte
 * fields (fetched record batches) can be appended as views instead, so they
 * go to the socket without a copy. `finish()` returns the chunks in order.
 *
 * One writer serves a whole connection: `beginFrame()` starts the next
 * response right after the bytes of the previous one, never over them, since
 * those may still sit in the socket's write queue. Only when a slab is full
 * is a new one allocated, so responses cost no buffer allocation of their own.
 */
export class KafkaWriter {
  private buffer: Uint8Array;
  private view: DataView;
  private position = 0;
  private chunkStart = 0;
  private chunks: Uint8Array[] = [];
  private viewBytes = 0;
  private sealedBytes = 0;
  private frameSizeView: DataView | null = null;
  private frameSizeAt = 0;

  constructor(initialBytes = 256) {
    this.buffer = new Uint8Array(initialBytes);
    this.view = new DataView(this.buffer.buffer);
  }

  /** Bytes written so far, views included. */
  get length(): number {
    return this.position - this.chunkStart + this.sealedBytes + this.viewBytes;
  }

  private ensure(byteCount: number): number {
    if (this.position + byteCount > this.buffer.length) {
      // Seal what is written and continue in a fresh, larger buffer.
      if (this.position > this.chunkStart) {
        this.chunks.push(this.buffer.subarray(this.chunkStart, this.position));
        this.sealedBytes += this.position - this.chunkStart;
      }
      this.buffer = new Uint8Array(Math.max(byteCount, Math.min(this.buffer.length * 2, SLAB_BYTES_MAX)));
      this.view = new DataView(this.buffer.buffer);
      this.position = 0;
      this.chunkStart = 0;
    }
    const at = this.position;
    this.position += byteCount;
    return at;
  }

  int8(value: number): this {
    const at = this.ensure(1); // may replace the buffer and view: take the position first
    this.view.setInt8(at, value);
    return this;
  }

  int16(value: number): this {
    const at = this.ensure(2); // may replace the buffer and view: take the position first
    this.view.setInt16(at, value);
    return this;
  }

  int32(value: number): this {
    const at = this.ensure(4); // may replace the buffer and view: take the position first
    this.view.setInt32(at, value);
    return this;
  }

  int64(value: number): this {
    const at = this.ensure(8); // may replace the buffer and view: take the position first
    writeInt64(this.view, at, value);
    return this;
  }

  boolean(value: boolean): this {
    return this.int8(value ? 1 : 0);
  }

  string(value: string): this {
    return this.nullableString(value);
  }

  nullableString(value: string | null): this {
    if (value === null) return this.int16(-1);
    const length = value.length;
    if (length <= ASCII_FAST_PATH_MAX) {
      // ASCII (the usual name) goes straight in by char code; TextEncoder.encode allocates and is slow.
      let ascii = 0;
      for (let i = 0; i < length; i++) ascii |= value.charCodeAt(i);
      if (ascii < 0x80) {
        const at = this.ensure(2 + length); // may replace the buffer and view: take the position first
        this.view.setInt16(at, length);
        const buffer = this.buffer;
        for (let i = 0; i < length; i++) buffer[at + 2 + i] = value.charCodeAt(i);
        return this;
      }
    }
    const encoded = textEncoder.encode(value);
    this.int16(encoded.length);
    const at = this.ensure(encoded.length); // may replace the buffer: take the position first
    this.buffer.set(encoded, at);
    return this;
  }

  bytesField(value: Uint8Array): this {
    this.int32(value.length);
    const at = this.ensure(value.length); // may replace the buffer: take the position first
    this.buffer.set(value, at);
    return this;
  }

  nullableBytes(value: Uint8Array | null): this {
    return value === null ? this.int32(-1) : this.bytesField(value);
  }

  uint16(value: number): this {
    const at = this.ensure(2); // may replace the buffer and view: take the position first
    this.view.setUint16(at, value);
    return this;
  }

  float64(value: number): this {
    const at = this.ensure(8); // may replace the buffer and view: take the position first
    this.view.setFloat64(at, value);
    return this;
  }

  /** A UUID: exactly 16 bytes. */
  uuid(value: Uint8Array): this {
    if (value.length !== 16) throw new RangeError(`a UUID is 16 bytes, not ${value.length}`);
    const at = this.ensure(16); // may replace the buffer: take the position first
    this.buffer.set(value, at);
    return this;
  }

  /** Unsigned LEB128 of a 32-bit value (Kafka's UNSIGNED_VARINT). */
  uvarint(value: number): this {
    let rest = value >>> 0;
    const sizeBytes = rest < 0x80 ? 1 : rest < 0x4000 ? 2 : rest < 0x20_0000 ? 3 : rest < 0x1000_0000 ? 4 : 5;
    const at = this.ensure(sizeBytes); // may replace the buffer: take the position first
    const buffer = this.buffer;
    const last = at + sizeBytes - 1;
    for (let i = at; i < last; i++) {
      buffer[i] = (rest & 0x7f) | 0x80;
      rest >>>= 7;
    }
    buffer[last] = rest;
    return this;
  }

  /** Zig-zag LEB128 of a 32-bit value (Kafka's VARINT). */
  varint(value: number): this {
    return this.uvarint(((value << 1) ^ (value >> 31)) >>> 0);
  }

  compactString(value: string): this {
    return this.compactNullableString(value);
  }

  compactNullableString(value: string | null): this {
    if (value === null) return this.uvarint(0);
    const length = value.length;
    if (length < 127) {
      let ascii = 0;
      for (let i = 0; i < length; i++) ascii |= value.charCodeAt(i);
      if (ascii < 0x80) {
        const at = this.ensure(1 + length); // may replace the buffer: take the position first
        const buffer = this.buffer;
        buffer[at] = length + 1;
        for (let i = 0; i < length; i++) buffer[at + 1 + i] = value.charCodeAt(i);
        return this;
      }
    }
    const encoded = textEncoder.encode(value);
    this.uvarint(encoded.length + 1);
    const at = this.ensure(encoded.length); // may replace the buffer: take the position first
    this.buffer.set(encoded, at);
    return this;
  }

  compactBytes(value: Uint8Array): this {
    this.uvarint(value.length + 1);
    const at = this.ensure(value.length); // may replace the buffer: take the position first
    this.buffer.set(value, at);
    return this;
  }

  compactNullableBytes(value: Uint8Array | null): this {
    return value === null ? this.uvarint(0) : this.compactBytes(value);
  }

  /** Writes `value` as a COMPACT_BYTES field whose content is sent as a view, not copied. */
  compactBytesView(value: Uint8Array): this {
    this.uvarint(value.length + 1);
    return this.appendView(value);
  }

  compactArray<T>(items: readonly T[], element: (writer: KafkaWriter, item: T) => void): this {
    this.uvarint(items.length + 1);
    for (const item of items) element(this, item);
    return this;
  }

  compactNullableArray<T>(items: readonly T[] | null, element: (writer: KafkaWriter, item: T) => void): this {
    return items === null ? this.uvarint(0) : this.compactArray(items, element);
  }

  /** Copies `value` in as it is (no length prefix). */
  raw(value: Uint8Array): this {
    const at = this.ensure(value.length); // may replace the buffer: take the position first
    this.buffer.set(value, at);
    return this;
  }

  /** Writes `value` as a BYTES field whose content is sent as a view, not copied. */
  bytesView(value: Uint8Array): this {
    this.int32(value.length);
    return this.appendView(value);
  }

  private appendView(value: Uint8Array): this {
    if (value.length === 0) return this;
    if (this.position > this.chunkStart) {
      this.chunks.push(this.buffer.subarray(this.chunkStart, this.position));
      this.sealedBytes += this.position - this.chunkStart;
      this.chunkStart = this.position;
    }
    this.chunks.push(value);
    this.viewBytes += value.length;
    return this;
  }

  array<T>(items: readonly T[], element: (writer: KafkaWriter, item: T) => void): this {
    this.int32(items.length);
    for (const item of items) element(this, item);
    return this;
  }

  nullableArray<T>(items: readonly T[] | null, element: (writer: KafkaWriter, item: T) => void): this {
    return items === null ? this.int32(-1) : this.array(items, element);
  }

  /**
   * Starts a new size-prefixed frame after everything written before: the
   * previous chunks are forgotten (their bytes are left alone) and an INT32
   * size placeholder is written, filled in by `finishFrame()`.
   */
  beginFrame(): this {
    this.chunks = [];
    this.sealedBytes = 0;
    this.viewBytes = 0;
    this.chunkStart = this.position;
    const at = this.ensure(4); // may replace the buffer and view: take the position first
    this.frameSizeView = this.view;
    this.frameSizeAt = at;
    return this;
  }

  /** The frame begun by `beginFrame()`, its size field filled in with the bytes after it. */
  finishFrame(): Uint8Array[] {
    const chunks = this.finish();
    if (this.frameSizeView === null) throw new Error('finishFrame() without beginFrame()');
    this.frameSizeView.setInt32(this.frameSizeAt, this.length - 4);
    this.frameSizeView = null;
    return chunks;
  }

  /** The response's bytes, in order. */
  finish(): Uint8Array[] {
    if (this.position > this.chunkStart) {
      this.chunks.push(this.buffer.subarray(this.chunkStart, this.position));
      this.sealedBytes += this.position - this.chunkStart;
      this.chunkStart = this.position;
    }
    return this.chunks;
  }
}

/** Concatenates chunks (tests and small responses). */
export function concatChunks(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}
