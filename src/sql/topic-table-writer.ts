import type { DuckDBAppender, DuckDBConnection } from '@duckdb/node-api';
import { DuckDBDataChunk } from '@duckdb/node-api';
import duckdb from '@duckdb/node-bindings';
import { type DuckDbTextAddon, duckDbTextAddon } from './duckdb-text-addon.js';
import { headersJson, type RowSink } from './topic-rows.js';

/**
 * Loads the records of one topic into a DuckDB table, a data chunk (2048
 * rows) at a time. Owned by the SQL worker thread.
 *
 * Fixed-width columns are written into typed arrays here and copied into the
 * chunk's vectors with one call per column per chunk. Key and value bytes go
 * from the record batch straight into the chunk's string vectors with no
 * JavaScript string made: with our addon (duckdb-text-addon.ts), the rows of
 * a batch are collected as positions and assigned with one call per column at
 * the end of the batch; without it, one call per field. Only headers, which
 * most records lack, become a JSON string. bench/RESULTS.md says where the
 * time goes (two designs that copied fewer times but did more work in SQL
 * were slower).
 *
 * A key or value that is not UTF-8 text cannot be a VARCHAR: it reads as
 * NULL and is counted in `notText`. Text columns the query never names are
 * not loaded at all (left NULL): a query that only counts or groups by
 * offset, partition or key skips copying the values.
 *
 * The table, as queries see it:
 *   partition INTEGER, offset BIGINT, timestamp TIMESTAMP_MS, key VARCHAR,
 *   value VARCHAR, headers VARCHAR (a JSON object; NULL without headers)
 */
export const TOPIC_TABLE_COLUMNS =
  '"partition" INTEGER, "offset" BIGINT, "timestamp" TIMESTAMP_MS, "key" VARCHAR, "value" VARCHAR, "headers" VARCHAR';

/** Which text columns a query reads; the others stay NULL, which saves most of the loading. */
export interface TextColumns {
  readonly key: boolean;
  readonly value: boolean;
  readonly headers: boolean;
}

export const ALL_TEXT_COLUMNS: TextColumns = { key: true, value: true, headers: true };

const COLUMN_PARTITION = 0;
const COLUMN_OFFSET = 1;
const COLUMN_TIMESTAMP = 2;
const COLUMN_KEY = 3;
const COLUMN_VALUE = 4;
const COLUMN_HEADERS = 5;
const TWO_POW_32 = 4294967296;

/** A safe integer as two little-endian 32-bit words (ToUint32 takes the low word, for negatives too). */
function setInt64(words: Uint32Array, index: number, value: number): void {
  words[index * 2] = value >>> 0;
  words[index * 2 + 1] = Math.floor(value / TWO_POW_32) >>> 0;
}

/** A SQL identifier in double quotes, inner quotes doubled. */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** Longest field copied through the scratch buffer; longer ones are passed as a view of their own. */
const SCRATCH_BYTES = 4096;

/**
 * Puts a key or value into a DuckDB string vector without allocating: the
 * bytes are copied into a scratch buffer while checking for ASCII (one pass),
 * and handed over through a view of that buffer kept per length, so a record
 * makes no typed-array object and no garbage. A field with bytes >= 0x80 is
 * checked as UTF-8 by the decoder; one that is not UTF-8 is refused.
 */
class TextAssigner {
  private readonly scratch = new Uint8Array(SCRATCH_BYTES);
  private readonly views: (Uint8Array | undefined)[] = [];

  /** Assigns bytes[at, at + length) to vector[index]; false (nothing assigned) when they are not UTF-8. */
  assign(vector: duckdb.Vector, index: number, bytes: Uint8Array, at: number, length: number): boolean {
    if (length > SCRATCH_BYTES) {
      const field = bytes.subarray(at, at + length);
      if (!isUtf8(field)) return false;
      duckdb.vector_assign_string_element_len(vector, index, field);
      return true;
    }
    const scratch = this.scratch;
    let high = 0;
    for (let i = 0; i < length; i++) {
      const b = bytes[at + i]!;
      high |= b;
      scratch[i] = b;
    }
    let view = this.views[length];
    if (view === undefined) {
      view = scratch.subarray(0, length);
      this.views[length] = view;
    }
    if (high >= 0x80 && !isUtf8(view)) return false;
    duckdb.vector_assign_string_element_len(vector, index, view);
    return true;
  }
}

