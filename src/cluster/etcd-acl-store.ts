import { createHash } from 'node:crypto';
import {
  type AclBinding,
  type AclBindingFilter,
  aclBindingProblem,
  aclMatchesFilter,
  normalizeAclBinding,
} from '../security/acl.js';
import type { AclRepository } from '../security/acl-repository.js';
import { ClusterKeys } from './cluster-records.js';
import type { EtcdClient, TxnCompare, TxnOp } from './etcd/etcd-client.js';
import type { KeyValue } from './etcd/etcd-wire.js';
import { PrefixMirror } from './etcd/prefix-mirror.js';

/**
 * The cluster's ACLs in etcd (docs/security.md, "ACLs in cluster mode"), one key per binding:
 *
 *   /pyralog/<cluster>/acls/<id>  →  {"resourceType":2,"resourceName":"orders","patternType":3,
 *                                     "principal":"User:alice","host":"*","operation":4,"permission":3}
 *
 * with Kafka's numeric codes (acl.ts) and `<id>` the first 32 hex digits of the SHA-256 of that
 * JSON. A binding is its own key, so two brokers adding bindings at once never overwrite each
 * other's, and adding one already stored rewrites the same key with the same value. A removal
 * reads the matching keys and deletes them in one transaction that compares each key's mod
 * revision, so a binding changed in between is read again rather than reported wrongly.
 *
 * Every broker keeps the bindings in memory from a read of the prefix and a watch from the
 * revision after it (no etcd round trip per check); on a compaction or a broken watch it reads
 * the prefix again after a short delay and keeps serving the bindings it has meanwhile. Until the
 * first read succeeds `list()` is null and the authorizer denies (fail closed). Values that do not
 * decode are logged and ignored. Owned by the acceptor thread.
 */
export interface EtcdAclStoreOptions {
  client: EtcdClient;
  /** The cluster name (keys under /pyralog/<cluster>/acls/). */
  cluster: string;
  /** Called after the list changed (first read, watch events, a write of this broker's). */
  onChange: () => void;
  /** A log line for what went wrong (the store retries by itself). */
  onError: (message: string) => void;
  /** Delay before reading again after a failure (default 500 ms). */
  retryDelayMs?: number;
}

/** etcd's default limit of operations in one transaction is 128; stay well below it. */
const OPS_PER_TXN_MAX = 64;
/** A removal whose keys keep changing under it gives up after this many reads. */
const REMOVE_ATTEMPTS_MAX = 8;
const DEFAULT_RETRY_DELAY_MS = 500;

export class EtcdAclStore implements AclRepository {
  readonly prefix: string;
  private readonly byKey = new Map<string, AclBinding>();
  private listed: AclBinding[] | null = null;
  private readonly mirror: PrefixMirror;

  constructor(private readonly options: EtcdAclStoreOptions) {
    this.prefix = aclPrefix(options.cluster);
    this.mirror = new PrefixMirror(
      options.client,
      this.prefix,
      {
        onSnapshot: (kvs) => {
          this.byKey.clear();
          for (const kv of kvs) this.apply(kv);
          this.publish();
        },
        onEvents: (events) => {
          for (const event of events) {
            if (event.type === 'delete') this.byKey.delete(event.kv.key);
            else this.apply(event.kv);
          }
          this.publish();
        },
        onError: options.onError,
      },
      options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS,
    );
  }

  /** Starts reading and watching (retrying until stopped). */
  start(): void {
    this.mirror.start();
  }

  /** Resolves true once the ACLs were read, false when `timeoutMs` passed first. */
  waitLoaded(timeoutMs: number): Promise<boolean> {
    return this.mirror.waitLoaded(timeoutMs);
  }

  stop(): void {
    this.mirror.stop();
  }

  list(): readonly AclBinding[] | null {
    return this.listed;
  }

