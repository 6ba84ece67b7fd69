import type { EtcdClient } from './etcd-client.js';
import {
  decodeKeyValue,
  encodeBytes,
  type KeyValue,
  prefixRangeEnd,
  type WireKeyValue,
  wireInt,
} from './etcd-wire.js';

/**
 * A watch on every key under a prefix, from a revision on, over the gateway's
 * `/v3/watch` (through the client's transport, so TLS to etcd covers it
 * too): one long POST whose response is a stream of newline-separated
 * JSON messages. The watcher never resumes by itself: when the stream ends,
 * breaks, or etcd has compacted past the start revision, the owner is told and
 * decides (docs/cluster.md: re-read everything, then watch again).
 */

export interface WatchEvent {
  type: 'put' | 'delete';
  /** For a delete: the key, and the revision of the delete as modRevision; value empty. */
  kv: KeyValue;
}

export interface WatchHandlers {
  /** Events of one revision or more, in order. `revision` is the store's revision when etcd sent them. */
  onEvents(events: readonly WatchEvent[], revision: number): void;
  /** etcd compacted past the start revision: history is gone, re-read. */
  onCompacted(compactRevision: number): void;
  /** The stream ended or failed (etcd down, restarted, connection lost); not called after `cancel()`. */
  onBroken(reason: string): void;
}

export interface Watch {
  /** Resolves once etcd confirmed the watch (rejects if it never did within the deadline). */
  readonly created: Promise<void>;
  cancel(): void;
}

interface WireWatchResponse {
  result?: {
    header?: { revision?: string };
    created?: boolean;
    canceled?: boolean;
    compact_revision?: string;
    cancel_reason?: string;
    events?: { type?: string; kv?: WireKeyValue }[];
  };
  error?: { message?: string; grpc_code?: number };
}

export function watchPrefix(
  client: EtcdClient,
  prefix: string,
  startRevision: number,
  handlers: WatchHandlers,
  options: { createTimeoutMs?: number; endpointOffset?: number } = {},
): Watch {
  const abort = new AbortController();
  let cancelled = false;
  let finished = false;
  let markCreated: () => void = () => {};
  let failCreated: (error: Error) => void = () => {};
  const created = new Promise<void>((resolve, reject) => {
    markCreated = resolve;
    failCreated = reject;
  });
  // A watch that is never confirmed has failed: callers await `created` and must not hang.
  created.catch(() => {});
  const createTimer = setTimeout(() => {
    failCreated(
      new Error(`etcd watch on ${prefix} not confirmed within ${options.createTimeoutMs ?? 3000} ms`),
    );
    finish(`watch not confirmed in time`);
  }, options.createTimeoutMs ?? 3000);

  const finish = (reason: string): void => {
    if (finished) return;
    finished = true;
    clearTimeout(createTimer);
    abort.abort();
    failCreated(new Error(reason));
    if (!cancelled) handlers.onBroken(reason);
  };

  const handle = (message: WireWatchResponse): void => {
    if (message.error !== undefined) {
      finish(`etcd watch error: ${message.error.message ?? 'unknown'}`);
      return;
    }
    const result = message.result;
    if (result === undefined) return;
    if (result.created === true) {
      clearTimeout(createTimer);
      markCreated();
    }
    const compactRevision = wireInt(result.compact_revision);
    if (compactRevision > 0) {
      clearTimeout(createTimer);
      markCreated();
      finished = true;
      abort.abort();
      if (!cancelled) handlers.onCompacted(compactRevision);
      return;
    }
    if (result.canceled === true) {
      finish(`etcd cancelled the watch: ${result.cancel_reason ?? 'no reason given'}`);
      return;
    }
    const events = result.events;
    if (events === undefined || events.length === 0) return;
    const decoded: WatchEvent[] = events.map((event) => ({
      type: event.type === 'DELETE' ? 'delete' : 'put',
      kv: decodeKeyValue(event.kv ?? {}),
    }));
    if (!cancelled) handlers.onEvents(decoded, wireInt(result.header?.revision));
  };

  const body = JSON.stringify({
    create_request: {
      key: encodeBytes(prefix),
      range_end: prefixRangeEnd(prefix),
      start_revision: String(startRevision),
    },
  });
  const endpoint = client.preferredEndpoint(options.endpointOffset ?? 0);
  void (async () => {
    const response = await client.transport.stream(`${endpoint}/v3/watch`, body, abort.signal);
    if (response.status !== 200) {
      finish(`etcd watch at ${endpoint}: HTTP ${response.status}`);
      return;
    }
    const decoder = new TextDecoder();
    let pending = '';
    for await (const value of response.chunks) {
      pending += decoder.decode(value, { stream: true });
      let newline = pending.indexOf('\n');
      while (newline >= 0) {
        const line = pending.slice(0, newline).trim();
        pending = pending.slice(newline + 1);
        if (line !== '') handle(JSON.parse(line) as WireWatchResponse);
        if (finished) return;
        newline = pending.indexOf('\n');
      }
    }
    finish(`etcd watch at ${endpoint}: the stream ended`);
  })().catch((error: unknown) => {
    finish(
      `etcd watch at ${endpoint}: ${error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error)}`,
    );
  });

  return {
    created,
    cancel() {
      cancelled = true;
      finish('cancelled');
    },
  };
}