function isUtf8(bytes: Uint8Array): boolean {
  try {
    utf8Strict.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

export class TopicTableWriter implements RowSink {
  rowsWritten = 0;
  /** Keys and values left NULL because their bytes are not UTF-8. */
  notText = 0;
  private readonly chunkRows: number;
  private readonly chunk: DuckDBDataChunk;
  private readonly partitions: Int32Array;
  private readonly offsets: Uint32Array;
  private readonly timestamps: Uint32Array;
  /** Validity bitmaps (bit set = not null) of the nullable columns, laid out as DuckDB's. */
  private readonly keyValid: Uint8Array;
  private readonly valueValid: Uint8Array;
  private readonly headersValid: Uint8Array;
  private keyVector: duckdb.Vector;
  private valueVector: duckdb.Vector;
  private headersVector: duckdb.Vector;
  private rows = 0;
  private partition = 0;
  private readonly text = new TextAssigner();
  /** With the addon: the rows of the current batch, as [start, length] pairs into batchBytes (-1: none). */
  private readonly keyFields: Int32Array;
  private readonly valueFields: Int32Array;
  private batchBytes: Uint8Array | null = null;
  private batchFirstRow = 0;
  private readonly decoder = new TextDecoder();
  private readonly encoder = new TextEncoder();

  private constructor(
    private readonly appender: DuckDBAppender,
    private readonly read: TextColumns,
    private readonly addon: DuckDbTextAddon | null,
  ) {
    this.chunkRows = duckdb.vector_size();
    this.chunk = DuckDBDataChunk.create(
      Array.from({ length: appender.columnCount }, (_, i) => appender.columnType(i)),
    );
    this.partitions = new Int32Array(this.chunkRows);
    this.offsets = new Uint32Array(this.chunkRows * 2);
    this.timestamps = new Uint32Array(this.chunkRows * 2);
    this.keyValid = new Uint8Array(this.chunkRows / 8);
    this.valueValid = new Uint8Array(this.chunkRows / 8);
    this.headersValid = new Uint8Array(this.chunkRows / 8);
    this.keyFields = new Int32Array(this.chunkRows * 2);
    this.valueFields = new Int32Array(this.chunkRows * 2);
    const raw = this.chunk.chunk;
    this.keyVector = duckdb.data_chunk_get_vector(raw, COLUMN_KEY);
    this.valueVector = duckdb.data_chunk_get_vector(raw, COLUMN_VALUE);
    this.headersVector = duckdb.data_chunk_get_vector(raw, COLUMN_HEADERS);
  }

  /**
   * Creates the topic table `table` (a temporary table of this connection) and a writer into it.
   * `addon` null assigns keys and values one call at a time (tests compare the two).
   */
  static async create(
    connection: DuckDBConnection,
    table: string,
    read: TextColumns = ALL_TEXT_COLUMNS,
    addon: DuckDbTextAddon | null = duckDbTextAddon,
  ): Promise<TopicTableWriter> {
    await connection.run(`CREATE TEMP TABLE ${quoteIdentifier(table)} (${TOPIC_TABLE_COLUMNS})`);
    return new TopicTableWriter(await connection.createAppender(table, 'main', 'temp'), read, addon);
  }

  /** Rows that follow belong to this partition. */
  setPartition(partition: number): void {
    this.partition = partition;
  }

  row(
    offset: number,
    timestampMs: number,
    bytes: Uint8Array,
    keyAt: number,
    keyLength: number,
    valueAt: number,
    valueLength: number,
    headersAt: number,
    headerCount: number,
  ): void {
    const r = this.rows;
    const bit = 1 << (r & 7);
    const byte = r >> 3;
    this.partitions[r] = this.partition;
    setInt64(this.offsets, r, offset);
    setInt64(this.timestamps, r, timestampMs);
    if (this.addon !== null) {
      // Assigned with the rest of the batch's rows, at its end (endBatch) or the chunk's.
      if (this.batchBytes !== bytes) {
        this.assignBatchText();
        this.batchBytes = bytes;
        this.batchFirstRow = r;
      }
      this.keyFields[r * 2] = keyAt;
      this.keyFields[r * 2 + 1] = this.read.key ? keyLength : -1;
      this.valueFields[r * 2] = valueAt;
      this.valueFields[r * 2 + 1] = this.read.value ? valueLength : -1;
    } else {
      if (keyLength >= 0 && this.read.key) {
        if (this.text.assign(this.keyVector, r, bytes, keyAt, keyLength)) this.keyValid[byte]! |= bit;
        else this.notText++;
      }
      if (valueLength >= 0 && this.read.value) {
        if (this.text.assign(this.valueVector, r, bytes, valueAt, valueLength)) this.valueValid[byte]! |= bit;
        else this.notText++;
      }
    }
    if (headerCount > 0 && this.read.headers) {
      this.headersValid[byte]! |= bit;
      const json = this.encoder.encode(headersJson(bytes, headersAt, headerCount, this.decoder));
      duckdb.vector_assign_string_element_len(this.headersVector, r, json);
    }
    this.rows = r + 1;
    this.rowsWritten++;
    if (this.rows === this.chunkRows) this.flushChunk();
  }

  /** The batch whose bytes the last rows came from is done: its keys and values are assigned now. */
  endBatch(): void {
    this.assignBatchText();
  }

  /** Appends what is buffered and closes the appender; the table is then complete. */
  finish(): void {
    this.flushChunk();
    this.appender.closeSync();
  }

  /** With the addon: assigns the keys and values of the rows since the batch started, one call per column. */
  private assignBatchText(): void {
    const bytes = this.batchBytes;
    const addon = this.addon;
    if (bytes === null || addon === null) return;
    this.batchBytes = null;
    const from = this.batchFirstRow;
    const to = this.rows;
    if (to <= from) return;
    if (this.read.key)
      this.notText += addon.assignText(this.keyVector, bytes, this.keyFields, from, to, this.keyValid);
    if (this.read.value)
      this.notText += addon.assignText(this.valueVector, bytes, this.valueFields, from, to, this.valueValid);
  }

  private flushChunk(): void {
    this.assignBatchText();
    const rows = this.rows;
    if (rows === 0) return;
    const raw = this.chunk.chunk;
    const copy = (column: number, data: Int32Array | Uint32Array, byteCount: number): void => {
      const vector = duckdb.data_chunk_get_vector(raw, column);
      duckdb.copy_data_to_vector(vector, 0, data.buffer as ArrayBuffer, data.byteOffset, byteCount);
    };
    copy(COLUMN_PARTITION, this.partitions, rows * 4);
    copy(COLUMN_OFFSET, this.offsets, rows * 8);
    copy(COLUMN_TIMESTAMP, this.timestamps, rows * 8);
    const validityBytes = Math.ceil(rows / 64) * 8;
    for (const [column, valid] of [
      [COLUMN_KEY, this.keyValid],
      [COLUMN_VALUE, this.valueValid],
      [COLUMN_HEADERS, this.headersValid],
    ] as const) {
      const vector = duckdb.data_chunk_get_vector(raw, column);
      duckdb.vector_ensure_validity_writable(vector);
      duckdb.copy_data_to_vector_validity(
        vector,
        0,
        valid.buffer as ArrayBuffer,
        valid.byteOffset,
        validityBytes,
      );
      valid.fill(0);
    }
    duckdb.data_chunk_set_size(raw, rows);
    this.appender.appendDataChunk(this.chunk);
    duckdb.data_chunk_reset(raw);
    this.rows = 0;
    this.keyVector = duckdb.data_chunk_get_vector(raw, COLUMN_KEY);
    this.valueVector = duckdb.data_chunk_get_vector(raw, COLUMN_VALUE);
    this.headersVector = duckdb.data_chunk_get_vector(raw, COLUMN_HEADERS);
  }
}
