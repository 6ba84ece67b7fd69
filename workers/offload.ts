/**
 * Entry point of the piscina offload workers: CPU work kept off the acceptor
 * and the shards. Results that are byte arrays are transferred, not copied.
 */
import { Piscina } from 'piscina';
import type { OffloadTask } from '../src/engine/offload-task.js';
import { verifySegment } from '../src/engine/segment-verifier.js';
import { checkPackedBatches } from '../src/record/compressed-check.js';
import { decompressRecords } from '../src/record/compression.js';
import { recordWindow } from '../src/server/http-record-window.js';

function transfer(bytes: Uint8Array): unknown {
  return Piscina.move(bytes);
}

/**
 * The Arrow encoder (and apache-arrow under it), loaded with the first Arrow
 * task rather than when a worker boots: both pools' workers boot as the
 * broker starts, and loading the library there cost CPU in the first seconds
 * of a fresh broker's load, which most brokers never need.
 */
let arrowExport: Promise<typeof import('../src/server/arrow-export.js')> | null = null;

async function encodeArrow(task: Extract<OffloadTask, { kind: 'arrow' }>): Promise<unknown> {
  arrowExport ??= import('../src/server/arrow-export.js');
  return transfer((await arrowExport).encodeRecordsAsArrow(task.input));
}

export default function runOffloadTask(task: OffloadTask): unknown {
  switch (task.kind) {
    case 'arrow':
      return encodeArrow(task);
    case 'decompress':
      return transfer(decompressRecords(task.codec, task.compressed));
    case 'verify-segment':
      return verifySegment(task.path);
    case 'check-batches':
      return checkPackedBatches(task.group);
    case 'record-window':
      return recordWindow(task.input.records, task.input.fromOffset, task.input.limit);
    case 'warm':
      return null;
  }
}