  async add(bindings: readonly AclBinding[]): Promise<void> {
    for (const binding of bindings) {
      const problem = aclBindingProblem(binding);
      if (problem !== null) throw new Error(`invalid ACL: ${problem}`);
    }
    const puts = new Map<string, AclBinding>();
    for (const binding of bindings) {
      const normalized = normalizeAclBinding(binding);
      puts.set(this.keyOf(normalized), normalized);
    }
    const entries = [...puts];
    for (let start = 0; start < entries.length; start += OPS_PER_TXN_MAX) {
      const chunk = entries.slice(start, start + OPS_PER_TXN_MAX);
      const ops: TxnOp[] = chunk.map(([key, binding]) => ({
        put: { key, value: encodeBinding(binding) },
      }));
      await this.options.client.txn([], ops);
      // This broker serves its own change at once; the watch brings the same value again.
      for (const [key, binding] of chunk) this.byKey.set(key, binding);
    }
    if (this.listed !== null) this.publish();
  }

  async remove(filter: AclBindingFilter): Promise<AclBinding[]> {
    for (let attempt = 0; attempt < REMOVE_ATTEMPTS_MAX; attempt++) {
      const { kvs } = await this.options.client.range(this.prefix, { prefix: true });
      const matching: { kv: KeyValue; binding: AclBinding }[] = [];
      for (const kv of kvs) {
        const binding = decodeBinding(kv.value);
        if (binding !== undefined && aclMatchesFilter(binding, filter)) matching.push({ kv, binding });
      }
      if (matching.length === 0) return [];
      const removed: AclBinding[] = [];
      let conflicted = false;
      for (let start = 0; start < matching.length; start += OPS_PER_TXN_MAX) {
        const chunk = matching.slice(start, start + OPS_PER_TXN_MAX);
        const compare: TxnCompare[] = chunk.map(({ kv }) => ({
          key: kv.key,
          target: 'mod',
          revision: kv.modRevision,
        }));
        const ops: TxnOp[] = chunk.map(({ kv }) => ({ delete: { key: kv.key } }));
        const result = await this.options.client.txn(compare, ops);
        if (!result.succeeded) {
          conflicted = true;
          break;
        }
        for (const { kv, binding } of chunk) {
          this.byKey.delete(kv.key);
          removed.push(binding);
        }
      }
      if (this.listed !== null && removed.length > 0) this.publish();
      if (!conflicted) return removed;
      if (removed.length > 0) {
        // Some chunks went: report them, and the caller may send the filter again for the rest.
        return removed;
      }
    }
    throw new Error(`the ACLs kept changing during ${REMOVE_ATTEMPTS_MAX} attempts to remove them`);
  }

  private keyOf(binding: AclBinding): string {
    return `${this.prefix}${bindingId(binding)}`;
  }

  private publish(): void {
    this.listed = [...this.byKey.values()];
    this.options.onChange();
  }

  private apply(kv: KeyValue): void {
    const binding = decodeBinding(kv.value);
    if (binding === undefined) {
      this.options.onError(`etcd holds an ACL this broker cannot read at ${kv.key}; ignored`);
      this.byKey.delete(kv.key);
      return;
    }
    this.byKey.set(kv.key, binding);
  }
}

/** The key prefix of a cluster's ACLs. */
export function aclPrefix(cluster: string): string {
  return `${new ClusterKeys(cluster).root}acls/`;
}

export function encodeBinding(binding: AclBinding): string {
  return JSON.stringify(normalizeAclBinding(binding));
}

/** The key name of a binding: the same binding always gets the same key. */
export function bindingId(binding: AclBinding): string {
  return createHash('sha256').update(encodeBinding(binding)).digest('hex').slice(0, 32);
}

export function decodeBinding(text: string): AclBinding | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const binding = parsed as AclBinding;
  if (
    typeof binding.resourceName !== 'string' ||
    typeof binding.principal !== 'string' ||
    typeof binding.host !== 'string'
  ) {
    return undefined;
  }
  return aclBindingProblem(binding) === null ? normalizeAclBinding(binding) : undefined;
}
