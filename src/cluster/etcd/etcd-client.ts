import { type EtcdTransport, fetchTransport } from './etcd-transport.js';
import {
  decodeKeyValue,
  encodeBytes,
  type KeyValue,
  prefixRangeEnd,
  type WireHeader,
  type WireKeyValue,
  wireInt,
} from './etcd-wire.js';

/**
 * A small etcd v3 client over etcd 3.4's gRPC gateway (JSON over HTTP, Node's
 * fetch). docs/cluster.md says why it is ours rather than a package. Every
 * request has a deadline; endpoints are tried in turn when one cannot be
 * reached. A write whose answer did not come in time is not retried on
 * another endpoint (it may have been applied): it fails with `outcomeUnknown`.
 */

export interface EtcdClientOptions {
  /** Client URLs, e.g. http://127.0.0.1:2379. */
  endpoints: readonly string[];
  /** Deadline of one request to one endpoint. */
  requestTimeoutMs?: number;
  /** How requests travel (default Node's fetch; etcd-transport.ts has one with a CA and client certificate). */
  transport?: EtcdTransport;
}

export type EtcdErrorKind =
  /** No endpoint answered (refused, reset, or no answer in time for a read). */
  | 'unavailable'
  /** A write was sent and not answered in time: it may or may not have been applied. */
  | 'outcomeUnknown'
  /** etcd answered with an error (e.g. the lease does not exist, the revision was compacted). */
  | 'rejected';

/** An etcd request that did not succeed; `kind` says whether it may have had an effect. */
export class EtcdError extends Error {
  constructor(
    readonly kind: EtcdErrorKind,
    message: string,
    /** gRPC status code etcd answered with (kind 'rejected'); -1 otherwise. */
    readonly grpcCode = -1,
  ) {
    super(message);
    this.name = 'EtcdError';
  }
}

/** gRPC NOT_FOUND: e.g. "etcdserver: requested lease not found". */
export const GRPC_NOT_FOUND = 5;
/** gRPC OUT_OF_RANGE: "etcdserver: mvcc: required revision has been compacted". */
export const GRPC_OUT_OF_RANGE = 11;

export interface RangeOptions {
  /** Every key starting with `key`. */
  prefix?: boolean;
  /**
   * Answer from the contacted member's own state without a quorum round (may be stale; still answers when
   * etcd has lost quorum).
   */
  serializable?: boolean;
}

export interface RangeResult {
  /** The store's revision when the range was read. */
  revision: number;
  kvs: KeyValue[];
}

/** A transaction's condition: the key's create or mod revision equals `revision` (0: the key does not exist). */
export interface TxnCompare {
  key: string;
  target: 'create' | 'mod';
  revision: number;
}

export type TxnOp =
  | { put: { key: string; value: string; lease?: string } }
  | { delete: { key: string; prefix?: boolean } }
  | { range: { key: string; prefix?: boolean } };

export interface TxnResult {
  succeeded: boolean;
  revision: number;
  /** One per range op of the branch that ran, in order. */
  ranges: KeyValue[][];
}

interface WireRangeResponse {
  header?: WireHeader;
  kvs?: WireKeyValue[];
}

interface WireTxnResponse {
  header?: WireHeader;
  succeeded?: boolean;
  responses?: { response_range?: WireRangeResponse }[];
}

const DEFAULT_REQUEST_TIMEOUT_MS = 3000;

function wireOp(op: TxnOp): unknown {
  if ('put' in op) {
    return {
      request_put: {
        key: encodeBytes(op.put.key),
        value: encodeBytes(op.put.value),
        ...(op.put.lease === undefined ? {} : { lease: op.put.lease }),
      },
    };
  }
  if ('delete' in op) {
    return {
      request_delete_range: {
        key: encodeBytes(op.delete.key),
        ...(op.delete.prefix === true ? { range_end: prefixRangeEnd(op.delete.key) } : {}),
      },
    };
  }
  return {
    request_range: {
      key: encodeBytes(op.range.key),
      ...(op.range.prefix === true ? { range_end: prefixRangeEnd(op.range.key) } : {}),
    },
  };
}

function isTimeout(error: unknown): boolean {
  return error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
}

export class EtcdClient {
  readonly endpoints: readonly string[];
  /** How requests travel (the watch uses it too). */
  readonly transport: EtcdTransport;
  private readonly requestTimeoutMs: number;
  /** The endpoint tried first: the last one that answered. */
  private current = 0;

  constructor(options: EtcdClientOptions) {
    if (options.endpoints.length === 0) throw new Error('etcd: at least one endpoint is needed');
    this.endpoints = options.endpoints.map((url) => url.replace(/\/+$/, ''));
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.transport = options.transport ?? fetchTransport;
  }

  async range(key: string, options: RangeOptions = {}): Promise<RangeResult> {
    const body = {
      key: encodeBytes(key),
      ...(options.prefix === true ? { range_end: prefixRangeEnd(key) } : {}),
      ...(options.serializable === true ? { serializable: true } : {}),
    };
    const response = (await this.call('kv/range', body, true)) as WireRangeResponse;
    return { revision: wireInt(response.header?.revision), kvs: (response.kvs ?? []).map(decodeKeyValue) };
  }

  /** One key, or undefined when absent. */
  async get(key: string): Promise<KeyValue | undefined> {
    return (await this.range(key)).kvs[0];
  }

