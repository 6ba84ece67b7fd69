import type { DuckDBAppender, DuckDBConnection } from '@duckdb/node-api';
import { DuckDBDataChunk } from '@duckdb/node-api';
import duckdb from '@duckdb/node-bindings';
import { headersJson, type RowSink } from './topic-rows.js';

/**
 * Loads the records of one topic into a DuckDB table, a data chunk (2048
 * rows) at a time. Owned by the SQL worker thread.
 *
 * Fixed-width columns are written into typed arrays here and copied into the
 * chunk's vectors with one call per column per chunk. Key and value bytes go
 * from the record batch straight into the chunk's string vectors, one call
 * per field, with no JavaScript string made; only headers, which most records
 * lack, become a JSON string. bench/RESULTS.md says where the time goes (two
 * designs that copied fewer times but did more work in SQL were slower).
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

function setInt64(words: Uint32Array, index: number, value: number): void {
  const low = value % TWO_POW_32;
  words[index * 2] = low < 0 ? low + TWO_POW_32 : low;
  words[index * 2 + 1] = Math.floor(value / TWO_POW_32) >>> 0;
}

/** A SQL identifier in double quotes, inner quotes doubled. */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** True when bytes[at, at + length) is UTF-8: plain ASCII is checked here, anything else by the decoder. */
function isText(bytes: Uint8Array, at: number, length: number): boolean {
  let high = 0;
  for (let i = at; i < at + length; i++) high |= bytes[i]!;
  if (high < 0x80) return true;
  try {
    utf8Strict.decode(bytes.subarray(at, at + length));
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
  private readonly decoder = new TextDecoder();
  private readonly encoder = new TextEncoder();

  private constructor(
    private readonly appender: DuckDBAppender,
    private readonly read: TextColumns,
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
    const raw = this.chunk.chunk;
    this.keyVector = duckdb.data_chunk_get_vector(raw, COLUMN_KEY);
    this.valueVector = duckdb.data_chunk_get_vector(raw, COLUMN_VALUE);
    this.headersVector = duckdb.data_chunk_get_vector(raw, COLUMN_HEADERS);
  }

  /** Creates the topic table `table` (a temporary table of this connection) and a writer into it. */
  static async create(
    connection: DuckDBConnection,
    table: string,
    read: TextColumns = ALL_TEXT_COLUMNS,
  ): Promise<TopicTableWriter> {
    await connection.run(`CREATE TEMP TABLE ${quoteIdentifier(table)} (${TOPIC_TABLE_COLUMNS})`);
    return new TopicTableWriter(await connection.createAppender(table, 'main', 'temp'), read);
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
    if (keyLength >= 0 && this.read.key) {
      if (isText(bytes, keyAt, keyLength)) {
        this.keyValid[byte]! |= bit;
        duckdb.vector_assign_string_element_len(this.keyVector, r, bytes.subarray(keyAt, keyAt + keyLength));
      } else this.notText++;
    }
    if (valueLength >= 0 && this.read.value) {
      if (isText(bytes, valueAt, valueLength)) {
        this.valueValid[byte]! |= bit;
        duckdb.vector_assign_string_element_len(
          this.valueVector,
          r,
          bytes.subarray(valueAt, valueAt + valueLength),
        );
      } else this.notText++;
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

  /** Appends what is buffered and closes the appender; the table is then complete. */
  finish(): void {
    this.flushChunk();
    this.appender.closeSync();
  }

  private flushChunk(): void {
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
