import { readdirSync, readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, type Transferable, workerData } from 'node:worker_threads';
import { SqlEngine } from './sql-engine.js';
import { SqlError } from './sql-errors.js';
import type { SqlLimits } from './sql-limits.js';
import type { SqlReply, SqlReplyValue, SqlRequest, SqlWorkerData } from './sql-worker-protocol.js';

/**
 * The SQL worker's loop: one SqlEngine, requests in, replies out. Every
 * request is answered, with its error when it fails. It runs in a worker
 * thread (replies' bytes transferred) or in a child process of its own
 * (sql-worker-port.ts says which, and why); started from workers/sql.ts or
 * workers/sql-process.ts.
 */
export async function runSqlWorker(): Promise<void> {
  const port = parentPort;
  if (port === null) throw new Error('the SQL worker must run in a worker thread');
  const { limits } = workerData as SqlWorkerData;
  lowerThreadPriority();
  await serve(
    limits,
    (message, transfer) => port.postMessage(message, transfer),
    (listener) => port.on('message', listener),
  );
}

/** Nice value of the SQL process: below everything else, so the shards and the acceptor always win the CPU. */
export const SQL_PROCESS_NICE = 19;

/** The SQL child process: the whole process (DuckDB's own threads too) runs at nice 19. */
export async function runSqlProcess(): Promise<void> {
  const send = process.send?.bind(process);
  if (send === undefined) throw new Error('the SQL process must be started with an IPC channel');
  const limits = JSON.parse(process.env.PYRALOG_SQL_LIMITS ?? 'null') as SqlLimits | null;
  if (limits === null) throw new Error('the SQL process needs PYRALOG_SQL_LIMITS');
  lowerProcessPriority();
  // The broker is gone (stopped, or killed): nothing is left to answer.
  process.on('disconnect', () => process.exit(0));
  await serve(
    limits,
    (message) => {
      send(message, undefined, undefined, (error: Error | null) => {
        if (error) process.exit(1);
      });
    },
    (listener) => process.on('message', listener as (message: unknown) => void),
  );
}

async function serve(
  limits: SqlLimits,
  reply: (message: SqlReply, transfer: Transferable[]) => void,
  onRequest: (listener: (request: SqlRequest) => void) => void,
): Promise<void> {
  const engine = await SqlEngine.open(limits);
  onRequest((request: SqlRequest) => {
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
        reply(
          {
            call: request.call,
            ok: false,
            code,
            message: error instanceof Error ? error.message : String(error),
          },
          [],
        );
      },
    );
  });
  reply({ call: 0, ok: true, value: null }, []);
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
    case 'loadFile':
      return engine.loadFile(request.query, request.topic, request.partition, request.read);
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

/**
 * On Linux a nice value belongs to a thread: the threads Node started before
 * this code ran are lowered one by one (from /proc), and every thread started
 * later (libuv's pool, DuckDB's) inherits nice 19 from the main thread.
 * Elsewhere the process as a whole is lowered.
 */
function lowerProcessPriority(): void {
  try {
    setPriority(0, SQL_PROCESS_NICE);
    for (const task of readdirSync('/proc/self/task')) setPriority(Number(task), SQL_PROCESS_NICE);
  } catch {
    // Not Linux, or not allowed: what could be lowered is.
  }
}
