import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import '../record/compression.js';
import { planQuery, type TopicScan } from './query-plan.js';
import { type ResultColumn, resultAsArrow, toJsonValue } from './result-encoding.js';
import { SegmentFileLoader, type SegmentReadRequest } from './segment-file-loader.js';
import { SqlError, sqlErrorFromDuckDb } from './sql-errors.js';
import type { SqlLimits } from './sql-limits.js';
import type { FileLoadResult } from './sql-worker-protocol.js';
import { walkRecords } from './topic-rows.js';
import { quoteIdentifier, TopicTableWriter } from './topic-table-writer.js';

/**
 * DuckDB as the SQL worker runs it: one in-memory database, locked down
 * before any query can run (no file system, no network, no extensions to
 * install or load, settings frozen), and one connection per query whose
 * temporary tables are the topics that query names, loaded from the record
 * batches the acceptor fetched for it. Owned by the SQL worker thread; the
 * acceptor drives it through sql-worker-protocol.ts messages.
 *
 * A Parquet export gets a database of its own, locked the same way except
 * that it may write inside one new private directory; it never runs user
 * SQL, and the directory is removed when the export ends, whatever happens.
 */
interface QueryState {
  readonly connection: DuckDBConnection;
  readonly writers: Map<string, TopicTableWriter>;
  /** An export's own database and directory, both gone when the export ends. */
  readonly exportDatabase: { instance: DuckDBInstance; dir: string } | null;
  /** DuckDB is executing for it: a cancel interrupts, and the run itself ends the query when it returns. */
  running: boolean;
}

export interface QueryResult {
  columns: ResultColumn[];
  /** Rows of JSON values (format json), or an Arrow IPC stream (format arrow). */
  rows?: unknown[][];
  arrow?: Uint8Array;
  rowCount: number;
  truncated: boolean;
  /** Keys and values that were not UTF-8 and read as NULL. */
  notText: number;
}

async function lockedInstance(limits: SqlLimits, allowedDirectory: string | null): Promise<DuckDBInstance> {
  const instance = await DuckDBInstance.create(':memory:', {
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
    allow_community_extensions: 'false',
    max_memory: `${Math.floor(limits.memoryBytes / (1024 * 1024))}MB`,
    threads: '1',
  });
  const setup = await instance.connect();
  try {
    if (allowedDirectory !== null)
      await setup.run(`SET allowed_directories = ['${allowedDirectory.replaceAll("'", "''")}/']`);
    await setup.run('SET enable_external_access = false');
    await setup.run('SET lock_configuration = true');
  } finally {
    setup.closeSync();
  }
  return instance;
}

