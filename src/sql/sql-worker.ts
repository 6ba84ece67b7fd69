import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, type Transferable, workerData } from 'node:worker_threads';
import { SqlEngine } from './sql-engine.js';
import { SqlError } from './sql-errors.js';
import type { SqlReply, SqlReplyValue, SqlRequest, SqlWorkerData } from './sql-worker-protocol.js';

/**
 * The SQL worker thread's loop: one SqlEngine, requests in, replies out.
 * Every request is answered, with its error when it fails; byte results are
 * transferred. Started from workers/sql.ts.
 */
export async function runSqlWorker(): Promise<void> {
  const port = parentPort;
  if (port === null) throw new Error('the SQL worker must run in a worker thread');
  const { limits } = workerData as SqlWorkerData;
  lowerThreadPriority();
  const engine = await SqlEngine.open(limits);
  const reply = (message: SqlReply, transfer: Transferable[] = []): void =>
    port.postMessage(message, transfer);
  port.on('message', (request: SqlRequest) => {
    handle(engine, request).then(
      (value) => {
        const transfer: Transferable[] = [];
        if (value instanceof Uint8Array) transfer.push(value.buffer as ArrayBuffer);
        else if (value !== null && 'arrow' in value && value.arrow !== undefined)
          transfer.push(value.arrow.buffer as ArrayBuffer);
        reply({ call: request.call, ok: true, value }, transfer);
      },
      (error: unknown) => {
        const code = error instanceof SqlError ? error.code : 'SQL_FAILED';
        reply({
          call: request.call,
          ok: false,
          code,
          message: error instanceof Error ? error.message : String(error),
        });
      },
    );
  });
  port.postMessage({ call: 0, ok: true, value: null } satisfies SqlReply);
}

async function handle(engine: SqlEngine, request: SqlRequest): Promise<SqlReplyValue> {
  switch (request.kind) {
    case 'plan':
      return engine.plan(request.query, request.sql, request.topics, request.forExport);
    case 'load':
      return engine.load(
        request.query,
        request.topic,
        request.partition,
        request.fromOffset,
        request.endOffset,
        request.records,
      );
    case 'run':
      return engine.run(request.query, request.sql, request.format);
    case 'export':
      return engine.exportParquet(request.query, request.topic);
    case 'cancel':
      engine.cancel(request.query);
      return null;
  }
}

/** Nice value of the SQL worker's thread: the shards and the acceptor win the CPU from it. */
export const SQL_THREAD_NICE = 10;

/**
 * Decoding and loading records is the SQL worker's own CPU work; on Linux
 * this thread (not the process) gets a lower priority, so a heavy query
 * yields the cores to the shards and the acceptor. Elsewhere, or without
 * /proc, nothing changes. DuckDB's execution runs on libuv's pool and is not
 * affected.
 */
function lowerThreadPriority(): void {
  try {
    const threadId = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(threadId) && threadId > 0) setPriority(threadId, SQL_THREAD_NICE);
  } catch {
    // Not Linux, or not allowed: run at the normal priority.
  }
}
