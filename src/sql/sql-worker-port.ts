import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { workerEntry } from '../common/worker-entry.js';
import type { SqlLimits } from './sql-limits.js';
import type { SqlReply, SqlRequest, SqlWorkerData } from './sql-worker-protocol.js';

/**
 * Where DuckDB runs for the acceptor's SqlService, behind one small interface:
 *
 * - `process` (the default): a child process of its own, started with
 *   `fork`, which lowers its own priority to nice 19 as a whole, so both the
 *   loading and DuckDB's execution threads yield the cores to the shards and
 *   the acceptor. Record batches cross the IPC channel (copied once each way).
 * - `thread`: a worker thread of the broker process; only the loading thread
 *   is niced (DuckDB's execution runs on libuv's pool at normal priority), and
 *   record batches are transferred without a copy.
 *
 * Both speak sql-worker-protocol.ts. Owned by the acceptor thread.
 */
export type SqlIsolation = 'process' | 'thread';

export interface SqlWorkerPort {
  /** True when send copies the request's bytes before it returns (the caller may reuse them at once). */
  readonly copiesOnSend: boolean;
  send(request: SqlRequest, transfer: ArrayBuffer[]): void;
  /** Stops the worker; later sends are dropped. */
  close(): Promise<void>;
}

export interface SqlWorkerEvents {
  reply(reply: SqlReply): void;
  /** The worker stopped or failed (not called after close). */
  lost(reason: string): void;
}

export function startSqlWorker(
  isolation: SqlIsolation,
  limits: SqlLimits,
  events: SqlWorkerEvents,
): SqlWorkerPort {
  return isolation === 'process' ? startProcess(limits, events) : startThread(limits, events);
}

function startThread(limits: SqlLimits, events: SqlWorkerEvents): SqlWorkerPort {
  const entry = workerEntry('sql');
  const worker = new Worker(entry.filename, {
    workerData: { ...entry.bootData, limits } satisfies SqlWorkerData & typeof entry.bootData,
  });
  let closed = false;
  worker.on('message', (reply: SqlReply) => events.reply(reply));
  worker.on('error', (error) => {
    if (!closed) events.lost(error.message);
  });
  worker.on('exit', (code) => {
    if (!closed) events.lost(`exit code ${code}`);
  });
  worker.unref();
  return {
    copiesOnSend: false,
    send: (request, transfer) => worker.postMessage(request, transfer),
    close: async () => {
      closed = true;
      await worker.terminate();
    },
  };
}

const runningFromSource = import.meta.url.endsWith('.ts');

function startProcess(limits: SqlLimits, events: SqlWorkerEvents): SqlWorkerPort {
  const entry = fileURLToPath(
    new URL(`../../workers/sql-process.${runningFromSource ? 'ts' : 'js'}`, import.meta.url),
  );
  const child: ChildProcess = fork(entry, [], {
    // Not the broker's own flags (heap sizes, inspectors): the child needs only a loader for sources.
    execArgv: runningFromSource ? ['--import', 'tsx'] : [],
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, PYRALOG_SQL_LIMITS: JSON.stringify(limits) },
  });
  let closed = false;
  let exited = false;
  child.on('message', (reply: SqlReply) => events.reply(reply));
  child.on('error', (error) => {
    if (!closed) events.lost(error.message);
  });
  child.on('exit', (code, signal) => {
    exited = true;
    if (!closed) events.lost(signal !== null ? `signal ${signal}` : `exit code ${code}`);
  });
  child.unref();
  // The IPC channel would keep the broker's loop alive otherwise.
  child.channel?.unref();
  return {
    // The 'advanced' serialization writes the whole message (a V8 serializer) inside send.
    copiesOnSend: true,
    send: (request) => {
      if (!closed && child.connected)
        child.send(request, (error) => {
          if (error && !closed) events.lost(`cannot reach the SQL process: ${error.message}`);
        });
    },
    close: async () => {
      closed = true;
      if (exited) return;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGKILL');
      await gone;
    },
  };
}