export class SqlEngine {
  private readonly queries = new Map<number, QueryState>();
  private readonly files = new SegmentFileLoader();

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly limits: SqlLimits,
  ) {}

  static async open(limits: SqlLimits): Promise<SqlEngine> {
    return new SqlEngine(await lockedInstance(limits, null), limits);
  }

  /**
   * Checks and plans `sql` (one SELECT) against the topics, and prepares an
   * empty table for each topic it names. Answers the scans to load.
   */
  async plan(id: number, sql: string, topics: readonly string[], forExport = false): Promise<TopicScan[]> {
    let exportDatabase: QueryState['exportDatabase'] = null;
    if (forExport) {
      const dir = mkdtempSync(join(tmpdir(), 'pyralog-export-'));
      try {
        exportDatabase = { instance: await lockedInstance(this.limits, dir), dir };
      } catch (error) {
        rmSync(dir, { recursive: true, force: true });
        throw error;
      }
    }
    const connection = await (exportDatabase?.instance ?? this.instance).connect();
    const state: QueryState = { connection, writers: new Map(), exportDatabase, running: false };
    this.queries.set(id, state);
    try {
      const serialized = await connection.runAndReadAll('SELECT json_serialize_sql($1::VARCHAR) AS plan', [
        sql,
      ]);
      const scans = planQuery(String(serialized.getRowsJS()[0]?.[0] ?? '{}'), topics);
      for (const scan of scans) {
        if (scan.timestampMinText !== null) {
          const resolved = await connection.runAndReadAll(
            'SELECT epoch_ms(TRY_CAST($1::VARCHAR AS TIMESTAMP))',
            [scan.timestampMinText],
          );
          const ms = resolved.getRowsJS()[0]?.[0];
          if (typeof ms === 'bigint' || typeof ms === 'number') scan.timestampMinMs = Number(ms);
        }
        state.writers.set(
          scan.topic,
          await TopicTableWriter.create(connection, scan.topic, forExport ? undefined : scan.columns),
        );
      }
      return scans;
    } catch (error) {
      this.end(id);
      throw error instanceof SqlError ? error : sqlErrorFromDuckDb(errorText(error));
    }
  }

  /** Loads one fetched window of a partition's record batches; answers the rows added and the next offset. */
  load(
    id: number,
    topic: string,
    partition: number,
    fromOffset: number,
    endOffset: number,
    records: Uint8Array,
  ): { rows: number; nextOffset: number; loadMs: number } {
    const writer = this.queries.get(id)?.writers.get(topic);
    if (writer === undefined) throw new SqlError('SQL_FAILED', `no query ${id} loading topic ${topic}`);
    const startedMs = performance.now();
    const before = writer.rowsWritten;
    writer.setPartition(partition);
    const nextOffset = walkRecords(records, fromOffset, endOffset, writer);
    return { rows: writer.rowsWritten - before, nextOffset, loadMs: performance.now() - startedMs };
  }

  /**
   * Loads records [read.fromOffset, read.endOffset) straight from a segment
   * file (segment-file-loader.ts); a stale answer means nothing was read and
   * the caller reads that range through the engine instead.
   */
  loadFile(id: number, topic: string, partition: number, read: SegmentReadRequest): FileLoadResult {
    const writer = this.queries.get(id)?.writers.get(topic);
    if (writer === undefined) throw new SqlError('SQL_FAILED', `no query ${id} loading topic ${topic}`);
    const startedMs = performance.now();
    const before = writer.rowsWritten;
    writer.setPartition(partition);
    let nextOffset = read.fromOffset;
    const result = this.files.read(read, (records) => {
      nextOffset = Math.max(nextOffset, walkRecords(records, read.fromOffset, read.endOffset, writer));
    });
    return {
      ...result,
      rows: writer.rowsWritten - before,
      nextOffset,
      loadMs: performance.now() - startedMs,
    };
  }

  /** Runs the query over the loaded tables and ends it. */
  async run(id: number, sql: string, format: 'json' | 'arrow'): Promise<QueryResult> {
    const state = this.queries.get(id);
    if (state === undefined) throw new SqlError('SQL_FAILED', `no query ${id}`);
    try {
      let notText = 0;
      for (const writer of state.writers.values()) {
        writer.finish();
        notText += writer.notText;
      }
      state.running = true;
      const reader = await state.connection.streamAndReadUntil(sql, this.limits.rowsMax + 1);
      const total = reader.currentRowCount;
      const rowCount = Math.min(total, this.limits.rowsMax);
      const columns = reader.columnNames().map((name, i) => ({ name, type: String(reader.columnType(i)) }));
      const truncated = total > this.limits.rowsMax;
      if (format === 'arrow') {
        const values = reader.getColumnsJS().map((column) => column.slice(0, rowCount));
        return { columns, arrow: resultAsArrow(columns, values), rowCount, truncated, notText };
      }
      const rows = reader
        .getRowsJS()
        .slice(0, rowCount)
        .map((row) => row.map(toJsonValue));
      return { columns, rows, rowCount, truncated, notText };
    } catch (error) {
      throw error instanceof SqlError ? error : sqlErrorFromDuckDb(errorText(error));
    } finally {
      this.end(id);
    }
  }

  /**
   * Writes the one topic table an export query loaded as a Parquet file in
   * the export directory, reads it back and deletes it: the bytes are the
   * answer, nothing stays on disk.
   */
  async exportParquet(id: number, topic: string): Promise<Uint8Array> {
    const state = this.queries.get(id);
    if (state?.exportDatabase == null) throw new SqlError('SQL_FAILED', `no export ${id}`);
    const file = join(state.exportDatabase.dir, 'export.parquet');
    try {
      for (const writer of state.writers.values()) writer.finish();
      state.running = true;
      await state.connection.run(
        `COPY (SELECT * FROM ${quoteIdentifier(topic)} ORDER BY "partition", "offset") TO '${file}' (FORMAT parquet, COMPRESSION zstd)`,
      );
      return new Uint8Array(readFileSync(file));
    } catch (error) {
      throw error instanceof SqlError ? error : sqlErrorFromDuckDb(errorText(error));
    } finally {
      this.end(id);
    }
  }

  /** Interrupts a running query (which then ends itself), or forgets one that is loading. */
  cancel(id: number): void {
    const state = this.queries.get(id);
    if (state === undefined) return;
    if (state.running) state.connection.interrupt();
    else this.end(id);
  }

  close(): void {
    for (const state of this.queries.values()) if (state.running) state.connection.interrupt();
    this.instance.closeSync();
  }

  private end(id: number): void {
    const state = this.queries.get(id);
    if (state === undefined) return;
    this.queries.delete(id);
    try {
      state.connection.closeSync();
      state.exportDatabase?.instance.closeSync();
    } catch {
      // Closing an interrupted connection can fail; it is gone either way.
    } finally {
      if (state.exportDatabase !== null) rmSync(state.exportDatabase.dir, { recursive: true, force: true });
    }
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