  async txn(
    compare: readonly TxnCompare[],
    success: readonly TxnOp[],
    failure: readonly TxnOp[] = [],
  ): Promise<TxnResult> {
    const body = {
      compare: compare.map((c) =>
        c.target === 'create'
          ? {
              key: encodeBytes(c.key),
              target: 'CREATE',
              result: 'EQUAL',
              create_revision: String(c.revision),
            }
          : { key: encodeBytes(c.key), target: 'MOD', result: 'EQUAL', mod_revision: String(c.revision) },
      ),
      success: success.map(wireOp),
      failure: failure.map(wireOp),
    };
    const response = (await this.call('kv/txn', body, false)) as WireTxnResponse;
    const ranges: KeyValue[][] = [];
    for (const entry of response.responses ?? []) {
      if (entry.response_range !== undefined)
        ranges.push((entry.response_range.kvs ?? []).map(decodeKeyValue));
    }
    return { succeeded: response.succeeded === true, revision: wireInt(response.header?.revision), ranges };
  }

  async put(key: string, value: string, lease?: string): Promise<number> {
    return (await this.txn([], [{ put: { key, value, ...(lease === undefined ? {} : { lease }) } }]))
      .revision;
  }

  async delete(key: string, options: { prefix?: boolean } = {}): Promise<number> {
    return (await this.txn([], [{ delete: { key, ...options } }])).revision;
  }

  /** Grants a lease of `ttlSeconds` (etcd raises it to its minimum, about 2 s with default timings). */
  async leaseGrant(ttlSeconds: number): Promise<{ id: string; ttlSeconds: number }> {
    const response = (await this.call('lease/grant', { TTL: String(ttlSeconds) }, false)) as {
      ID?: string;
      TTL?: string;
      error?: string;
    };
    if (response.error !== undefined && response.error !== '')
      throw new EtcdError('rejected', response.error);
    if (response.ID === undefined) throw new EtcdError('rejected', 'etcd granted a lease without an id');
    return { id: response.ID, ttlSeconds: wireInt(response.TTL) };
  }

  /**
   * Renews a lease once. Resolves with the TTL etcd restarted it at, or 0 when the lease no longer exists
   * (expired or revoked). Renewing twice is harmless, so a renewal that timed out is retried elsewhere.
   */
  async leaseKeepAlive(id: string): Promise<number> {
    const response = (await this.call('lease/keepalive', { ID: id }, true)) as { result?: { TTL?: string } };
    return wireInt(response.result?.TTL);
  }

  async leaseRevoke(id: string): Promise<void> {
    try {
      await this.call('lease/revoke', { ID: id }, false);
    } catch (error) {
      // Revoking a lease that is already gone achieved what was asked.
      if (error instanceof EtcdError && error.grpcCode === GRPC_NOT_FOUND) return;
      throw error;
    }
  }

  /** Compacts the history up to `revision` (tests use it to force watchers into a full re-read). */
  async compact(revision: number): Promise<void> {
    await this.call('kv/compaction', { revision: String(revision), physical: true }, false);
  }

  /** The endpoint requests go to first (for watches, which hold one connection). */
  preferredEndpoint(offset = 0): string {
    return this.endpoints[(this.current + offset) % this.endpoints.length]!;
  }

  /**
   * POSTs `body` to `path` on the current endpoint, moving to the next when one cannot be reached.
   * `idempotent`: whether a request that timed out may be sent again elsewhere.
   */
  private async call(path: string, body: unknown, idempotent: boolean): Promise<unknown> {
    const text = JSON.stringify(body);
    let lastError: unknown = null;
    for (let attempt = 0; attempt < this.endpoints.length; attempt++) {
      const index = (this.current + attempt) % this.endpoints.length;
      const endpoint = this.endpoints[index]!;
      let status: number;
      let answer: string;
      try {
        ({ status, text: answer } = await this.transport.post(
          `${endpoint}/v3/${path}`,
          text,
          AbortSignal.timeout(this.requestTimeoutMs),
        ));
      } catch (error) {
        lastError = error;
        if (isTimeout(error) && !idempotent) {
          throw new EtcdError(
            'outcomeUnknown',
            `etcd ${path} at ${endpoint}: no answer within ${this.requestTimeoutMs} ms`,
          );
        }
        continue;
      }
      this.current = index;
      return parseAnswer(path, status, answer);
    }
    const reason =
      lastError instanceof Error
        ? lastError.cause instanceof Error
          ? lastError.cause.message
          : lastError.message
        : String(lastError);
    throw new EtcdError(
      'unavailable',
      `etcd ${path}: no endpoint answered (${this.endpoints.join(', ')}): ${reason}`,
    );
  }
}

/**
 * The gateway's answer: the first JSON message of the body (streaming calls such as lease keep-alive answer
 * newline-separated messages), or an EtcdError for an error status or an error message.
 */
function parseAnswer(path: string, status: number, answer: string): unknown {
  const firstLine = answer.split('\n', 1)[0] ?? '';
  let parsed: unknown;
  try {
    parsed = JSON.parse(firstLine);
  } catch {
    throw new EtcdError(
      'rejected',
      `etcd ${path}: HTTP ${status} with a body that is not JSON: ${answer.slice(0, 200)}`,
    );
  }
  const record = parsed as { error?: unknown; code?: number; message?: string };
  if (status !== 200 || (record.error !== undefined && record.error !== '')) {
    // Unary errors: {"error": "...", "code": N, "message": "..."}; streaming ones: {"error": {"grpc_code", "message"}}.
    const nested =
      typeof record.error === 'object' && record.error !== null
        ? (record.error as { grpc_code?: number; message?: string })
        : null;
    const message = nested?.message ?? record.message ?? String(record.error ?? `HTTP ${status}`);
    const code = nested?.grpc_code ?? record.code ?? -1;
    throw new EtcdError('rejected', `etcd ${path}: ${message}`, code);
  }
  return parsed;
}
