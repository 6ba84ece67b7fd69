import type { TopicScan } from './query-plan.js';
import type { SegmentReadRequest, SegmentReadResult } from './segment-file-loader.js';
import type { QueryResult } from './sql-engine.js';
import type { SqlErrorCode } from './sql-errors.js';
import type { SqlLimits } from './sql-limits.js';

/**
 * Messages between the acceptor (SqlService) and the SQL worker (SqlEngine),
 * over postMessage: SQL is off the produce and fetch paths, and record bytes
 * are transferred, not copied. Each request carries `call`, echoed in its
 * reply; `query` names the query a request belongs to.
 */
export type SqlRequest =
  | { kind: 'plan'; call: number; query: number; sql: string; topics: string[]; forExport: boolean }
  | {
      kind: 'load';
      call: number;
      query: number;
      topic: string;
      partition: number;
      fromOffset: number;
      endOffset: number;
      records: Uint8Array;
    }
  | {
      kind: 'loadFile';
      call: number;
      query: number;
      topic: string;
      partition: number;
      read: SegmentReadRequest;
    }
  | { kind: 'run'; call: number; query: number; sql: string; format: 'json' | 'arrow' }
  | { kind: 'export'; call: number; query: number; topic: string }
  | { kind: 'cancel'; call: number; query: number };

export type SqlReplyValue =
  | TopicScan[]
  | { rows: number; nextOffset: number; loadMs: number }
  | FileLoadResult
  | QueryResult
  | Uint8Array
  | null;

export type SqlReply =
  | { call: number; ok: true; value: SqlReplyValue }
  | { call: number; ok: false; code: SqlErrorCode; message: string };

/** A 'loadFile' answer: what segment-file-loader.ts read, and the rows it added. */
export interface FileLoadResult extends SegmentReadResult {
  rows: number;
  /** The offset after the last record read (fromOffset when none). */
  nextOffset: number;
  loadMs: number;
}

export interface SqlWorkerData {
  limits: SqlLimits;
}
