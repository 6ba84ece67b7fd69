import type { PackedBatches } from '../record/compressed-check.js';
import type { ConsumedRecord } from '../record/record.js';

/**
 * Work the piscina offload pool does off the acceptor and the shards: CPU
 * work that must never sit on the produce or fetch path. Tasks and results
 * are structured-cloned; large byte results are transferred, not copied.
 */
export interface ArrowTaskInput {
  /** Concatenated RecordBatch v2 batches. */
  records: Uint8Array;
  fromOffset: number;
  limit: number;
  valuesAsJson: boolean;
}

/** Records of fetched batches to decode as the HTTP JSON read wants them (http-record-window.ts). */
export interface RecordWindowInput {
  /** Concatenated RecordBatch v2 batches; a compact copy, since the pool clones a view's whole buffer. */
  records: Uint8Array;
  fromOffset: number;
  limit: number;
}

export interface RecordWindowResult {
  records: ConsumedRecord[];
  nextOffset: number;
}

export type OffloadTask =
  | { kind: 'arrow'; input: ArrowTaskInput }
  | { kind: 'decompress'; codec: number; compressed: Uint8Array }
  | { kind: 'verify-segment'; path: string }
  | { kind: 'check-batches'; group: PackedBatches }
  | { kind: 'record-window'; input: RecordWindowInput }
  /** Does nothing: answered once a worker has loaded its modules (see OffloadPool.ready). */
  | { kind: 'warm' };

export interface SegmentVerification {
  path: string;
  batches: number;
  /** Bytes of whole, valid batches from the start of the file. */
  validBytes: number;
  fileBytes: number;
  /** Empty when the whole segment is valid. */
  problem: string;
}
